import MMCore

extension PortType {
  /// Whether a port of this (expected) type accepts a value of type `found`; nil when it does,
  /// else why not (`"dimension 1 is 512, expected 768"`).
  ///
  /// - A missing parameter on either side is a wildcard (an unknown upstream dtype passes; the
  ///   run-time check catches it).
  /// - `any` accepts every batch type; `stream<any>` every stream. Stream and batch never mix.
  /// - Symbolic dimensions are bound in `bindings` (one dictionary per node, shared by all of its
  ///   input ports), so `a: [n, 4]` and `b: [n, 4]` must see the same `n`. `_` binds nothing.
  /// - Embeddings must agree on space, dimension and form: a `scaled` embedding into a `unit`
  ///   port, or a `clip` embedding into an `imagebind` port, is an error.
  public func accepts(_ found: PortType, bindings: inout [String: Int]) -> String? {
    switch (self, found) {
    case (.stream(let expected), .stream(let element)):
      return expected.accepts(element, bindings: &bindings).map { "stream element: \($0)" }
    case (.stream, _):
      return "a single value cannot feed a stream port"
    case (_, .stream):
      return "a stream cannot feed a single-value port (use a node that collects the stream)"
    case (.any, _), (_, .any):
      return nil
    case (.tensor(let dtype, let shape), .tensor(let foundDType, let foundShape)):
      if let dtype, let foundDType, dtype != foundDType {
        return "dtype \(foundDType.name), expected \(dtype.name)"
      }
      guard let shape, let foundShape else { return nil }
      return Self.match(shape: shape, found: foundShape, bindings: &bindings)
    case (.audio(let rate, let channels), .audio(let foundRate, let foundChannels)):
      if let rate, let foundRate, rate != foundRate {
        return "sample rate \(foundRate) Hz, expected \(rate) Hz (resample first)"
      }
      if let channels, let foundChannels, channels != foundChannels {
        return "\(foundChannels) channel(s), expected \(channels)"
      }
      return nil
    case (
      .embedding(let space, let dimension, let form),
      .embedding(let foundSpace, let foundDimension, let foundForm)
    ):
      if let space, let foundSpace, space != foundSpace {
        return
          "embedding space '\(foundSpace)', expected '\(space)': vectors from different models cannot be compared"
      }
      if let dimension, let foundDimension, dimension != foundDimension {
        return "embedding dimension \(foundDimension), expected \(dimension)"
      }
      if let form, let foundForm, form != foundForm {
        return "\(foundForm.rawValue) embeddings, expected \(form.rawValue): \(Self.formAdvice(form))"
      }
      return nil
    case (.image, .image), (.video, .video), (.pointCloud, .pointCloud), (.text, .text), (.tokens, .tokens),
      (.json, .json):
      return nil
    default:
      return "\(found.kindName), expected \(kindName)"
    }
  }

  /// Compares two shapes, binding symbols of the expected shape to found sizes.
  private static func match(shape: [Dimension], found: [Dimension], bindings: inout [String: Int]) -> String?
  {
    guard shape.count == found.count else {
      return
        "rank \(found.count) [\(found.map(\.description).joined(separator: ", "))], expected rank \(shape.count)"
    }
    for (axis, (expected, actual)) in zip(shape, found).enumerated() {
      guard case .fixed(let size) = actual else { continue }  // unknown upstream size: checked at run time
      switch expected {
      case .fixed(let wanted) where wanted != size:
        return "dimension \(axis) is \(size), expected \(wanted)"
      case .symbol(let name) where name != "_":
        if let bound = bindings[name], bound != size {
          return "dimension \(axis) is \(size), but \(name) = \(bound) from another input"
        }
        bindings[name] = size
      default: continue
      }
    }
    return nil
  }

  private static func formAdvice(_ form: EmbeddingForm) -> String {
    switch form {
    case .unit: return "L2-normalize them first"
    case .scaled: return "normalize and multiply by the model's logit scale"
    case .raw: return "use the model's raw output"
    }
  }

  /// The kind word for messages: `tensor`, `audio`, `embedding`, `stream`.
  public var kindName: String {
    switch self {
    case .any: return "any"
    case .tensor: return "tensor"
    case .audio: return "audio"
    case .image: return "image"
    case .video: return "video"
    case .pointCloud: return "pointcloud"
    case .text: return "text"
    case .tokens: return "tokens"
    case .embedding: return "embedding"
    case .json: return "json"
    case .stream: return "stream"
    }
  }

  /// This type with bound symbols replaced by their sizes (`[n, 4]` with n = 3 → `[3, 4]`): how
  /// a node without a type rule passes shapes from its inputs to its declared outputs.
  public func substituting(_ bindings: [String: Int]) -> PortType {
    switch self {
    case .tensor(let dtype, let shape?):
      return .tensor(
        dtype: dtype,
        shape: shape.map { dimension in
          if case .symbol(let name) = dimension, let size = bindings[name] { return .fixed(size) }
          return dimension
        })
    case .stream(let element): return .stream(element.substituting(bindings))
    default: return self
    }
  }
}

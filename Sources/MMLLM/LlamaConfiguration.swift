import Foundation
import MMCore
import MMKernels
import MMWeights

/// A problem building or running a LLaMA-family model; `description` names the file, key or
/// tensor and what was expected versus found.
public enum LlamaError: Error, Equatable, Sendable, CustomStringConvertible {
  /// config.json or GGUF metadata is missing a key or holds a value this model cannot use.
  case configuration(source: String, problem: String)
  /// A checkpoint tensor is missing, has the wrong shape, or a format the kernels do not know.
  case weights(String)
  /// The inputs do not fit in the KV cache (checked before any work).
  case contextOverflow(position: Int, adding: Int, maximum: Int)
  /// A token id out of range, embeddings of the wrong width, an empty input.
  case invalidInput(String)

  public var description: String {
    switch self {
    case .configuration(let source, let problem): return "\(source): \(problem)"
    case .weights(let problem): return problem
    case .contextOverflow(let position, let adding, let maximum):
      return
        "context overflow: \(adding) positions after the \(position) already cached exceed the maximum of \(maximum)"
    case .invalidInput(let problem): return "invalid input: \(problem)"
    }
  }
}

/// How the rotary frequencies are scaled.
public enum LlamaRopeScaling: Sendable, Equatable {
  case none
  /// Llama 3.x (`rope_type: "llama3"`): HF's `_compute_llama3_parameters`.
  case llama3(Llama3RopeScaling)
  /// Positions divided by `factor` (`rope_type: "linear"`).
  case linear(factor: Float)
  /// llama.cpp's `rope_freqs.weight`: inverse frequency k is divided by factors[k] (how the GGUF
  /// converter stores llama3 scaling).
  case frequencyFactors([Float])
}

/// The hyperparameters of a LLaMA-family decoder (LlamaForCausalLM, Qwen2ForCausalLM), read from
/// a Hugging Face `config.json` or from GGUF metadata.
public struct LlamaConfiguration: Sendable, Equatable {
  public var hiddenSize: Int
  public var intermediateSize: Int
  public var layerCount: Int
  public var headCount: Int
  public var kvHeadCount: Int
  public var headDim: Int
  /// Channels of each head that rotate (the rest pass through); headDim for LLaMA.
  public var rotaryDim: Int
  public var rmsNormEps: Float
  public var ropeTheta: Float
  public var ropeScaling: LlamaRopeScaling
  /// `.rotateHalf` for HF checkpoints and GGUF files whose Q/K were not permuted (qwen2);
  /// `.interleaved` for GGUF llama files (convert_hf_to_gguf.py permutes the Q and K rows).
  public var ropeStyle: RoPEStyle
  public var tieWordEmbeddings: Bool
  public var vocabSize: Int
  public var maxPositionEmbeddings: Int

  public init(
    hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
    headDim: Int? = nil, rotaryDim: Int? = nil, rmsNormEps: Float = 1e-6, ropeTheta: Float = 10_000,
    ropeScaling: LlamaRopeScaling = .none, ropeStyle: RoPEStyle = .rotateHalf,
    tieWordEmbeddings: Bool = false, vocabSize: Int, maxPositionEmbeddings: Int
  ) {
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.layerCount = layerCount
    self.headCount = headCount
    self.kvHeadCount = kvHeadCount
    self.headDim = headDim ?? hiddenSize / max(headCount, 1)
    self.rotaryDim = rotaryDim ?? self.headDim
    self.rmsNormEps = rmsNormEps
    self.ropeTheta = ropeTheta
    self.ropeScaling = ropeScaling
    self.ropeStyle = ropeStyle
    self.tieWordEmbeddings = tieWordEmbeddings
    self.vocabSize = vocabSize
    self.maxPositionEmbeddings = maxPositionEmbeddings
  }

  /// The inverse frequencies RoPE rotates by, [rotaryDim / 2].
  public var inverseFrequencies: [Float] {
    switch ropeScaling {
    case .none: return ropeInverseFrequencies(rotaryDim: rotaryDim, base: ropeTheta)
    case .llama3(let scaling):
      return llama3InverseFrequencies(rotaryDim: rotaryDim, base: ropeTheta, scaling: scaling)
    case .linear(let factor):
      return ropeInverseFrequencies(rotaryDim: rotaryDim, base: ropeTheta).map { $0 / factor }
    case .frequencyFactors(let factors):
      return zip(ropeInverseFrequencies(rotaryDim: rotaryDim, base: ropeTheta), factors).map { $0 / $1 }
    }
  }

  /// Checks the sizes fit together; `source` names the file for messages.
  func validated(source: String) throws(LlamaError) -> LlamaConfiguration {
    func fail(_ problem: String) -> LlamaError { .configuration(source: source, problem: problem) }
    let positive: [(String, Int)] = [
      ("hidden size", hiddenSize), ("intermediate size", intermediateSize), ("layer count", layerCount),
      ("head count", headCount), ("KV head count", kvHeadCount), ("head dim", headDim),
      ("vocab size", vocabSize), ("max position embeddings", maxPositionEmbeddings),
    ]
    for (name, value) in positive where value <= 0 { throw fail("\(name) is \(value), expected > 0") }
    if headCount % kvHeadCount != 0 {
      throw fail("\(headCount) attention heads are not a multiple of \(kvHeadCount) KV heads")
    }
    if rotaryDim <= 0 || rotaryDim % 2 != 0 || rotaryDim > headDim {
      throw fail("rotary dimension \(rotaryDim) must be even, positive and at most head dim \(headDim)")
    }
    if case .frequencyFactors(let factors) = ropeScaling, factors.count != rotaryDim / 2 {
      throw fail("rope_freqs holds \(factors.count) factors, expected \(rotaryDim / 2)")
    }
    if !(rmsNormEps >= 0) || !(ropeTheta > 0) {
      throw fail("rms norm eps \(rmsNormEps) and rope theta \(ropeTheta) must be ≥ 0 and > 0")
    }
    return self
  }
}

// MARK: - Hugging Face config.json

extension LlamaConfiguration {
  /// Architectures whose config.json and tensor names this model reads.
  public static let huggingFaceArchitectures: Set<String> = ["LlamaForCausalLM", "Qwen2ForCausalLM"]

  /// Reads a Hugging Face `config.json` (a file, or a checkpoint directory holding one).
  public init(configPath path: String) throws(LlamaError) {
    var isDirectory: ObjCBool = false
    var file = path
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      file = URL(fileURLWithPath: path).appendingPathComponent("config.json").path
    }
    guard let data = FileManager.default.contents(atPath: file) else {
      throw .configuration(source: file, problem: "cannot read the file (a checkpoint needs config.json)")
    }
    let document: JSONDocument
    do {
      document = try JSONParser.parse(data, file: file)
    } catch {
      throw .configuration(source: file, problem: error.message)
    }
    try self.init(json: document.root, source: file)
  }

  /// Reads the members of a `config.json` object (transformers 4's `rope_theta`/`rope_scaling`
  /// or transformers 5's `rope_parameters`).
  public init(json: JSONValue, source: String = "config.json") throws(LlamaError) {
    func fail(_ problem: String) -> LlamaError { .configuration(source: source, problem: problem) }
    guard json.members != nil else { throw fail("expected a JSON object, found \(json.typeName)") }
    func value(_ key: String, in object: JSONValue = json) -> JSONValue? {
      guard let value = object[key], value != .null else { return nil }
      return value
    }
    func int(_ key: String, default fallback: Int? = nil) throws(LlamaError) -> Int {
      guard let value = value(key) else {
        if let fallback { return fallback }
        throw fail("missing key '\(key)'")
      }
      guard let int = value.int else { throw fail("'\(key)' is \(value.typeName), expected an integer") }
      return int
    }
    func number(_ key: String, in object: JSONValue = json, default fallback: Double? = nil)
      throws(LlamaError) -> Double
    {
      guard let value = value(key, in: object) else {
        if let fallback { return fallback }
        throw fail("missing key '\(key)'")
      }
      guard let double = value.double else { throw fail("'\(key)' is \(value.typeName), expected a number") }
      return double
    }
    if let architectures = value("architectures")?.elements?.compactMap(\.string), !architectures.isEmpty,
      !architectures.contains(where: Self.huggingFaceArchitectures.contains)
    {
      throw fail(
        "architectures \(architectures) are not supported, expected one of "
          + Self.huggingFaceArchitectures.sorted().joined(separator: ", "))
    }
    let hidden = try int("hidden_size")
    let heads = try int("num_attention_heads")
    // transformers 5 folds rope_theta and the scaling into `rope_parameters`.
    let rope = value("rope_parameters") ?? value("rope_scaling")
    let theta: Double
    if let parameters = value("rope_parameters"), value("rope_theta", in: parameters) != nil {
      theta = try number("rope_theta", in: parameters)
    } else {
      theta = try number("rope_theta", default: 10_000)
    }
    var scaling = LlamaRopeScaling.none
    if let rope {
      let type = (value("rope_type", in: rope) ?? value("type", in: rope))?.string ?? "default"
      switch type {
      case "default": break
      case "linear": scaling = .linear(factor: Float(try number("factor", in: rope)))
      case "llama3":
        scaling = .llama3(
          Llama3RopeScaling(
            factor: Float(try number("factor", in: rope)),
            lowFreqFactor: Float(try number("low_freq_factor", in: rope)),
            highFreqFactor: Float(try number("high_freq_factor", in: rope)),
            originalMaxPositionEmbeddings: Int(try number("original_max_position_embeddings", in: rope))))
      default: throw fail("rope type '\(type)' is not supported (default, linear, llama3)")
      }
    }
    var tied = false
    if let flag = value("tie_word_embeddings") {
      guard let bool = flag.bool else {
        throw fail("'tie_word_embeddings' is \(flag.typeName), expected a boolean")
      }
      tied = bool
    }
    self.init(
      hiddenSize: hidden, intermediateSize: try int("intermediate_size"),
      layerCount: try int("num_hidden_layers"), headCount: heads,
      kvHeadCount: try int("num_key_value_heads", default: heads),
      headDim: try int("head_dim", default: heads > 0 ? hidden / heads : 0),
      rmsNormEps: Float(try number("rms_norm_eps", default: 1e-6)), ropeTheta: Float(theta),
      ropeScaling: scaling, ropeStyle: .rotateHalf, tieWordEmbeddings: tied,
      vocabSize: try int("vocab_size"),
      maxPositionEmbeddings: try int("max_position_embeddings", default: 2048))
    self = try validated(source: source)
  }
}

// MARK: - GGUF metadata

extension LlamaConfiguration {
  /// `general.architecture` values this model reads, with the RoPE pairing of their Q/K rows.
  public static let ggufArchitectures: [String: RoPEStyle] = ["llama": .interleaved, "qwen2": .rotateHalf]

  /// Reads `<arch>.*` metadata (and `rope_freqs.weight`, the llama3 scaling factors, when present).
  public init(gguf: GGUFFile) throws(LlamaError) {
    let source = gguf.path
    func fail(_ problem: String) -> LlamaError { .configuration(source: source, problem: problem) }
    do {
      guard let arch = try gguf.string("general.architecture") else {
        throw fail("missing metadata 'general.architecture'")
      }
      guard let style = Self.ggufArchitectures[arch] else {
        throw fail("general.architecture '\(arch)' is not supported (llama, qwen2)")
      }
      func int(_ key: String) throws -> Int {
        guard let value = try gguf.int("\(arch).\(key)") else {
          throw fail("missing metadata '\(arch).\(key)'")
        }
        return value
      }
      func optionalInt(_ key: String) throws -> Int? { try gguf.int("\(arch).\(key)") }
      let hidden = try int("embedding_length")
      let heads = try int("attention.head_count")
      let headDim = try optionalInt("attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
      guard let eps = try gguf.float("\(arch).attention.layer_norm_rms_epsilon") else {
        throw fail("missing metadata '\(arch).attention.layer_norm_rms_epsilon'")
      }
      var vocab = try optionalInt("vocab_size") ?? gguf.strings("tokenizer.ggml.tokens")?.count
      if vocab == nil, let embedding = try? gguf.tensorInfo(named: "token_embd.weight") {
        vocab = embedding.shape.first
      }
      guard let vocab else {
        throw fail(
          "missing metadata '\(arch).vocab_size' (and no 'tokenizer.ggml.tokens' or token_embd.weight)")
      }
      var scaling = LlamaRopeScaling.none
      switch try gguf.string("\(arch).rope.scaling.type") ?? "none" {
      case "none": break
      case "linear":
        guard let factor = try gguf.float("\(arch).rope.scaling.factor") else {
          throw fail("missing metadata '\(arch).rope.scaling.factor' (rope.scaling.type is linear)")
        }
        scaling = .linear(factor: Float(factor))
      case let other: throw fail("\(arch).rope.scaling.type '\(other)' is not supported (none, linear)")
      }
      if gguf.contains("rope_freqs.weight") {
        scaling = .frequencyFactors(try gguf.tensor(named: "rope_freqs.weight").floats())
      }
      self.init(
        hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
        layerCount: try int("block_count"), headCount: heads,
        kvHeadCount: try optionalInt("attention.head_count_kv") ?? heads, headDim: headDim,
        rotaryDim: try optionalInt("rope.dimension_count") ?? headDim, rmsNormEps: Float(eps),
        ropeTheta: Float(try gguf.float("\(arch).rope.freq_base") ?? 10_000), ropeScaling: scaling,
        ropeStyle: style, tieWordEmbeddings: !gguf.contains("output.weight"), vocabSize: vocab,
        maxPositionEmbeddings: try int("context_length"))
    } catch let error as LlamaError {
      throw error
    } catch {
      throw .configuration(source: source, problem: "\(error)")
    }
    self = try validated(source: source)
  }
}

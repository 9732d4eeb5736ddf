import Foundation
import MMCore

/// A Hugging Face checkpoint's image processor settings that could not be used: the file, the
/// JSON key (dotted), and what was expected and found.
public struct ImageProcessorConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
  public var file: String
  public var key: String
  public var problem: String

  public init(file: String, key: String, problem: String) {
    self.file = file
    self.key = key
    self.problem = problem
  }

  public var description: String { key.isEmpty ? "\(file): \(problem)" : "\(file): \(key): \(problem)" }
}

extension VisionPreprocessing {
  /// The pipeline of a Hugging Face `CLIPImageProcessor` (also LLaVA's and every processor with
  /// the same keys): `do_resize` with `size` {`shortest_edge`} or {`height`, `width`} and
  /// `resample` (PIL's numbering: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5
  /// hamming), `do_center_crop` with `crop_size`, `do_rescale` with `rescale_factor` 1/255,
  /// `do_normalize` with `image_mean`/`image_std`. Absent keys take `CLIPImageProcessor`'s
  /// defaults (224, bicubic, crop 224, CLIP's mean and std). The result reproduces the
  /// processor's PIL backend; its default torchvision backend resizes floats instead of bytes
  /// and differs by a few 8-bit steps after normalization at most.
  ///
  /// - Throws: `ImageProcessorConfigurationError` naming `source` and the key for settings the
  ///   pipeline cannot reproduce (no resize, a rescale factor other than 1/255, `do_pad`) or
  ///   values of the wrong type.
  public init(imageProcessor json: JSONValue, source: String, keyPrefix: String = "")
    throws(ImageProcessorConfigurationError)
  {
    func fail(_ key: String, _ problem: String) -> ImageProcessorConfigurationError {
      ImageProcessorConfigurationError(file: source, key: keyPrefix + key, problem: problem)
    }
    guard case .object = json else {
      throw fail("", "expected a JSON object of image processor settings, found \(json.typeName)")
    }
    func flag(_ key: String, _ fallback: Bool) throws(ImageProcessorConfigurationError) -> Bool {
      guard let value = json[key], value != .null else { return fallback }
      guard let bool = value.bool else { throw fail(key, "expected true or false, found \(value.encoded())") }
      return bool
    }
    func positive(_ node: JSONValue, _ key: String, _ path: String) throws(ImageProcessorConfigurationError)
      -> Int?
    {
      guard let value = node[key], value != .null else { return nil }
      guard let int = value.int, int >= 1 else {
        throw fail(path, "expected a positive integer, found \(value.encoded())")
      }
      return int
    }
    /// `size` / `crop_size`: an int (a square), {shortest_edge} or {height, width}.
    func size(_ key: String, fallback: VisionResizeSize, shortestEdgeAllowed: Bool)
      throws(ImageProcessorConfigurationError) -> VisionResizeSize
    {
      guard let value = json[key], value != .null else { return fallback }
      if let side = value.int, side >= 1 {
        return shortestEdgeAllowed ? .shorterSide(side) : .exact(height: side, width: side)
      }
      guard case .object = value else {
        throw fail(
          key, "expected an object {\"height\", \"width\"} or {\"shortest_edge\"}, found \(value.encoded())")
      }
      if let h = try positive(value, "height", key + ".height"),
        let w = try positive(value, "width", key + ".width")
      {
        return .exact(height: h, width: w)
      }
      if let edge = try positive(value, "shortest_edge", key + ".shortest_edge") {
        guard shortestEdgeAllowed else {
          throw fail(key, "expected {\"height\", \"width\"}, found shortest_edge")
        }
        return .shorterSide(edge)
      }
      throw fail(key, "expected {\"height\", \"width\"} or {\"shortest_edge\"}, found \(value.encoded())")
    }
    func triple(_ key: String, _ fallback: [Double]) throws(ImageProcessorConfigurationError) -> [Double] {
      guard let value = json[key], value != .null else { return fallback }
      if let scalar = value.double { return [scalar, scalar, scalar] }
      guard let items = value.elements, items.count == 3 else {
        throw fail(key, "expected 3 numbers (one per RGB channel), found \(value.encoded())")
      }
      var numbers: [Double] = []
      for item in items {
        guard let number = item.double else {
          throw fail(key, "expected 3 numbers, found \(value.encoded())")
        }
        numbers.append(number)
      }
      return numbers
    }

    guard try flag("do_resize", true) else {
      throw fail("do_resize", "false is not supported: the pipeline always resizes (found false)")
    }
    let resize = try size("size", fallback: .shorterSide(224), shortestEdgeAllowed: true)
    let filters: [Int: ResampleFilter] = [
      0: .nearest, 1: .lanczos, 2: .bilinear, 3: .bicubic, 4: .box, 5: .hamming,
    ]
    var filter = ResampleFilter.bicubic
    if let value = json["resample"], value != .null {
      guard let code = value.int, let known = filters[code] else {
        throw fail("resample", "expected a PIL filter number 0…5, found \(value.encoded())")
      }
      filter = known
    }
    var crop: (height: Int, width: Int)?
    if try flag("do_center_crop", true) {
      guard
        case .exact(let h, let w) = try size(
          "crop_size", fallback: .exact(height: 224, width: 224),
          shortestEdgeAllowed: false)
      else { throw fail("crop_size", "expected {\"height\", \"width\"}") }
      crop = (h, w)
    }
    if try flag("do_rescale", true) {
      if let value = json["rescale_factor"], value != .null {
        guard let factor = value.double, abs(factor - 1.0 / 255.0) < 1e-9 else {
          throw fail(
            "rescale_factor", "only 1/255 (0.00392156862745098) is supported, found \(value.encoded())")
        }
      }
    } else {
      throw fail("do_rescale", "false is not supported: pixels are always scaled to [0, 1] (found false)")
    }
    if try flag("do_pad", false) {
      throw fail(
        "do_pad", "true is not supported: padding to a square (LlavaImageProcessor) is not implemented")
    }
    let normalize = try flag("do_normalize", true)
    let mean = normalize ? try triple("image_mean", VisionPreprocessing.clipMean) : [0, 0, 0]
    let std = normalize ? try triple("image_std", VisionPreprocessing.clipStd) : [1, 1, 1]
    guard !std.contains(0) else { throw fail("image_std", "a standard deviation of 0, found \(std)") }
    do {
      try self.init(resize: resize, filter: filter, crop: crop, mean: mean, std: std)
    } catch {
      throw fail("", "\(error)")
    }
  }

  /// The image processor of a Hugging Face checkpoint folder: `preprocessor_config.json` (the
  /// hub's layout, e.g. llava-hf/llava-1.5-7b-hf), else the `image_processor` object of
  /// `processor_config.json` (what transformers 5's `ProcessorMixin.save_pretrained` writes).
  /// - Throws: `ImageProcessorConfigurationError` when neither file has the settings, a file is
  ///   not valid JSON, or a setting cannot be used.
  public init(checkpointDirectory directory: String) throws(ImageProcessorConfigurationError) {
    let folder = URL(fileURLWithPath: directory)
    let flat = folder.appendingPathComponent("preprocessor_config.json").path
    let nested = folder.appendingPathComponent("processor_config.json").path
    func read(_ path: String) throws(ImageProcessorConfigurationError) -> JSONValue? {
      guard let data = FileManager.default.contents(atPath: path) else { return nil }
      do { return try JSONParser.parse([UInt8](data), file: path).root } catch {
        throw ImageProcessorConfigurationError(
          file: path, key: "", problem: "not valid JSON: \(error.message)")
      }
    }
    if let json = try read(flat) {
      try self.init(imageProcessor: json, source: flat)
      return
    }
    if let json = try read(nested) {
      guard let settings = json["image_processor"] else {
        throw ImageProcessorConfigurationError(
          file: nested, key: "image_processor", problem: "missing (and there is no preprocessor_config.json)")
      }
      try self.init(imageProcessor: settings, source: nested, keyPrefix: "image_processor.")
      return
    }
    throw ImageProcessorConfigurationError(
      file: flat, key: "",
      problem:
        "cannot read the file, nor processor_config.json beside it: the checkpoint has no image processor settings"
    )
  }
}

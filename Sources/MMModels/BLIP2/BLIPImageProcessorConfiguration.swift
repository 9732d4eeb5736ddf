import Foundation
import MMCore
import MMNN

/// The settings of transformers' `BlipImageProcessor` (BLIP, BLIP-2, InstructBLIP): convert to
/// RGB, resize to exactly `size` {height, width} with `resample` (PIL's filter numbers: 3 is
/// bicubic), multiply by `rescale_factor` (1/255), normalize by `image_mean`/`image_std`. No
/// crop. The pixels go to the vision model as [3, height, width].
///
/// Read from the checkpoint's `preprocessor_config.json` (hub checkpoints, and
/// `BlipImageProcessor.save_pretrained`), or else from the `image_processor` object of
/// `processor_config.json` (where transformers 5's `Blip2Processor.save_pretrained` puts it).
/// The decoding and resampling themselves belong to MMMediaIO; this is only the configuration.
public struct BLIPImageProcessorConfiguration: Sendable, Equatable {
  public var doConvertRGB = true
  public var doResize = true
  public var height = 384
  public var width = 384
  /// PIL's `Image.Resampling` number: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box,
  /// 5 hamming.
  public var resample = 3
  public var doRescale = true
  public var rescaleFactor = 1.0 / 255.0
  public var doNormalize = true
  /// OpenAI CLIP's constants, BlipImageProcessor's defaults.
  public var mean = [0.48145466, 0.4578275, 0.40821073]
  public var std = [0.26862954, 0.26130258, 0.27577711]

  public init() {}

  /// The files the settings are read from, in order of preference.
  public static let fileNames = ["preprocessor_config.json", "processor_config.json"]

  /// `preprocessor_config.json` of `directory`, else the `image_processor` of
  /// `processor_config.json`.
  /// - Throws: `ModelError.configuration` naming the file and key (neither file present, bad
  ///   JSON, a value of the wrong type, a size < 1, a zero standard deviation).
  public init(directory: String) throws(ModelError) {
    let preprocessor = (directory as NSString).appendingPathComponent(Self.fileNames[0])
    let processor = (directory as NSString).appendingPathComponent(Self.fileNames[1])
    if FileManager.default.fileExists(atPath: preprocessor) {
      try self.init(json: try Self.parse(preprocessor), path: "", source: preprocessor)
    } else if FileManager.default.fileExists(atPath: processor) {
      let root = try Self.parse(processor)
      guard let node = root["image_processor"], case .object = node else {
        throw .configuration(
          source: processor, problem: "image_processor: expected an object (the BlipImageProcessor settings)")
      }
      try self.init(json: node, path: "image_processor", source: processor)
    } else {
      throw .configuration(
        source: directory,
        problem: "no image processor settings: neither preprocessor_config.json nor processor_config.json")
    }
  }

  /// The settings in `node` (its keys under `path` for messages).
  public init(json node: JSONValue, path: String, source: String) throws(ModelError) {
    let r = ConfigReader(source: source)
    guard case .object = node else {
      throw .configuration(source: source, problem: "expected a JSON object, found \(node.typeName)")
    }
    if let type = node["image_processor_type"]?.string, !type.hasPrefix("BlipImageProcessor") {
      throw .configuration(
        source: source,
        problem:
          "\(path.isEmpty ? "" : path + ".")image_processor_type: expected BlipImageProcessor, found \(type)")
    }
    doConvertRGB = try r.bool(node, path, "do_convert_rgb", doConvertRGB)
    doResize = try r.bool(node, path, "do_resize", doResize)
    let size = try r.object(node, "size")
    let sizePath = path.isEmpty ? "size" : "\(path).size"
    if let shortest = size["shortest_edge"], shortest != .null {
      throw .configuration(
        source: source,
        problem:
          "\(sizePath).shortest_edge: BlipImageProcessor resizes to {height, width}, found \(shortest.encoded())"
      )
    }
    height = try r.int(size, sizePath, "height", height)
    width = try r.int(size, sizePath, "width", width)
    resample = try r.int(node, path, "resample", resample, minimum: 0)
    guard resample <= 5 else {
      throw .configuration(
        source: source, problem: "\(path.isEmpty ? "" : path + ".")resample: expected 0…5, found \(resample)")
    }
    doRescale = try r.bool(node, path, "do_rescale", doRescale)
    rescaleFactor = try r.doubles(node, path, "rescale_factor", [rescaleFactor], count: 1)[0]
    doNormalize = try r.bool(node, path, "do_normalize", doNormalize)
    mean = try r.doubles(node, path, "image_mean", mean, count: 3)
    std = try r.doubles(node, path, "image_std", std, count: 3)
    guard !std.contains(0) else {
      throw .configuration(
        source: source, problem: "\(path.isEmpty ? "" : path + ".")image_std: a standard deviation is 0")
    }
  }

  private static func parse(_ path: String) throws(ModelError) -> JSONValue {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .configuration(source: path, problem: "cannot read the file")
    }
    do { return try JSONParser.parse([UInt8](data), file: path).root } catch {
      throw .configuration(source: path, problem: "not valid JSON: \(error)")
    }
  }
}

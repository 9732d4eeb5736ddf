import Foundation
import MMCore
import MMNN
import MMWeights

/// The image side of a Hugging Face Idefics checkpoint (`IdeficsForVisionText2Text`):
/// `model.vision_model.…`, HF's `IdeficsVisionTransformer` — the same modules and names as
/// `CLIPVisionTransformer`, so `CLIPVisionModel` runs it under that prefix (its last hidden
/// state, `hiddenStates(at: [-1])`) — and
/// `model.perceiver_resampler.…` (`PerceiverResampler`) when `use_resampler`. The decoder
/// (`model.layers`, `model.gated_cross_attn_layers`, …) is MMLLM's `LlamaModel(directory:)`.
///
/// ```swift
/// let idefics = try IdeficsVisionModel(directory: "idefics-9b")
/// let tokens = try idefics.imageFeatures(pixels)          // [patches + 1, width]
/// let latents = try idefics.resampler?(tokens)            // [n_latents, width]
/// ```
public final class IdeficsVisionModel: Sendable {
  public let configuration: IdeficsConfiguration
  /// `model.vision_model`: pixels → hidden states [batch, patches + 1, width].
  public let vision: CLIPVisionModel
  /// `model.perceiver_resampler`, nil when the checkpoint has `use_resampler` false.
  public let resampler: PerceiverResampler?

  public init(configuration: IdeficsConfiguration, store: any WeightStore) throws(ModelError) {
    self.configuration = configuration
    let scope = ParameterScope(store, prefix: "model")
    vision = try CLIPVisionModel(scope.child("vision_model"), configuration: configuration.vision)
    resampler =
      configuration.useResampler
      ? try PerceiverResampler(
        scope.child("perceiver_resampler"), configuration: configuration.perceiver, width: configuration.width
      )
      : nil
  }

  /// A checkpoint directory: config.json and model.safetensors (or a sharded index).
  public convenience init(directory: String) throws(ModelError) {
    let configuration = try IdeficsConfiguration(contentsOf: directory)
    let store: any WeightStore
    do { store = try openWeightStore(path: directory) } catch { throw ModelError(error) }
    try self.init(configuration: configuration, store: store)
  }

  /// pixels: [3, size, size] (one image, normalized as `IdeficsImageProcessor` does) → the
  /// vision tokens [patches + 1, width] (class token first), HF's `last_hidden_state[0]`.
  public func imageFeatures(_ pixels: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let c = configuration.vision
    guard pixels.rank == 3 else {
      throw .invalidInput(
        "Idefics vision expects one image [\(c.channelCount), \(c.imageSize), \(c.imageSize)], got "
          + shapeText(pixels.shape))
    }
    // HF's last_hidden_state: the last encoder layer's output, before post_layernorm.
    guard let hidden = try vision.hiddenStates(pixels, at: [-1], trace: trace).first else {
      throw .invalidInput("Idefics vision: the vision tower returned no hidden state")
    }
    do { return try hidden.reshaped([c.patchCount + 1, c.tower.hiddenSize]) } catch {
      throw .invalidInput("\(error)")
    }
  }
}

/// The settings of HF's `IdeficsImageProcessor`, read from `preprocessor_config.json` (hub
/// checkpoints, transformers 4) or the `image_processor` object of `processor_config.json`
/// (transformers 5's `save_pretrained` of the processor): resize to `size` (height × width,
/// `image_size` in older files) with `resample` (3: bicubic), `rescale_factor` (1/255),
/// normalize by `image_mean`/`image_std`, convert to RGB. No crop.
public struct IdeficsImageProcessor: Sendable, Equatable {
  public var height: Int
  public var width: Int
  /// PIL's resampling filter number (0 nearest, 2 bilinear, 3 bicubic, 1 lanczos).
  public var resample: Int
  public var mean: [Double]
  public var std: [Double]
  public var rescaleFactor: Double

  public init(
    height: Int, width: Int, resample: Int = 3, mean: [Double], std: [Double], rescaleFactor: Double = 1 / 255
  ) {
    self.height = height
    self.width = width
    self.resample = resample
    self.mean = mean
    self.std = std
    self.rescaleFactor = rescaleFactor
  }

  /// IDEFICS_STANDARD_MEAN / _STD (OpenAI CLIP's).
  public static let standardMean = [0.48145466, 0.4578275, 0.40821073]
  public static let standardStd = [0.26862954, 0.26130258, 0.27577711]

  /// Reads the checkpoint directory's preprocessor_config.json, else processor_config.json's
  /// `image_processor`.
  /// - Throws: `ModelError.configuration` naming the file and key.
  public init(directory: String) throws(ModelError) {
    let preprocessor = (directory as NSString).appendingPathComponent("preprocessor_config.json")
    let processor = (directory as NSString).appendingPathComponent("processor_config.json")
    func read(_ file: String) throws(ModelError) -> JSONValue? {
      guard let data = FileManager.default.contents(atPath: file) else { return nil }
      do { return try JSONParser.parse([UInt8](data), file: file).root } catch {
        throw .configuration(source: file, problem: "not valid JSON: \(error)")
      }
    }
    if let root = try read(preprocessor) {
      try self.init(json: root, source: preprocessor)
    } else if let root = try read(processor), let node = root["image_processor"] {
      try self.init(json: node, source: processor + " image_processor")
    } else {
      throw .configuration(
        source: preprocessor,
        problem:
          "cannot read the file, and \(processor) has no 'image_processor': the checkpoint lacks its image processor settings"
      )
    }
  }

  public init(json: JSONValue, source: String) throws(ModelError) {
    func fail(_ problem: String) -> ModelError { .configuration(source: source, problem: problem) }
    guard case .object = json else { throw fail("expected a JSON object, found \(json.typeName)") }
    func positive(_ value: JSONValue?, _ key: String) throws(ModelError) -> Int? {
      guard let value, value != .null else { return nil }
      guard let int = value.int, int >= 1 else {
        throw fail("\(key): expected an integer ≥ 1, found \(value.encoded())")
      }
      return int
    }
    let side = try positive(json["image_size"], "image_size") ?? 224
    height = try positive(json["size"]?["height"], "size.height") ?? side
    width = try positive(json["size"]?["width"], "size.width") ?? side
    resample = json["resample"]?.int ?? 3
    guard [0, 1, 2, 3].contains(resample) else {
      throw fail("resample: expected a PIL filter 0…3 (3: bicubic), found \(resample)")
    }
    func triple(_ key: String, _ fallback: [Double]) throws(ModelError) -> [Double] {
      guard let value = json[key], value != .null else { return fallback }
      guard let items = value.elements?.compactMap(\.double), items.count == 3 else {
        throw fail("\(key): expected 3 numbers, found \(value.encoded())")
      }
      return items
    }
    mean = try triple("image_mean", Self.standardMean)
    std = try triple("image_std", Self.standardStd)
    guard !std.contains(0) else { throw fail("image_std: a standard deviation is 0") }
    rescaleFactor = json["rescale_factor"]?.double ?? 1 / 255
    guard json["do_normalize"]?.bool ?? true, json["do_resize"]?.bool ?? true,
      json["do_rescale"]?.bool ?? true
    else {
      throw fail(
        "do_resize, do_rescale and do_normalize must be true (the pipeline Idefics was trained with)")
    }
  }
}

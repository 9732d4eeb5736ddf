import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMModels

/// LLaVA's image side as nodes (`llava.*`), on a Hugging Face `LlavaForConditionalGeneration`
/// checkpoint folder: `llava.vision` (image → the CLIP features LLaVA selects) and
/// `llava.projector` (features → rows in the language model's embedding space, which `llm.chat`
/// splices at the prompt's `<image>` token). Registered through `MMBuiltins`.
public enum LLaVAPlugin: NodePlugin {
  public static let name = "llava"

  public static let descriptors: [NodeDescriptor] = [visionDescriptor, projectorDescriptor]

}

/// A checkpoint's image encoder and image preprocessing, loaded once per process and folder.
final class LlavaCheckpoint: Sendable {
  let encoder: LlavaImageEncoder
  let preprocessing: VisionPreprocessing

  private static let loaded = LoadedModels<LlavaCheckpoint>()

  static func shared(_ path: String) throws -> LlavaCheckpoint {
    try loaded(path) {
      try requireFolder(
        path,
        expected:
          "a Hugging Face LLaVA checkpoint folder (config.json, model.safetensors, preprocessor_config.json)")
      let checkpoint = LlavaCheckpoint(
        encoder: try LlavaImageEncoder(directory: path),
        preprocessing: try VisionPreprocessing(checkpointDirectory: path))
      return checkpoint
    }
  }

  private init(encoder: LlavaImageEncoder, preprocessing: VisionPreprocessing) {
    self.encoder = encoder
    self.preprocessing = preprocessing
  }
}

let modelOption = OptionSpec(
  "model", .path,
  doc: "a Hugging Face LLaVA checkpoint folder (config.json, model.safetensors, preprocessor_config.json)")

/// The configuration in `model`'s config.json; nil when the folder has none (a graph checked
/// before its model is fetched: the shapes stay symbolic and the node fails when it runs), a
/// type-rule error naming the file and key when the file is there but unusable.
func configuration(_ options: NodeOptions) throws(TypeRuleError) -> LlavaConfiguration? {
  let path = URL(fileURLWithPath: options.string("model")).appendingPathComponent("config.json").path
  guard FileManager.default.fileExists(atPath: path) else { return nil }
  do { return try LlavaConfiguration(contentsOf: path) } catch {
    throw TypeRuleError(
      port: "model", expected: "a LLaVA checkpoint's readable config.json", found: "\(error)")
  }
}

/// The checkpoint's weight files and settings that exist, for the cache key.
func checkpointFiles(_ options: NodeOptions) -> [String] {
  let folder = URL(fileURLWithPath: options.string("model"))
  return [
    "config.json", "model.safetensors", "model.safetensors.index.json", "preprocessor_config.json",
    "processor_config.json",
  ].map { folder.appendingPathComponent($0).path }.filter { FileManager.default.fileExists(atPath: $0) }
}

func loadCheckpoint(_ context: NodeContext, _ path: String) throws -> LlavaCheckpoint {
  do { return try LlavaCheckpoint.shared(path) } catch {
    throw NodeFailure("\(context.nodeName): cannot load the LLaVA model: \(error)")
  }
}

/// image → embeddings [patches, vision hidden × feature layers].
let visionDescriptor = NodeDescriptor(
  type: "llava.vision",
  doc:
    "The image features LLaVA feeds its projector: the checkpoint's image preprocessing (CLIPImageProcessor), the CLIP vision tower's hidden state at vision_feature_layer (several concatenated), the class token dropped under the \"default\" strategy.",
  example: exampleNode(
    "llava.vision", inputs: [("image", "$photo")], options: [("model", "\"models/llava\"")]),
  inputs: [
    PortSpec(
      "image", .image, doc: "any size and mode; resized, cropped and normalized as the checkpoint says")
  ],
  outputs: [
    PortSpec(
      "embeddings", .tensor(dtype: .f32, shape: nil),
      doc: "[patches (+1 with the \"full\" strategy), vision hidden × feature layers], fixed by config.json")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    switch inputs["image"] {
    case nil, .any?, .image?: break
    case let other?: throw TypeRuleError(port: "image", expected: "image", found: "\(other)")
    }
    guard let c = try configuration(options) else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("patches"), .symbol("width")])]
    }
    return ["embeddings": .tensor(dtype: .f32, shape: [.fixed(c.tokensPerImage), .fixed(c.featureWidth)])]
  },
  filesRead: checkpointFiles,
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let pixels = try context.image("image")
      let checkpoint = try loadCheckpoint(context, path)
      let features = try context.named {
        try checkpoint.encoder.features(try checkpoint.preprocessing(try Image(tensor: pixels)))
      }
      context.emit("embeddings", .tensor(features))
    }
  })

/// features [n, vision hidden × feature layers] → embeddings [n, text hidden].
let projectorDescriptor = NodeDescriptor(
  type: "llava.projector",
  doc:
    "LLaVA's multi_modal_projector (linear_1, projector_hidden_act, linear_2): vision features into the language model's embedding space, one row per <image> position of the prompt.",
  example: exampleNode(
    "llava.projector", inputs: [("features", "vision.embeddings")], options: [("model", "\"models/llava\"")]),
  inputs: [
    PortSpec(
      "features", .tensor(dtype: .f32, shape: nil), doc: "[n, vision hidden × feature layers] (llava.vision)")
  ],
  outputs: [
    PortSpec(
      "embeddings", .tensor(dtype: .f32, shape: nil),
      doc: "[n, text hidden]: n from the input's type when fixed, else the image's patches from config.json")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    guard let c = try configuration(options) else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("n"), .symbol("hidden")])]
    }
    var rows = c.tokensPerImage
    switch inputs["features"] {
    case nil, .any?, .tensor(dtype: nil, shape: nil)?, .tensor(dtype: .f32?, shape: nil)?: break
    case .tensor(let dtype, let shape?)? where dtype == nil || dtype == .f32:
      guard shape.count == 2 else {
        throw TypeRuleError(
          port: "features", expected: "tensor<f32>[n, \(c.featureWidth)]",
          found: "a rank-\(shape.count) tensor")
      }
      if case .fixed(let width) = shape[1], width != c.featureWidth {
        throw TypeRuleError(
          port: "features",
          expected:
            "tensor<f32>[n, \(c.featureWidth)] (vision hidden \(c.vision.tower.hiddenSize) × \(c.featureLayers.count) feature layer\(c.featureLayers.count == 1 ? "" : "s"), config.json)",
          found: "width \(width)")
      }
      if case .fixed(let n) = shape[0] { rows = n }
    case let other?:
      throw TypeRuleError(port: "features", expected: "tensor<f32>[n, \(c.featureWidth)]", found: "\(other)")
    }
    return ["embeddings": .tensor(dtype: .f32, shape: [.fixed(rows), .fixed(c.textHiddenSize)])]
  },
  filesRead: checkpointFiles,
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let features = try context.tensor("features")
      let checkpoint = try loadCheckpoint(context, path)
      let input = features.dtype == .f32 ? features : features.converted(to: .f32)
      guard input.rank == 2 else {
        throw NodeFailure(
          "\(context.nodeName): features: expected [n, \(checkpoint.encoder.projector.inputs)], found \(shapeText(features.shape))"
        )
      }
      context.emit("embeddings", .tensor(try context.named { try checkpoint.encoder.projector(input) }))
    }
  })

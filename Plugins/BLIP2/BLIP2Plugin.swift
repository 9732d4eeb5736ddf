import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMModels

/// BLIP-2 / InstructBLIP nodes (`blip2.*`): a Hugging Face `Blip2ForConditionalGeneration` or
/// `InstructBlipForConditionalGeneration` checkpoint folder turns an image into the soft tokens
/// its language model reads: `blip2.vision` (image → ViT features) then `blip2.qformer`
/// (features [+ instruction] → [num_query_tokens, text hidden]), which `llm.chat` splices at its
/// image placeholders. One pair of nodes reads both families; config.json's `model_type` tells
/// them apart. Registered through `MMBuiltins`.
public enum BLIP2Plugin: NodePlugin {
  public static let name = "blip2"

  public static let descriptors: [NodeDescriptor] = [visionDescriptor, qformerDescriptor]

}

/// A checkpoint's connector (vision model, Q-Former, projection) and image preprocessor, loaded
/// once per process and folder.
final class BLIP2Checkpoint: Sendable {
  let model: BLIP2Model
  let preprocessor: BLIP2ImagePreprocessor

  private static let loaded = LoadedModels<BLIP2Checkpoint>()

  static func shared(_ path: String) throws -> BLIP2Checkpoint {
    try loaded(path) {
      try requireFolder(
        path,
        expected:
          "a BLIP-2 or InstructBLIP checkpoint folder (config.json, model.safetensors, preprocessor_config.json)"
      )
      let model = try BLIP2Model(directory: path)
      let preprocessor = BLIP2ImagePreprocessor(try BLIPImageProcessorConfiguration(directory: path))
      let checkpoint = BLIP2Checkpoint(model: model, preprocessor: preprocessor)
      return checkpoint
    }
  }

  private init(model: BLIP2Model, preprocessor: BLIP2ImagePreprocessor) {
    self.model = model
    self.preprocessor = preprocessor
  }
}

func loadCheckpoint(_ context: NodeContext, _ path: String) throws -> BLIP2Checkpoint {
  do { return try BLIP2Checkpoint.shared(path) } catch {
    throw NodeFailure("\(context.nodeName): cannot load the BLIP-2 checkpoint: \(error)")
  }
}

/// The checkpoint's config.json (only that file: cheap enough for type checking); nil when the
/// folder has none (a model not fetched yet: shapes stay symbolic and the run names the folder),
/// a TypeRuleError on `model` when it exists but cannot be read.
func configuration(_ options: NodeOptions) throws(TypeRuleError) -> BLIP2Configuration? {
  let path = (options.string("model") as NSString).appendingPathComponent("config.json")
  guard FileManager.default.fileExists(atPath: path) else { return nil }
  do { return try BLIP2Configuration(contentsOf: path) } catch {
    throw TypeRuleError(
      port: "model", expected: "a BLIP-2 or InstructBLIP checkpoint folder with a readable config.json",
      found: "\(error)")
  }
}

let modelOption = OptionSpec(
  "model", .path,
  doc: "a Hugging Face BLIP-2 or InstructBLIP checkpoint folder (config.json, model.safetensors, "
    + "preprocessor_config.json or processor_config.json; InstructBLIP also qformer_tokenizer/)")

/// image → embeddings [1 + patches, vision hidden]: BlipImageProcessor then the ViT.
let visionDescriptor = NodeDescriptor(
  type: "blip2.vision",
  doc:
    "BLIP-2/InstructBLIP vision model: the image resized and normalized as the checkpoint's BlipImageProcessor, then the ViT (vision_model) with post_layernorm on every token; the Q-Former's cross-attention input.",
  example: exampleNode(
    "blip2.vision", inputs: [("image", "$photo")], options: [("model", "\"models/blip2\"")]),
  inputs: [PortSpec("image", .image, doc: "any mode")],
  outputs: [
    PortSpec(
      "embeddings", .tensor(dtype: .f32, shape: nil),
      doc: "[1 + patches, vision hidden]: the class token then one row per patch")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    switch inputs["image"] {
    case nil, .any?, .image?: break
    case let other?: throw TypeRuleError(port: "image", expected: "image", found: "\(other)")
    }
    guard let v = try configuration(options)?.vision else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("tokens"), .symbol("width")])]
    }
    return ["embeddings": .tensor(dtype: .f32, shape: [.fixed(v.tokenCount), .fixed(v.hiddenSize)])]
  },
  isPure: true,
  filesRead: { options in [options.string("model")] },
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let image: Image
      do { image = try Image(tensor: try context.image("image")) } catch let error as TensorError {
        throw NodeFailure("\(context.nodeName): input 'image': \(error)")
      }
      let checkpoint = try loadCheckpoint(context, path)
      do {
        let pixels = try checkpoint.preprocessor(image)
        context.emit("embeddings", .tensor(try checkpoint.model.vision(pixels)))
      } catch { throw NodeFailure("\(context.nodeName): \(path): \(error)") }
    }
  })

/// features (+ instruction) → embeddings [num_query_tokens, text hidden].
let qformerDescriptor = NodeDescriptor(
  type: "blip2.qformer",
  doc:
    "BLIP-2/InstructBLIP Q-Former and language_projection: learned queries cross-attend to the image features and become num_query_tokens soft tokens of the language model's width. InstructBLIP's Q-Former also reads the instruction text.",
  example: exampleNode(
    "blip2.qformer", inputs: [("features", "vision.embeddings")], options: [("model", "\"models/blip2\"")]),
  inputs: [
    PortSpec("features", .tensor(dtype: .f32, shape: nil), doc: "[n, vision hidden] (blip2.vision)"),
    PortSpec(
      "instruction", .text, doc: "the instruction (InstructBLIP checkpoints only; required there)",
      optional: true),
  ],
  outputs: [
    PortSpec("embeddings", .tensor(dtype: .f32, shape: nil), doc: "[num_query_tokens, text hidden]")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    guard let c = try configuration(options) else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("queries"), .symbol("hidden")])]
    }
    let width = c.vision.hiddenSize
    switch inputs["features"] {
    case nil, .any?, .tensor(dtype: nil, shape: nil)?, .tensor(dtype: .f32?, shape: nil)?: break
    case .tensor(dtype: let dtype, shape: let shape?)? where dtype == nil || dtype == .f32:
      if shape.count != 2 || (shape.last != .fixed(width) && !isSymbol(shape.last)) {
        throw TypeRuleError(
          port: "features", expected: "tensor<f32>[n, \(width)] (the checkpoint's vision width)",
          found: "tensor[\(shape.map(\.description).joined(separator: ", "))]")
      }
    case let other?:
      throw TypeRuleError(port: "features", expected: "tensor<f32>[n, \(width)]", found: "\(other)")
    }
    switch (c.family, inputs["instruction"] != nil) {
    case (.blip2, true):
      throw TypeRuleError(
        port: "instruction", expected: "nothing: a BLIP-2 checkpoint's Q-Former takes no instruction",
        found: "a connected instruction (only InstructBLIP checkpoints read one)")
    case (.instructBLIP, false):
      throw TypeRuleError(
        port: "instruction", expected: "text: an InstructBLIP checkpoint's Q-Former reads the instruction",
        found: "nothing connected")
    default: break
    }
    return [
      "embeddings": .tensor(dtype: .f32, shape: [.fixed(c.queryTokenCount), .fixed(c.textHiddenSize)])
    ]
  },
  isPure: true,
  filesRead: { options in [options.string("model")] },
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let features = try context.tensor("features")
      var instruction: String? = nil
      switch context.input("instruction") {
      case nil: break
      case .text(let text)?: instruction = text
      case let other?:
        throw NodeFailure("\(context.nodeName): input 'instruction': expected text, found \(other.portType)")
      }
      let checkpoint = try loadCheckpoint(context, path)
      let c = checkpoint.model.configuration
      guard features.rank == 2, features.shape[1] == c.vision.hiddenSize else {
        throw NodeFailure(
          "\(context.nodeName): input 'features': expected [n, \(c.vision.hiddenSize)] (the vision width of "
            + "\(path)/config.json), found \(features.shape)")
      }
      do {
        let tokens = try checkpoint.model.languageInputs(
          features.converted(to: .f32), instruction: instruction)
        context.emit("embeddings", .tensor(tokens))
      } catch { throw NodeFailure("\(context.nodeName): \(path): \(error)") }
    }
  })

private func isSymbol(_ dimension: MMGraph.Dimension?) -> Bool {
  if case .symbol? = dimension { return true }
  return false
}

import Foundation
import MMCore
import MMGraph
import MMModels
import MMTokenizers

/// CLIP nodes (`clip.*`): a Hugging Face CLIP checkpoint folder (config.json, model.safetensors,
/// tokenizer.json or vocab.json + merges.txt) embeds images and texts into one unit-norm space,
/// where cosine similarity ranks captions for an image. Registered through `MMBuiltins`.
public enum CLIPPlugin: NodePlugin {
  public static let name = "clip"

  public static let descriptors: [NodeDescriptor] = [imageDescriptor, textDescriptor]

}

/// A checkpoint's model and tokenizer, loaded once per process and folder.
final class CLIPCheckpoint: Sendable {
  let model: CLIPModel
  /// Nil for a vision-only checkpoint.
  let tokenizer: CLIPTokenizer?

  private static let loaded = LoadedModels<CLIPCheckpoint>()

  static func shared(_ path: String) throws -> CLIPCheckpoint {
    try loaded(path) {
      try requireFolder(
        path, expected: "a Hugging Face CLIP checkpoint folder (config.json, model.safetensors, tokenizer)")
      let model = try CLIPModel(directory: path)
      let tokenizer = model.text == nil ? nil : try CLIPTokenizer(folder: path)
      let checkpoint = CLIPCheckpoint(model: model, tokenizer: tokenizer)
      return checkpoint
    }
  }

  private init(model: CLIPModel, tokenizer: CLIPTokenizer?) {
    self.model = model
    self.tokenizer = tokenizer
  }
}

/// The embedding type of a checkpoint's outputs: `embedding<clip, projection_dim, unit>`, the
/// dimension read from config.json when it can be (unknown until run otherwise).
func embeddingType(_ options: NodeOptions) -> PortType {
  let path = (options.string("model") as NSString).appendingPathComponent("config.json")
  let dimension = try? CLIPConfiguration(contentsOf: path).projectionDim
  return .embedding(space: "clip", dimension: dimension, form: .unit)
}

func loadCheckpoint(_ context: NodeContext, _ path: String) throws -> CLIPCheckpoint {
  do { return try CLIPCheckpoint.shared(path) } catch {
    throw NodeFailure("\(context.nodeName): cannot load the CLIP model: \(error)")
  }
}

let modelOption = OptionSpec(
  "model", .path, doc: "a Hugging Face CLIP checkpoint folder (config.json, model.safetensors, tokenizer)")

/// in: [3, H, W] or [N, 3, H, W] f32 (`image.preprocess` with preset clip) → out: N unit vectors.
let imageDescriptor = NodeDescriptor(
  type: "clip.image",
  doc:
    "Embeds preprocessed images (image.preprocess, preset clip) with a CLIP vision tower and visual_projection, L2-normalized.",
  example: exampleNode("clip.image", inputs: [("in", "pixels.out")], options: [("model", "\"models/clip\"")]),
  inputs: [
    PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: "[3, H, W] or [N, 3, H, W], normalized pixels")
  ],
  outputs: [
    PortSpec("out", .embedding(space: "clip", dimension: nil, form: .unit), doc: "[N, projection_dim]")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    switch inputs["in"] {
    case nil, .any?, .tensor?: break
    case let other?: throw TypeRuleError(port: "in", expected: "tensor<f32>[N, 3, H, W]", found: "\(other)")
    }
    return ["out": embeddingType(options)]
  },
  filesRead: { options in [options.string("model")] },
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let pixels = try context.tensor("in")
      let checkpoint = try loadCheckpoint(context, path)
      let vectors = try context.named { try checkpoint.model.imageEmbeddings(pixels) }
      context.emit(
        "out", .embedding(Embedding(vectors: CLIPModel.normalized(vectors), space: "clip", form: .unit)))
    }
  })

/// in: a text, or a JSON array of texts → out: one unit vector per text.
let textDescriptor = NodeDescriptor(
  type: "clip.text",
  doc:
    "Embeds texts (a text, or a JSON array of strings) with the checkpoint's CLIP tokenizer, text tower and text_projection, L2-normalized.",
  example: exampleNode("clip.text", inputs: [("in", "$captions")], options: [("model", "\"models/clip\"")]),
  inputs: [PortSpec("in", .any, doc: "text, or json: an array of strings")],
  outputs: [
    PortSpec("out", .embedding(space: "clip", dimension: nil, form: .unit), doc: "[texts, projection_dim]"),
    PortSpec(
      "logit_scale", .tensor(dtype: .f32, shape: [.fixed(1)]),
      doc: "exp(logit_scale): the checkpoint's multiplier of cosines (space.classify's logit_scale)"),
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    switch inputs["in"] {
    case nil, .any?, .text?, .json?: break
    case let other?:
      throw TypeRuleError(port: "in", expected: "text or json (an array of strings)", found: "\(other)")
    }
    return ["out": embeddingType(options), "logit_scale": .tensor(dtype: .f32, shape: [.fixed(1)])]
  },
  filesRead: { options in [options.string("model")] },
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let texts = try textsInput(context)
      let checkpoint = try loadCheckpoint(context, path)
      guard let tokenizer = checkpoint.tokenizer else {
        throw NodeFailure("\(context.nodeName): \(path) has no text tower (text_model.*)")
      }
      let length = min(CLIPTokenizer.contextLength, checkpoint.model.configuration.text.maxPositionEmbeddings)
      // Hugging Face pads with <|endoftext|>; the pooled position is the first one either way.
      let ids = texts.map { tokenizer.padded($0, contextLength: length, padding: tokenizer.endOfText) }
      let vectors = try context.named { try checkpoint.model.textEmbeddings(ids) }
      context.emit(
        "out", .embedding(Embedding(vectors: CLIPModel.normalized(vectors), space: "clip", form: .unit)))
      context.emit("logit_scale", .tensor(Tensor([Foundation.exp(checkpoint.model.logitScale)], shape: [1])))
    }
  })

/// The `in` port as texts: a text is one; JSON must be a non-empty array of strings.
func textsInput(_ context: NodeContext) throws -> [String] {
  switch try context.required("in") {
  case .text(let text): return [text]
  case .json(let json):
    guard let items = json.elements, !items.isEmpty else {
      throw NodeFailure(
        "\(context.nodeName): in: expected a non-empty JSON array of strings, found \(json.typeName)")
    }
    return try items.enumerated().map { index, item in
      guard let text = item.string else {
        throw NodeFailure("\(context.nodeName): in[\(index)]: expected a string, found \(item.typeName)")
      }
      return text
    }
  case let other:
    throw NodeFailure(
      "\(context.nodeName): in: expected text or a JSON array of strings, found \(other.portType)")
  }
}

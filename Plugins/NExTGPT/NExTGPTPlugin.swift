import Foundation
import MMCore
import MMGraph
import MMModels
import MMWeights

/// NExT-GPT nodes (`nextgpt.*`): its linear input projection, which turns one shared-space
/// embedding (ImageBind's audio, image or video vector) into one soft token for `llm.chat`.
/// Registered through `MMBuiltins`.
public enum NExTGPTPlugin: NodePlugin {
  public static let name = "nextgpt"

  public static let descriptors: [NodeDescriptor] = [projectionDescriptor]

}

/// Projections loaded once per process, file and key prefix.
private let loaded = LoadedModels<NExTGPTProjection>()

func projection(_ path: String, prefix: String) throws -> NExTGPTProjection {
  try loaded(path + "#" + prefix) {
    try NExTGPTProjection(weights: try openWeightStore(path: path), prefix: prefix)
  }
}

/// [embedding, hidden] read from the weight's header, without loading it.
func projectionShape(_ options: NodeOptions) -> (embedding: Int, hidden: Int)? {
  let prefix = options.string("prefix")
  guard let store = try? openWeightStore(path: options.string("model")),
    let shape = try? store.shape(of: prefix.isEmpty ? "weight" : prefix + ".weight"), shape.count == 2
  else { return nil }
  return (shape[1], shape[0])
}

/// embedding: one vector [1, E] (ImageBind's `raw` output, as NExT-GPT feeds it) → embeddings:
/// one soft token [1, hidden].
let projectionDescriptor = NodeDescriptor(
  type: "nextgpt.projection",
  doc:
    "NExT-GPT's input projection (llama_proj): one shared-space embedding → one soft token for llm.chat's media input.",
  example: exampleNode(
    "nextgpt.projection", inputs: [("embedding", "embed.raw")],
    options: [("model", "\"models/nextgpt/projection.safetensors\"")]),
  inputs: [PortSpec("embedding", .any, doc: "one vector [1, E]: an embedding or a tensor")],
  outputs: [
    PortSpec("embeddings", .tensor(dtype: .f32, shape: [.fixed(1), .symbol("hidden")]), doc: "[1, hidden]")
  ],
  options: [
    OptionSpec(
      "model", .path, doc: "a safetensors file holding the projection (NExT-GPT: llama_proj.weight, .bias)"),
    OptionSpec("prefix", .string, default: .string("llama_proj"), doc: "the key prefix of the two tensors"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    let shape = projectionShape(options)
    var width: Int?
    switch inputs["embedding"] {
    case nil, .any?: break
    case .embedding(_, let dimension, _)?: width = dimension
    case .tensor(_, let dims)?:
      if let dims, dims.count == 2, case .fixed(let n) = dims[1] { width = n }
    case let other?:
      throw TypeRuleError(port: "embedding", expected: "an embedding or tensor [1, E]", found: "\(other)")
    }
    if let shape, let width, width != shape.embedding {
      throw TypeRuleError(
        port: "embedding", expected: "vectors of width \(shape.embedding) (\(options.string("model")))",
        found: "width \(width)")
    }
    let hidden: MMGraph.Dimension = shape.map { .fixed($0.hidden) } ?? .symbol("hidden")
    return ["embeddings": .tensor(dtype: .f32, shape: [.fixed(1), hidden])]
  },
  filesRead: { options in [options.string("model")] },
  make: { options in
    let (path, prefix) = (options.string("model"), options.string("prefix"))
    return FunctionNode { context in
      let vectors: Tensor
      switch try context.required("embedding") {
      case .embedding(let embedding): vectors = embedding.vectors
      case .tensor(let tensor): vectors = tensor
      case let other:
        throw NodeFailure(
          "\(context.nodeName): input 'embedding' expected an embedding, found \(other.portType)")
      }
      let model: NExTGPTProjection
      do { model = try projection(path, prefix: prefix) } catch {
        throw NodeFailure("\(context.nodeName): cannot load the projection: \(error)")
      }
      guard vectors.rank == 2, vectors.shape[0] == 1, vectors.shape[1] == model.embeddingWidth else {
        throw NodeFailure(
          "\(context.nodeName): input 'embedding' is \(shapeText(vectors.shape)), expected one vector [1, \(model.embeddingWidth)] (\(path))"
        )
      }
      context.emit("embeddings", .tensor(try context.named { try model(vectors) }))
    }
  })

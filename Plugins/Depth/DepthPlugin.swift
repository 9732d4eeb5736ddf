import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN

/// `imagebind.depth`: ImageBind's depth encoder as a node, added without touching the core —
/// its encoder (DepthEncoder.swift) and this node use only the public API of
/// MMModels, MMNN and MMGraph. Registered through `MMBuiltins`.
public enum DepthPlugin: NodePlugin {
  public static let name = "depth"

  public static let descriptors: [NodeDescriptor] = [
    NodeDescriptor(
      type: "imagebind.depth",
      doc: "ImageBind's depth encoder: disparity maps [1, 224, 224] or [N, 1, 224, 224] → unit embeddings.",
      example: exampleNode("imagebind.depth", inputs: [("in", "$depth")]),
      inputs: [PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: "[1, H, W] or [N, 1, H, W]")],
      outputs: [
        PortSpec(
          "out", .embedding(space: "imagebind", dimension: nil, form: .unit), doc: "[count, E] unit vectors"),
        PortSpec("logit_scale", .tensor(dtype: .f32, shape: [.fixed(1)]), doc: "ImageBind's multiplier (5)"),
      ],
      options: [
        OptionSpec(
          "weights", .path, default: .string("~/.cache/mmgraph/models/imagebind/imagebind_huge.safetensors"),
          doc: "converted ImageBind weights (Scripts/convert_imagebind.py)"),
        OptionSpec(
          "config", .string, default: .string(""), doc: "its JSON configuration (empty: the .json beside it)"),
      ],
      filesRead: { options in [(options.string("weights") as NSString).expandingTildeInPath] },
      make: { options in DepthNode(options) })
  ]

}

final class DepthNode: Node {
  let weights: String
  let config: String?

  init(_ options: NodeOptions) {
    weights = (options.string("weights") as NSString).expandingTildeInPath
    let config = options.string("config")
    self.config = config.isEmpty ? nil : (config as NSString).expandingTildeInPath
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let input = try context.tensor("in")
    let encoder: ImageBindEncoder
    let vectors: Tensor
    do {
      encoder = try ImageBindCheckpoint.shared(weights, configurationPath: config).encoder("depth") {
        (store, c) throws(ModelError) in try .depth(store, configuration: c)
      }
      vectors = try encoder.unitEmbeddings(input)
    } catch {
      throw NodeFailure("\(context.nodeName): \(error)")
    }
    context.emit("out", .embedding(Embedding(vectors: vectors, space: "imagebind", form: .unit)))
    context.emit("logit_scale", .tensor(Tensor([encoder.postprocessor.logitScale ?? 1], shape: [1])))
    return .done
  }
}

import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN

/// `imagebind.imu`: ImageBind's IMU encoder as a node, added without touching the core —
/// its preprocessor (IMUPreprocessor.swift) and this node use only the public API of
/// MMModels, MMNN and MMGraph. Registered through `MMBuiltins`.
public enum IMUPlugin: NodePlugin {
  public static let name = "imu"

  public static let descriptors: [NodeDescriptor] = [
    NodeDescriptor(
      type: "imagebind.imu",
      doc: "ImageBind's IMU encoder: accelerometer + gyroscope [6, 2000] or [N, 6, 2000] → unit embeddings.",
      example: exampleNode("imagebind.imu", inputs: [("in", "$imu")]),
      inputs: [PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: "[6, 2000] or [N, 6, 2000]")],
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
      make: { options in IMUNode(options) })
  ]

}

final class IMUNode: Node {
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
      encoder = try ImageBindCheckpoint.shared(weights, configurationPath: config).encoder("imu") {
        (store, c) throws(ModelError) in try .imu(store, configuration: c)
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

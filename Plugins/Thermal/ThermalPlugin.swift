import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN

/// `imagebind.thermal`: ImageBind's thermal encoder as a node, added without touching the core —
/// its encoder (ThermalEncoder.swift) and this node use only the public API of
/// MMModels, MMNN and MMGraph. Registered through `MMBuiltins`.
public enum ThermalPlugin: NodePlugin {
  public static let name = "thermal"

  public static let descriptors: [NodeDescriptor] = [
    unitEncoderDescriptor(
      type: "imagebind.thermal",
      doc: "ImageBind's thermal encoder: thermal images [1, 224, 224] or [N, 1, 224, 224] → unit embeddings.",
      inputDoc: "[1, H, W] or [N, 1, H, W]", space: "imagebind", scaleDoc: "ImageBind's multiplier (10)",
      options: weightFileOptions(
        default: "~/.cache/mmgraph/models/imagebind/imagebind_huge.safetensors",
        doc: "converted ImageBind weights (Scripts/convert_imagebind.py)")
    ) { weights, config in
      let encoder = try ImageBindCheckpoint.shared(weights, configurationPath: config).encoder("thermal") {
        (store, c) throws(ModelError) in try .thermal(store, configuration: c)
      }
      return { input in (try encoder.unitEmbeddings(input), encoder.postprocessor.logitScale ?? 1) }
    }
  ]
}

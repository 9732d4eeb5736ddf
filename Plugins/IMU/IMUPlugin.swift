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
    unitEncoderDescriptor(
      type: "imagebind.imu",
      doc: "ImageBind's IMU encoder: accelerometer + gyroscope [6, 2000] or [N, 6, 2000] → unit embeddings.",
      inputDoc: "[6, 2000] or [N, 6, 2000]", space: "imagebind", scaleDoc: "ImageBind's multiplier (5)",
      options: weightFileOptions(
        default: "~/.cache/mmgraph/models/imagebind/imagebind_huge.safetensors",
        doc: "converted ImageBind weights (Scripts/convert_imagebind.py)")
    ) { weights, config in
      let encoder = try ImageBindCheckpoint.shared(weights, configurationPath: config).encoder("imu") {
        (store, c) throws(ModelError) in try .imu(store, configuration: c)
      }
      return { input in (try encoder.unitEmbeddings(input), encoder.postprocessor.logitScale ?? 1) }
    }
  ]
}

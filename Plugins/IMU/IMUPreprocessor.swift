import MMCore
import MMModels
import MMNN
import MMWeights

/// ImageBind's IMU preprocessor (`modality_preprocessors.imu`, `IMUPreprocessor`): the signal
/// [6, 2000] (accelerometer and gyroscope) cut into patches of 8 samples —
/// `imu.unfold(-1, 8, 8).permute(0, 2, 1, 3).reshape(B, 250, 48)`, so feature c·8 + k of patch t
/// is x[c, 8t + k] — then `Linear(48, D, bias=False)` (`imu_stem.proj`), LayerNorm (eps 1e-5,
/// `imu_stem.norm_layer`), CLS token, learned positions (`pos_embed` [1, 251, D]). Built only
/// from MMModels' and MMNN's public API.
///
/// input: [batch, channels, length] → [batch, 1 + length/8, D]
public struct IMUPreprocessor: ImageBindPreprocessor {
  public let projection: Linear
  public let norm: LayerNorm
  public let classAndPositions: ImageBindClassAndPositions
  public let kernel: Int
  public let channels: Int
  public let length: Int

  public init(_ scope: ParameterScope, configuration c: ImageBindConfiguration) throws(ModelError) {
    let d = c.imu.embedDim
    (kernel, channels, length) = (c.imuKernel, c.imuChannels, c.imuLength)
    projection = try scope.linear("imu_stem.proj", inputs: kernel * channels, outputs: d, bias: false)
    norm = try scope.layerNorm("imu_stem.norm_layer", dim: d)
    classAndPositions = try ImageBindClassAndPositions(
      scope, positionsName: "pos_embed", patches: length / kernel, dim: d)
  }

  public var embedDim: Int { projection.outputs }
  public var itemRank: Int { 2 }

  public func callAsFunction(_ input: Tensor) throws(ModelError) -> ImageBindTokens {
    guard input.dtype == .f32, input.rank == 3, input.shape[1] == channels, input.shape[2] == length else {
      throw .invalidInput(
        "imu expects [batch, \(channels), \(length)] f32, got \(input.dtype) \(shapeText(input.shape))")
    }
    let (batch, patches) = (input.shape[0], length / kernel)
    let x = input.contiguous()
    let features = Tensor(zeros: [batch, patches, channels * kernel])
    let (source, target) = (x.pointer(Float.self), features.pointer(Float.self))
    for b in 0..<batch {
      for t in 0..<patches {
        for c in 0..<channels {
          (target + ((b * patches + t) * channels + c) * kernel).update(
            from: source + (b * channels + c) * length + t * kernel, count: kernel)
        }
      }
    }
    let tokens = norm(try projection(features))
    return ImageBindTokens(tokens: try classAndPositions(tokens, modality: "imu"))
  }
}

extension ImageBindEncoder {
  /// ImageBind's IMU encoder: the preprocessor above, a trunk with bias_kv and no pre-LayerNorm,
  /// the CLS head (`modality_heads.imu.0`, `.3`; the Dropout at `.2` is the identity at
  /// inference), normalization times 5.
  public static func imu(_ store: any WeightStore, configuration c: ImageBindConfiguration) throws(ModelError)
    -> ImageBindEncoder
  {
    try assemble(
      store, modality: "imu", sizes: c.imu, outEmbedDim: c.outEmbedDim,
      preprocessor: { (scope) throws(ModelError) in try IMUPreprocessor(scope, configuration: c) },
      biasKV: true, head: ("0", "3"), scaled: true, defaultScale: 5)
  }
}

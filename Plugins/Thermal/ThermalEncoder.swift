import MMCore
import MMModels
import MMNN
import MMWeights

extension ImageBindEncoder {
  /// ImageBind's thermal encoder: an `RGBDTPreprocessor` on the one-channel thermal image (`rgbt_stem`,
  /// Conv2d kernel = stride = 16, no bias; LayerNorm; CLS token; learned positions), a trunk with bias_kv and no
  /// pre-LayerNorm, the CLS head (`modality_heads.thermal.0`, `.2`), normalization times 10.
  public static func thermal(_ store: any WeightStore, configuration c: ImageBindConfiguration)
    throws(ModelError)
    -> ImageBindEncoder
  {
    let side = c.singleChannelImageSize / c.thermalKernel
    return try assemble(
      store, modality: "thermal", sizes: c.thermal, outEmbedDim: c.outEmbedDim,
      preprocessor: { (scope) throws(ModelError) in
        try ImageBindSingleChannelPreprocessor(
          scope, modality: "thermal", stem: "rgbt_stem", dim: c.thermal.embedDim, kernel: c.thermalKernel,
          stride: c.thermalKernel, patches: side * side)
      }, biasKV: true, scaled: true, defaultScale: 10)
  }
}

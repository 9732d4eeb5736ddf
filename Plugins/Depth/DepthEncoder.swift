import MMCore
import MMModels
import MMNN
import MMWeights

extension ImageBindEncoder {
  /// ImageBind's depth encoder: an `RGBDTPreprocessor` on the one-channel disparity map (`depth_stem`,
  /// Conv2d kernel = stride = 16, no bias; LayerNorm; CLS token; learned positions), a trunk with bias_kv and no
  /// pre-LayerNorm, the CLS head (`modality_heads.depth.0`, `.2`), normalization times 5.
  public static func depth(_ store: any WeightStore, configuration c: ImageBindConfiguration)
    throws(ModelError)
    -> ImageBindEncoder
  {
    let side = c.singleChannelImageSize / c.depthKernel
    return try assemble(
      store, modality: "depth", sizes: c.depth, outEmbedDim: c.outEmbedDim,
      preprocessor: { (scope) throws(ModelError) in
        try ImageBindSingleChannelPreprocessor(
          scope, modality: "depth", stem: "depth_stem", dim: c.depth.embedDim, kernel: c.depthKernel,
          stride: c.depthKernel, patches: side * side)
      }, biasKV: true, scaled: true, defaultScale: 5)
  }
}

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
    let root = ParameterScope(store)
    let side = c.singleChannelImageSize / c.depthKernel
    return ImageBindEncoder(
      name: "depth",
      preprocessor: try ImageBindSingleChannelPreprocessor(
        root.child("modality_preprocessors.depth"), modality: "depth", stem: "depth_stem",
        dim: c.depth.embedDim,
        kernel: c.depthKernel, stride: c.depthKernel, patches: side * side),
      trunk: try ImageBindTransformer(
        root.child("modality_trunks.depth"), sizes: c.depth, preLayerNorm: false, biasKV: true),
      head: try ImageBindHead(
        root.child("modality_heads.depth"), normName: "0", projectionName: "2", dim: c.depth.embedDim,
        outDim: c.outEmbedDim),
      postprocessor: try ImageBindPostprocessor(
        root.child("modality_postprocessors.depth"), scaled: true, defaultScale: 5))
  }
}

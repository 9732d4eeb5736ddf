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
    let root = ParameterScope(store)
    let side = c.singleChannelImageSize / c.thermalKernel
    return ImageBindEncoder(
      name: "thermal",
      preprocessor: try ImageBindSingleChannelPreprocessor(
        root.child("modality_preprocessors.thermal"), modality: "thermal", stem: "rgbt_stem",
        dim: c.thermal.embedDim,
        kernel: c.thermalKernel, stride: c.thermalKernel, patches: side * side),
      trunk: try ImageBindTransformer(
        root.child("modality_trunks.thermal"), sizes: c.thermal, preLayerNorm: false, biasKV: true),
      head: try ImageBindHead(
        root.child("modality_heads.thermal"), normName: "0", projectionName: "2", dim: c.thermal.embedDim,
        outDim: c.outEmbedDim),
      postprocessor: try ImageBindPostprocessor(
        root.child("modality_postprocessors.thermal"), scaled: true, defaultScale: 10))
  }
}

import MMCore
import MMModels
import MMNN
import MMWeights

/// ImageBind's thermal preprocessor (`modality_preprocessors.thermal`, a `ThermalPreprocessor`:
/// an `RGBDTPreprocessor` on one channel): `Conv2d(1, D, kernel = stride = 16, bias=False)` on the
/// thermal image (`rgbt_stem.proj`), LayerNorm (eps 1e-5, `rgbt_stem.norm_layer`), CLS token, learned
/// positions (`pos_embedding_helper.pos_embed`). Built only from MMModels' and MMNN's public API.
///
/// input: [batch, 1, H, W] → [batch, 1 + (H/16)·(W/16), D]
public struct ThermalPreprocessor: ImageBindPreprocessor {
  public let stem: Conv
  public let norm: LayerNorm
  public let classAndPositions: ImageBindClassAndPositions

  public init(_ scope: ParameterScope, configuration c: ImageBindConfiguration) throws(ModelError) {
    let (d, k) = (c.thermal.embedDim, c.thermalKernel)
    stem = try scope.conv("rgbt_stem.proj", inChannels: 1, outChannels: d, kernel: [k, k], bias: false)
    norm = try scope.layerNorm("rgbt_stem.norm_layer", dim: d)
    let side = c.singleChannelImageSize / k
    classAndPositions = try ImageBindClassAndPositions(
      scope, positionsName: "pos_embedding_helper.pos_embed", patches: side * side, dim: d)
  }

  public var embedDim: Int { stem.outChannels }
  public var itemRank: Int { 3 }

  public func callAsFunction(_ input: Tensor) throws(ModelError) -> ImageBindTokens {
    guard input.dtype == .f32, input.rank == 4, input.shape[1] == 1 else {
      throw .invalidInput(
        "thermal expects [batch, 1, H, W] f32, got \(input.dtype) \(shapeText(input.shape))")
    }
    return ImageBindTokens(
      tokens: try classAndPositions(norm(try stem(input).patchTokens()), modality: "thermal"))
  }
}

extension ImageBindEncoder {
  /// ImageBind's thermal encoder: the preprocessor above, a trunk with bias_kv and no
  /// pre-LayerNorm, the CLS head (`modality_heads.thermal.0`, `.2`), normalization times 10.
  public static func thermal(_ store: any WeightStore, configuration c: ImageBindConfiguration)
    throws(ModelError)
    -> ImageBindEncoder
  {
    let root = ParameterScope(store)
    return ImageBindEncoder(
      name: "thermal",
      preprocessor: try ThermalPreprocessor(root.child("modality_preprocessors.thermal"), configuration: c),
      trunk: try ImageBindTransformer(
        root.child("modality_trunks.thermal"), sizes: c.thermal, preLayerNorm: false, biasKV: true),
      head: try ImageBindHead(
        root.child("modality_heads.thermal"), normName: "0", projectionName: "2", dim: c.thermal.embedDim,
        outDim: c.outEmbedDim),
      postprocessor: try ImageBindPostprocessor(
        root.child("modality_postprocessors.thermal"), scaled: true, defaultScale: 10))
  }
}

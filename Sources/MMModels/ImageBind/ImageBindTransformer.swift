import Foundation
import MMCore
import MMKernels
import MMNN

/// ImageBind's trunk, `SimpleTransformer` of `BlockWithMasking` (transformer.py), as
/// `instantiate_trunk` builds it for every modality: an optional pre-transformer LayerNorm
/// (eps 1e-6; vision only), then pre-norm blocks — x += attn(norm_1(x)); x += mlp(norm_2(x)) —
/// with `nn.MultiheadAttention` (fused `in_proj_weight`, `add_bias_kv` for audio, depth, thermal
/// and IMU), LayerNorms of eps 1e-6, a GELU (erf) MLP 4× wide. ImageBind's trunk runs
/// sequence-first (`EinOpsRearrange("b l d -> l b d")` before, the inverse after); this one keeps
/// tokens batch-first, which is the same computation. No layer scale (ImageBind sets none) and no
/// drop-path (training only).
///
/// Checkpoint keys under `modality_trunks.<modality>`: `pre_transformer_layer.0.{weight,bias}`,
/// `blocks.N.attn.{in_proj_weight,in_proj_bias,out_proj.weight,out_proj.bias,bias_k,bias_v}`,
/// `blocks.N.norm_1.*`, `blocks.N.norm_2.*`, `blocks.N.mlp.fc1.*`, `blocks.N.mlp.fc2.*`.
public struct ImageBindTransformer: Sendable {
  public let sizes: ImageBindTrunkSizes
  /// `pre_transformer_layer.0` (a LayerNorm) or nil where ImageBind has `nn.Identity`.
  public let preNorm: LayerNorm?
  public let blocks: [PreNormTransformerBlock]

  /// Reads the trunk under `scope` (`modality_trunks.vision`). `preLayerNorm` and `biasKV` are
  /// ImageBind's per-modality choices (`pre_transformer_ln`, `add_bias_kv`).
  public init(
    _ scope: ParameterScope, sizes: ImageBindTrunkSizes, preLayerNorm: Bool, biasKV: Bool
  ) throws(ModelError) {
    let d = sizes.embedDim
    self.sizes = sizes
    preNorm = preLayerNorm ? try scope.layerNorm("pre_transformer_layer.0", dim: d, eps: 1e-6) : nil
    var blocks: [PreNormTransformerBlock] = []
    for index in 0..<sizes.blocks {
      let block = scope.child("blocks.\(index)")
      let attn = block.child("attn")
      // Weights are not pre-packed (`Linear.packed()`): on imagebind_huge's audio trunk that
      // makes each forward ~5 % faster but costs ~0.45 s once per process (340 MB packed), a
      // loss for one clip per run — the CLI's common case.
      let inProjection = Linear(
        weight: try attn.matrix("in_proj_weight", rows: 3 * d, columns: d),
        bias: try attn.floats("in_proj_bias", count: 3 * d))
      let bias: (k: [Float], v: [Float])? =
        biasKV
        ? (
          k: try attn.tensor("bias_k", shape: [1, 1, d]).floats(),
          v: try attn.tensor("bias_v", shape: [1, 1, d]).floats()
        ) : nil
      let attention = MultiHeadAttention(
        heads: sizes.heads, inProjection: inProjection,
        out: try attn.linear("out_proj", inputs: d, outputs: d), biasKV: bias)
      let mlp = MLP(
        fc1: try block.linear("mlp.fc1", inputs: d, outputs: 4 * d, activation: .gelu),
        fc2: try block.linear("mlp.fc2", inputs: 4 * d, outputs: d))
      blocks.append(
        PreNormTransformerBlock(
          norm1: try block.layerNorm("norm_1", dim: d, eps: 1e-6), attention: attention,
          norm2: try block.layerNorm("norm_2", dim: d, eps: 1e-6), mlp: mlp))
    }
    self.blocks = blocks
  }

  /// tokens: [batch, length, dim] → [batch, length, dim] (a new tensor; the input is not
  /// modified). `causal`: the text trunk's mask (query i sees keys ≤ i). Records
  /// `<name>.trunk.pre` (when there is a pre-LayerNorm) and `<name>.trunk.blocks.N`.
  public func callAsFunction(
    _ tokens: Tensor, causal: Bool = false, trace: ActivationTrace? = nil, name: String = "trunk"
  ) throws(ModelError) -> Tensor {
    guard tokens.dtype == .f32, tokens.rank == 3, tokens.shape[2] == sizes.embedDim else {
      throw .invalidInput(
        "\(name) trunk expects [batch, length, \(sizes.embedDim)] f32, got \(tokens.dtype) \(shapeText(tokens.shape))"
      )
    }
    var x = Tensor(copying: tokens)
    if let preNorm {
      x = preNorm(x)
      trace.record("\(name).trunk.pre", x)
    }
    for (index, block) in blocks.enumerated() {
      try block(x, causal: causal)
      trace.record("\(name).trunk.blocks.\(index)", x)
    }
    return x
  }
}

/// ImageBind's head for every modality: `LayerNorm(eps 1e-6)`, the token at one position per item
/// (`SelectElement(index=0)`, the CLS token; `SelectEOSAndProject`, the end-of-text token, for
/// text), `Linear(dim, out_embed_dim, bias=False)`. ImageBind normalizes the whole sequence then
/// selects (or selects then normalizes, for text); a LayerNorm acts on each token alone, so
/// selecting first is the same result for less work. IMU's `Dropout` is the identity at inference.
public struct ImageBindHead: Sendable {
  public let norm: LayerNorm
  public let projection: Linear

  /// `<scope>.<normName>.{weight,bias}` and `<scope>.<projectionName>.weight`: `0` and `2` for
  /// vision, audio, depth, thermal; `0` and `3` for IMU; `proj.0` and `proj.1` for text.
  public init(
    _ scope: ParameterScope, normName: String, projectionName: String, dim: Int, outDim: Int
  ) throws(ModelError) {
    norm = try scope.layerNorm(normName, dim: dim, eps: 1e-6)
    projection = try scope.linear(projectionName, inputs: dim, outputs: outDim, bias: false)
  }

  /// tokens: [batch, length, dim], one position per item → [batch, outDim].
  public func callAsFunction(_ tokens: Tensor, at positions: [Int]) throws(ModelError) -> Tensor {
    let (batch, length, dim) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
    guard positions.count == batch, positions.allSatisfy({ (0..<length).contains($0) }) else {
      throw .invalidInput("head: \(positions.count) positions in 0..<\(length) for a batch of \(batch)")
    }
    let source = tokens.contiguous()
    let selected = Tensor(zeros: [batch, dim])
    for (item, position) in positions.enumerated() {
      (selected.pointer(Float.self) + item * dim).update(
        from: source.pointer(Float.self) + (item * length + position) * dim, count: dim)
    }
    return try projection(norm(selected))
  }
}

/// ImageBind's postprocessor: `Normalize(dim=-1)` (x / max(‖x‖₂, 1e-12)), then for every modality
/// but vision `LearnableLogitScaling`: x · min(exp(log_logit_scale), max 100). The scale is a
/// learned parameter for text (1/0.07 at initialization) and a fixed buffer elsewhere (audio 20,
/// depth 5, thermal 10, IMU 5); both are in the checkpoint as
/// `modality_postprocessors.<modality>.1.log_logit_scale`.
public struct ImageBindPostprocessor: Sendable {
  /// The multiplier after normalization (nil: vision, normalization only).
  public let logitScale: Float?

  public init(logitScale: Float?) { self.logitScale = logitScale }

  /// `scope` is `modality_postprocessors.<modality>`; `scaled` says whether ImageBind has a
  /// `LearnableLogitScaling` there. The checkpoint's `1.log_logit_scale` (a scalar) is used;
  /// `defaultScale` (ImageBind's `logit_scale_init`) only when a converted file lacks it.
  public init(_ scope: ParameterScope, scaled: Bool, defaultScale: Float? = nil) throws(ModelError) {
    guard scaled else {
      logitScale = nil
      return
    }
    let name = "1.log_logit_scale"
    let logScale: Float
    if !scope.contains(name), let defaultScale {
      logScale = log(defaultScale)
    } else {
      let stored = try scope.tensor(name)
      guard stored.count == 1 else {
        throw .weights(
          path: scope.store.path, tensor: scope.key(name),
          problem: "shape \(shapeText(stored.shape)), expected a scalar")
      }
      logScale = stored.floats()[0]
    }
    logitScale = min(exp(logScale), 100)
  }

  /// x: [batch, dim] → unit rows times the logit scale.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    let dense = x.contiguous()
    let dim = dense.shape.last ?? 0
    let y = Tensor(zeros: dense.shape)
    let (source, target) = (dense.pointer(Float.self), y.pointer(Float.self))
    for row in 0..<(dim == 0 ? 0 : dense.count / dim) {
      var sum: Float = 0
      for i in 0..<dim { sum += source[row * dim + i] * source[row * dim + i] }
      let factor = (logitScale ?? 1) / max(sum.squareRoot(), 1e-12)
      for i in 0..<dim { target[row * dim + i] = source[row * dim + i] * factor }
    }
    return y
  }
}

import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// One `IdeficsPerceiverAttention` (`blocks.N.0`): the latents attend to the context and to
/// themselves. q from the normed latents, k and v from [normed context; normed latents]:
///
///     latents += output_proj(softmax(q_norm(q)·k_norm(k)ᵀ / √headDim) · v)
///
/// All projections are bias-free; the q/k norms (`qk_layer_norms_perceiver`) are LayerNorms
/// over each head's channels.
struct PerceiverAttention: Sendable {
  /// `context_layer_norm`, `latents_layer_norm`: [dim]
  let contextNorm, latentsNorm: LayerNorm
  /// `q_layer_norm`, `k_layer_norm`: [headDim], when enabled.
  let qNorm, kNorm: LayerNorm?
  /// `q_proj`, `k_proj`, `v_proj`: [heads·headDim, dim]; `output_proj`: [dim, heads·headDim]
  let qProj, kProj, vProj, outputProj: Linear
  let heads: Int
  let headDim: Int
}

/// One `IdeficsMLP` of the resampler (`blocks.N.1`): latents += c_proj(relu(fc(ln(latents)))),
/// `fc` [4·dim, dim] and `c_proj` [dim, 4·dim] without biases.
struct PerceiverFeedForward: Sendable {
  let norm: LayerNorm
  let fc, cProj: Linear
}

/// Hugging Face `IdeficsPerceiverResampler` (`model.perceiver_resampler.…`), Flamingo's
/// Perceiver Resampler: `latents` [n_latents, dim] learned queries run through `depth` blocks
/// of (attention over context + latents, MLP), then `layer_norm`. Any number of context
/// tokens — one image's patches, or several frames' patches concatenated — becomes a fixed
/// number of tokens.
public struct PerceiverResampler: Sendable {
  public let configuration: IdeficsConfiguration.Perceiver
  /// The width of the context and of the latents (`vision_config.embed_dim`).
  public let width: Int
  /// `latents`: [n_latents, dim]
  let latents: Tensor
  let blocks: [(attention: PerceiverAttention, feedForward: PerceiverFeedForward)]
  /// `layer_norm`: [dim]
  let finalNorm: LayerNorm

  /// `scope` is the resampler's prefix (`model.perceiver_resampler`); `width` the vision
  /// width (`IdeficsConfiguration.width`).
  public init(_ scope: ParameterScope, configuration c: IdeficsConfiguration.Perceiver, width d: Int)
    throws(ModelError)
  {
    configuration = c
    width = d
    let inner = c.headCount * c.headDim
    latents = try scope.tensor("latents", shape: [c.latentCount, d])
    var blocks: [(PerceiverAttention, PerceiverFeedForward)] = []
    for i in 0..<c.depth {
      let a = scope.child("blocks.\(i).0")
      let f = scope.child("blocks.\(i).1")
      let attention = PerceiverAttention(
        contextNorm: try a.layerNorm("context_layer_norm", dim: d),
        latentsNorm: try a.layerNorm("latents_layer_norm", dim: d),
        qNorm: c.qkLayerNorms ? try a.layerNorm("q_layer_norm", dim: c.headDim) : nil,
        kNorm: c.qkLayerNorms ? try a.layerNorm("k_layer_norm", dim: c.headDim) : nil,
        qProj: try a.linear("q_proj", inputs: d, outputs: inner, bias: false),
        kProj: try a.linear("k_proj", inputs: d, outputs: inner, bias: false),
        vProj: try a.linear("v_proj", inputs: d, outputs: inner, bias: false),
        outputProj: try a.linear("output_proj", inputs: inner, outputs: d, bias: false),
        heads: c.headCount, headDim: c.headDim)
      let feedForward = PerceiverFeedForward(
        norm: try f.layerNorm("ln", dim: d),
        fc: try f.linear("fc", inputs: d, outputs: 4 * d, bias: false, activation: .relu),
        cProj: try f.linear("c_proj", inputs: 4 * d, outputs: d, bias: false))
      blocks.append((attention, feedForward))
    }
    self.blocks = blocks
    finalNorm = try scope.layerNorm("layer_norm", dim: d)
  }

  /// features: [n, dim] f32 (n ≥ 1: one image's vision tokens, or several frames' tokens
  /// concatenated) → [n_latents, dim]. `trace` names: `perceiver_resampler.blocks.{i}`,
  /// `perceiver_resampler.layer_norm`.
  public func callAsFunction(_ features: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let d = width
    guard features.dtype == .f32, features.rank == 2, features.shape[1] == d, features.shape[0] > 0 else {
      throw .invalidInput(
        "Perceiver Resampler expects features [n, \(d)] f32 with n ≥ 1, got \(features.dtype) "
          + shapeText(features.shape))
    }
    let n = features.shape[0]
    let m = configuration.latentCount
    let x = Tensor(latents.floats(), shape: [m, d])
    for (i, block) in blocks.enumerated() {
      let a = block.attention
      let context = a.contextNorm(features)
      let normed = a.latentsNorm(x)
      // [context; latents]: [n + m, dim]
      let both = Tensor(zeros: [n + m, d])
      both.pointer(Float.self).update(from: context.pointer(Float.self), count: n * d)
      (both.pointer(Float.self) + n * d).update(from: normed.pointer(Float.self), count: m * d)
      var q = try a.qProj(normed)
      var k = try a.kProj(both)
      let v = try a.vProj(both)
      let inner = a.heads * a.headDim
      do {
        if let qNorm = a.qNorm { q = try qNorm(q.reshaped([m * a.heads, a.headDim])).reshaped([m, inner]) }
        if let kNorm = a.kNorm {
          k = try kNorm(k.reshaped([(n + m) * a.heads, a.headDim])).reshaped([n + m, inner])
        }
      } catch { throw .invalidInput("\(error)") }
      let attended = Tensor(zeros: [m, inner])
      let layout = AttentionLayout.tokenMajor(heads: a.heads, headDim: a.headDim)
      scaledDotProductAttention(
        q: q.pointer(Float.self), k: k.pointer(Float.self), v: v.pointer(Float.self),
        out: attended.pointer(Float.self), heads: a.heads, kvHeads: a.heads, queryLength: m, keyLength: n + m,
        headDim: a.headDim, qLayout: layout, kLayout: layout, vLayout: layout, outLayout: layout)
      a.outputProj.accumulate(attended, into: x)
      let f = block.feedForward
      let hidden = try f.fc(f.norm(x))
      f.cProj.accumulate(hidden, into: x)
      trace.record("perceiver_resampler.blocks.\(i)", x)
    }
    let out = finalNorm(x)
    trace.record("perceiver_resampler.layer_norm", out)
    return out
  }
}

import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// Hugging Face `Blip2VisionModel` / `InstructBlipVisionModel` (`vision_model.…`, EVA-CLIP's ViT
/// as BLIP-2 uses it): a convolution patch stem with a bias (`embeddings.patch_embedding`, one
/// GEMM on the unfolded patches), the class token (`embeddings.class_embedding` [1, 1, d]) and
/// learned positions (`embeddings.position_embedding` [1, patches + 1, d]); pre-norm blocks
/// `encoder.layers.{i}` with `layer_norm1`, `self_attn.qkv` (one fused [3d, d] projection),
/// `self_attn.projection`, `layer_norm2`, `mlp.fc1`/`fc2`; and `post_layernorm` on every token
/// (the Q-Former cross-attends to all of them). No pre-norm before the encoder, unlike CLIP.
///
/// The qkv bias is `self_attn.qkv.bias` [3d] as transformers 5 saves it, or the original
/// checkpoints' `self_attn.q_bias` and `self_attn.v_bias` [d] with a zero key bias between them.
public struct Blip2VisionModel: Sendable {
  public let configuration: BLIP2Configuration.Vision
  /// The stem as a matrix [d, 3·p·p] (the convolution weight's memory as stored) with its bias.
  let patchEmbedding: Linear
  let classEmbedding: [Float]
  /// [patches + 1, d].
  let positionEmbedding: Tensor
  let layers: [PreNormTransformerBlock]
  let postLayerNorm: LayerNorm

  /// `scope` is the tower's prefix (`vision_model`).
  public init(_ scope: ParameterScope, configuration: BLIP2Configuration.Vision) throws(ModelError) {
    let c = configuration
    let (d, p) = (c.hiddenSize, c.patchSize)
    self.configuration = c
    let conv = try scope.stored("embeddings.patch_embedding.weight", shape: [d, 3, p, p])
    // f32, f16 and bf16 stay as stored (the GEMM widens them); other float types become f32.
    let stem = [.f32, .f16, .bf16].contains(conv.dtype) ? conv.contiguous() : conv.converted(to: .f32)
    let flat: Tensor
    do { flat = try stem.reshaped([d, 3 * p * p]) } catch { throw .invalidInput("\(error)") }
    patchEmbedding = Linear(
      weight: StoredMatrix(flat), bias: try scope.floats("embeddings.patch_embedding.bias", count: d),
      packed: true)
    classEmbedding = try scope.tensor("embeddings.class_embedding", shape: [1, 1, d]).floats()
    do {
      positionEmbedding = try scope.tensor("embeddings.position_embedding", shape: [1, c.tokenCount, d])
        .reshaped([c.tokenCount, d])
    } catch let error as ModelError { throw error } catch { throw .invalidInput("\(error)") }
    var layers: [PreNormTransformerBlock] = []
    for i in 0..<c.layerCount {
      let layer = scope.child("encoder.layers.\(i)")
      let attention = layer.child("self_attn")
      let qkvWeight = try attention.matrix("qkv.weight", rows: 3 * d, columns: d)
      var qkvBias: [Float]? = nil
      if attention.contains("qkv.bias") {
        qkvBias = try attention.floats("qkv.bias", count: 3 * d)
      } else if c.qkvBias {
        let q = try attention.floats("q_bias", count: d)
        let v = try attention.floats("v_bias", count: d)
        qkvBias = q + [Float](repeating: 0, count: d) + v
      }
      let fc1 = try layer.linear("mlp.fc1", inputs: d, outputs: c.intermediateSize, activation: c.activation)
      layers.append(
        PreNormTransformerBlock(
          norm1: try layer.layerNorm("layer_norm1", dim: d, eps: c.layerNormEps),
          attention: MultiHeadAttention(
            heads: c.headCount, inProjection: Linear(weight: qkvWeight, bias: qkvBias, packed: true),
            out: try attention.linear("projection", inputs: d, outputs: d).packed()),
          norm2: try layer.layerNorm("layer_norm2", dim: d, eps: c.layerNormEps),
          mlp: MLP(
            fc1: fc1.packed(),
            fc2: try layer.linear("mlp.fc2", inputs: c.intermediateSize, outputs: d).packed()
          )))
    }
    self.layers = layers
    postLayerNorm = try scope.layerNorm("post_layernorm", dim: d, eps: c.layerNormEps)
  }

  /// pixels: [3, size, size] or [1, 3, size, size] f32, as `BlipImageProcessor` gives them →
  /// `last_hidden_state` [patches + 1, d] (class token first, every row after `post_layernorm`).
  /// `trace` names: `vision.embeddings`, `vision.layers.{i}`, `vision`.
  public func callAsFunction(_ pixels: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let c = configuration
    let (size, p, d) = (c.imageSize, c.patchSize, c.hiddenSize)
    let shape = pixels.rank == 4 && pixels.shape[0] == 1 ? Array(pixels.shape.dropFirst()) : pixels.shape
    guard pixels.dtype == .f32, shape == [3, size, size] else {
      throw .invalidInput(
        "BLIP-2 vision expects pixels [3, \(size), \(size)] f32, got \(pixels.dtype) \(shapeText(pixels.shape))"
      )
    }
    let image = pixels.contiguous()
    let (grid, patches, columns) = (c.gridSize, c.patchCount, 3 * p * p)
    // Unfold: row (gy, gx) holds pixels[ch, gy·p + ky, gx·p + kx] in (ch, ky, kx) order, the order
    // of the convolution weight's memory.
    let unfolded = Tensor(zeros: [patches, columns])
    let (source, target) = (image.pointer(Float.self), unfolded.pointer(Float.self))
    for gy in 0..<grid {
      for gx in 0..<grid {
        let row = target + (gy * grid + gx) * columns
        for ch in 0..<3 {
          for ky in 0..<p {
            (row + (ch * p + ky) * p).update(
              from: source + (ch * size + gy * p + ky) * size + gx * p, count: p)
          }
        }
      }
    }
    // embeddings = [class; patches·Wᵀ + b] + positions: positions first, the GEMM accumulates.
    let x = Tensor(zeros: [1, c.tokenCount, d])
    let e = x.pointer(Float.self)
    e.update(from: positionEmbedding.pointer(Float.self), count: c.tokenCount * d)
    for j in 0..<d { e[j] += classEmbedding[j] }
    patchEmbedding.apply(target, rows: patches, into: e + d, accumulate: true)
    trace.record("vision.embeddings", x)
    for (i, layer) in layers.enumerated() {
      try layer(x)
      trace.record("vision.layers.\(i)", x)
    }
    let out = postLayerNorm(x)
    do {
      let result = try out.reshaped([c.tokenCount, d])
      trace.record("vision", result)
      return result
    } catch { throw .invalidInput("\(error)") }
  }
}

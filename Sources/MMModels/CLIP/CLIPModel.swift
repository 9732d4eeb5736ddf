import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// The transformer of one CLIP tower: `encoder.layers.{i}` pre-norm blocks with
/// `layer_norm1`, `self_attn.{q,k,v,out}_proj`, `layer_norm2`, `mlp.fc1`/`fc2`. q, k and v are
/// stacked into one projection, and every weight is also kept packed for the GEMM micro-kernel
/// (the encoder always runs on many tokens: packing once saves re-packing W on every call).
struct CLIPEncoder: Sendable {
  let layers: [PreNormTransformerBlock]

  init(_ scope: ParameterScope, _ tower: CLIPConfiguration.Tower) throws(ModelError) {
    let d = tower.hiddenSize
    var layers: [PreNormTransformerBlock] = []
    for i in 0..<tower.layerCount {
      let layer = scope.child("layers.\(i)")
      let attention = layer.child("self_attn")
      var projections: [Linear] = []
      for name in ["q_proj", "k_proj", "v_proj"] {
        projections.append(try attention.linear(name, inputs: d, outputs: d))
      }
      guard let qkv = Linear.stacked(projections) else {
        throw .invalidInput("CLIP: cannot stack the q/k/v projections of \(attention.prefix)")
      }
      let fc1 = try layer.linear(
        "mlp.fc1", inputs: d, outputs: tower.intermediateSize, activation: tower.activation)
      layers.append(
        PreNormTransformerBlock(
          norm1: try layer.layerNorm("layer_norm1", dim: d, eps: tower.layerNormEps),
          attention: MultiHeadAttention(
            heads: tower.headCount, inProjection: qkv.packed(),
            out: try attention.linear("out_proj", inputs: d, outputs: d).packed()),
          norm2: try layer.layerNorm("layer_norm2", dim: d, eps: tower.layerNormEps),
          mlp: MLP(
            fc1: fc1.packed(),
            fc2: try layer.linear("mlp.fc2", inputs: tower.intermediateSize, outputs: d).packed())))
    }
    self.layers = layers
  }

  /// x: [batch, length, dim], updated in place; `trace` gets `<name>.encoder.layers.{i}`.
  func callAsFunction(_ x: Tensor, causal: Bool, trace: ActivationTrace?, name: String) throws(ModelError) {
    for (i, layer) in layers.enumerated() {
      try layer(x, causal: causal)
      trace.record("\(name).encoder.layers.\(i)", x)
    }
  }
}

/// Hugging Face `CLIPVisionTransformer` (`vision_model.…`): a bias-free convolution patch stem
/// (`embeddings.patch_embedding`, as one GEMM on the unfolded patches), the class token
/// (`embeddings.class_embedding`) and learned positions (`embeddings.position_embedding`),
/// `pre_layrnorm` (HF's spelling), the encoder, and `post_layernorm` on the class token.
public struct CLIPVisionModel: Sendable {
  public let configuration: CLIPConfiguration.Vision
  /// The convolution as a matrix [dim, channels·patch·patch] (its weight's memory as stored).
  let patchEmbedding: Linear
  let classEmbedding: [Float]
  /// [patches + 1, dim].
  let positionEmbedding: Tensor
  let preNorm: LayerNorm
  let encoder: CLIPEncoder
  let postNorm: LayerNorm

  /// `scope` is the tower's prefix (`vision_model`).
  public init(_ scope: ParameterScope, configuration: CLIPConfiguration.Vision) throws(ModelError) {
    let c = configuration
    let d = c.tower.hiddenSize
    let p = c.patchSize
    self.configuration = c
    let conv = try scope.stored("embeddings.patch_embedding.weight", shape: [d, c.channelCount, p, p])
    let flat: Tensor
    do { flat = try conv.contiguous().reshaped([d, c.channelCount * p * p]) } catch {
      throw .invalidInput("\(error)")
    }
    patchEmbedding = Linear(weight: StoredMatrix(flat), bias: nil, packed: true)
    classEmbedding = try scope.floats("embeddings.class_embedding", count: d)
    positionEmbedding = try scope.tensor(
      "embeddings.position_embedding.weight", shape: [c.patchCount + 1, d])
    preNorm = try scope.layerNorm("pre_layrnorm", dim: d, eps: c.tower.layerNormEps)
    encoder = try CLIPEncoder(scope.child("encoder"), c.tower)
    postNorm = try scope.layerNorm("post_layernorm", dim: d, eps: c.tower.layerNormEps)
  }

  /// The encoder's input: patch embeddings, class token and positions, then `pre_layrnorm`:
  /// pixels [batch, channels, size, size] → [batch, patches + 1, dim] (HF's `hidden_states[0]`).
  func embeddings(_ pixels: Tensor, trace: ActivationTrace?) throws(ModelError) -> Tensor {
    let c = configuration
    let (size, p, channels, d) = (c.imageSize, c.patchSize, c.channelCount, c.tower.hiddenSize)
    let images: Tensor
    do {
      images = try (pixels.rank == 3 ? pixels.reshaped([1] + pixels.shape) : pixels).contiguous()
    } catch { throw .invalidInput("\(error)") }
    guard images.dtype == .f32, images.rank == 4, images.shape[1] == channels, images.shape[2] == size,
      images.shape[3] == size, images.shape[0] > 0
    else {
      throw .invalidInput(
        "CLIP vision expects pixels [batch, \(channels), \(size), \(size)] f32, got \(images.dtype) "
          + shapeText(pixels.shape))
    }
    let batch = images.shape[0]
    let grid = c.gridSize
    let patches = c.patchCount
    let tokens = patches + 1
    let columns = channels * p * p
    // Unfold: row (n, gy, gx) holds pixels[n, ch, gy·p + ky, gx·p + kx] in (ch, ky, kx) order,
    // the order of the convolution weight's memory.
    let unfolded = Tensor(zeros: [batch * patches, columns])
    let source = images.pointer(Float.self)
    let target = unfolded.pointer(Float.self)
    for n in 0..<batch {
      for gy in 0..<grid {
        for gx in 0..<grid {
          let row = target + ((n * grid + gy) * grid + gx) * columns
          for ch in 0..<channels {
            for ky in 0..<p {
              let from = source + ((n * channels + ch) * size + gy * p + ky) * size + gx * p
              (row + (ch * p + ky) * p).update(from: from, count: p)
            }
          }
        }
      }
    }
    // embeddings = [class; patches·Wᵀ] + positions: positions first, the GEMM accumulates.
    let embeddings = Tensor(zeros: [batch, tokens, d])
    let e = embeddings.pointer(Float.self)
    let positions = positionEmbedding.pointer(Float.self)
    for n in 0..<batch {
      let image = e + n * tokens * d
      image.update(from: positions, count: tokens * d)
      for j in 0..<d { image[j] += classEmbedding[j] }
      patchEmbedding.apply(target + n * patches * columns, rows: patches, into: image + d, accumulate: true)
    }
    trace.record("vision_model.embeddings", embeddings)
    let hidden = preNorm(embeddings)
    trace.record("vision_model.pre_layrnorm", hidden)
    return hidden
  }

  /// The hidden states Hugging Face returns with `output_hidden_states=True`, at `indices`
  /// (0 = the embeddings after `pre_layrnorm`, i = the output of encoder layer i − 1; negative
  /// indices count from the end as Python does, −1 = the last layer): pixels
  /// [batch, channels, size, size] → one [batch, patches + 1, dim] per index, in the order asked.
  /// Runs the encoder only as deep as the deepest index (LLaVA's feature layer −2 skips the
  /// last layer).
  public func hiddenStates(_ pixels: Tensor, at indices: [Int], trace: ActivationTrace? = nil)
    throws(ModelError) -> [Tensor]
  {
    let count = configuration.tower.layerCount + 1
    var resolved: [Int] = []
    for index in indices {
      guard index >= -count && index < count else {
        throw .invalidInput("CLIP vision: hidden state index \(index) outside -\(count)..<\(count)")
      }
      resolved.append(index < 0 ? index + count : index)
    }
    guard let deepest = resolved.max() else { return [] }
    let hidden = try embeddings(pixels, trace: trace)
    var states: [Int: Tensor] = [:]
    if resolved.contains(0) { states[0] = Tensor(copying: hidden) }
    for i in 0..<deepest {
      try encoder.layers[i](hidden, causal: false)
      trace.record("vision_model.encoder.layers.\(i)", hidden)
      if resolved.contains(i + 1) { states[i + 1] = i + 1 == deepest ? hidden : Tensor(copying: hidden) }
    }
    return resolved.compactMap { states[$0] }
  }

  /// pixels: [batch, channels, size, size] (or [channels, size, size]) f32, normalized as the
  /// checkpoint's image processor does → the pooled class token after `post_layernorm`
  /// [batch, dim]. `trace` names: `vision_model.embeddings`, `vision_model.pre_layrnorm`,
  /// `vision_model.encoder.layers.{i}`, `vision_model.pooled`.
  public func callAsFunction(_ pixels: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let c = configuration
    let d = c.tower.hiddenSize
    let tokens = c.patchCount + 1
    let hidden = try embeddings(pixels, trace: trace)
    let batch = hidden.shape[0]
    try encoder(hidden, causal: false, trace: trace, name: "vision_model")
    let cls = Tensor(zeros: [batch, d])
    for n in 0..<batch {
      cls.pointer(Float.self).advanced(by: n * d).update(
        from: hidden.pointer(Float.self) + n * tokens * d, count: d)
    }
    let pooled = postNorm(cls)
    trace.record("vision_model.pooled", pooled)
    return pooled
  }
}

/// Hugging Face `CLIPTextTransformer` (`text_model.…`): token and position embeddings, the
/// encoder with a causal mask, `final_layer_norm`, and the hidden state at the end-of-text token.
public struct CLIPTextModel: Sendable {
  public let configuration: CLIPConfiguration.Text
  /// [vocab, dim] and [max positions, dim].
  let tokenEmbedding: Tensor
  let positionEmbedding: Tensor
  let encoder: CLIPEncoder
  let finalNorm: LayerNorm

  /// `scope` is the tower's prefix (`text_model`).
  public init(_ scope: ParameterScope, configuration: CLIPConfiguration.Text) throws(ModelError) {
    let c = configuration
    let d = c.tower.hiddenSize
    self.configuration = c
    tokenEmbedding = try scope.tensor("embeddings.token_embedding.weight", shape: [c.vocabSize, d])
    positionEmbedding = try scope.tensor(
      "embeddings.position_embedding.weight", shape: [c.maxPositionEmbeddings, d])
    encoder = try CLIPEncoder(scope.child("encoder"), c.tower)
    finalNorm = try scope.layerNorm("final_layer_norm", dim: d, eps: c.tower.layerNormEps)
  }

  /// The position pooled for `ids`: with the legacy `eos_token_id` 2, the first position of the
  /// largest id (`argmax`); otherwise the first position of `eos_token_id` (0 when absent, as
  /// `argmax` of an all-false row).
  public func pooledPosition(_ ids: [Int32]) -> Int {
    if configuration.eosTokenID == 2 {
      var best = 0
      for (i, id) in ids.enumerated() where id > ids[best] { best = i }
      return best
    }
    return ids.firstIndex(of: Int32(truncatingIfNeeded: configuration.eosTokenID)) ?? 0
  }

  /// ids: `batch` rows of one length ≤ max positions → the pooled hidden state [batch, dim].
  /// `trace` names: `text_model.embeddings`, `text_model.encoder.layers.{i}`,
  /// `text_model.final_layer_norm`, `text_model.pooled`.
  public func callAsFunction(_ ids: [[Int32]], trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let c = configuration
    let d = c.tower.hiddenSize
    guard let length = ids.first?.count, length > 0 else {
      throw .invalidInput("CLIP text expects at least one non-empty row of token ids")
    }
    guard length <= c.maxPositionEmbeddings, ids.allSatisfy({ $0.count == length }) else {
      throw .invalidInput(
        "CLIP text expects rows of one length ≤ \(c.maxPositionEmbeddings), got lengths "
          + "\(Set(ids.map(\.count)).sorted())")
    }
    let batch = ids.count
    let embeddings = Tensor(zeros: [batch, length, d])
    let e = embeddings.pointer(Float.self)
    let table = tokenEmbedding.pointer(Float.self)
    let positions = positionEmbedding.pointer(Float.self)
    for (n, row) in ids.enumerated() {
      for (t, id) in row.enumerated() {
        guard id >= 0 && Int(id) < c.vocabSize else {
          throw .invalidInput("token id \(id) at [\(n), \(t)] is outside the vocabulary 0..<\(c.vocabSize)")
        }
        let out = e + (n * length + t) * d
        let token = table + Int(id) * d
        let position = positions + t * d
        for j in 0..<d { out[j] = token[j] + position[j] }
      }
    }
    trace.record("text_model.embeddings", embeddings)
    try encoder(embeddings, causal: true, trace: trace, name: "text_model")
    let last = finalNorm(embeddings)
    trace.record("text_model.final_layer_norm", last)
    let pooled = Tensor(zeros: [batch, d])
    for (n, row) in ids.enumerated() {
      let position = pooledPosition(row)
      pooled.pointer(Float.self).advanced(by: n * d).update(
        from: last.pointer(Float.self) + (n * length + position) * d, count: d)
    }
    trace.record("text_model.pooled", pooled)
    return pooled
  }
}

/// Hugging Face `CLIPModel`: both towers, `visual_projection` and `text_projection` (no bias)
/// into the shared space, and `logit_scale`. A checkpoint with one tower only
/// (`CLIPVisionModelWithProjection`, `CLIPTextModelWithProjection`) loads that tower.
public final class CLIPModel: Sendable {
  public let configuration: CLIPConfiguration
  public let vision: CLIPVisionModel?
  public let text: CLIPTextModel?
  let visualProjection: Linear?
  let textProjection: Linear?
  /// `logit_scale` (its exponential multiplies the cosine similarities); the configuration's
  /// initial value when the checkpoint has none.
  public let logitScale: Float

  public init(configuration: CLIPConfiguration, store: any WeightStore) throws(ModelError) {
    let scope = ParameterScope(store)
    let c = configuration
    self.configuration = c
    let hasVision = scope.contains("vision_model.embeddings.class_embedding")
    let hasText = scope.contains("text_model.embeddings.token_embedding.weight")
    guard hasVision || hasText else {
      throw .weights(
        path: store.path, tensor: "vision_model.embeddings.class_embedding",
        problem: "missing: the checkpoint has neither CLIP tower (no vision_model.* or text_model.* keys)")
    }
    vision = hasVision ? try CLIPVisionModel(scope.child("vision_model"), configuration: c.vision) : nil
    text = hasText ? try CLIPTextModel(scope.child("text_model"), configuration: c.text) : nil
    visualProjection =
      hasVision
      ? try scope.linear(
        "visual_projection", inputs: c.vision.tower.hiddenSize, outputs: c.projectionDim, bias: false)
      : nil
    textProjection =
      hasText
      ? try scope.linear(
        "text_projection", inputs: c.text.tower.hiddenSize, outputs: c.projectionDim, bias: false)
      : nil
    logitScale =
      scope.contains("logit_scale")
      ? try scope.tensor("logit_scale").floats().first ?? c.logitScaleInit : c.logitScaleInit
  }

  /// A Hugging Face checkpoint folder: `config.json` and `model.safetensors` (or a sharded index).
  public convenience init(directory: String) throws(ModelError) {
    let configuration = try CLIPConfiguration(
      contentsOf: (directory as NSString).appendingPathComponent("config.json"))
    let store: any WeightStore
    do { store = try openWeightStore(path: directory) } catch { throw ModelError(error) }
    try self.init(configuration: configuration, store: store)
  }

  /// pixels [batch, 3, size, size] → image embeddings [batch, projection] (not normalized).
  /// `trace` adds `image_embeds`.
  public func imageEmbeddings(_ pixels: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    guard let vision, let visualProjection else {
      throw .invalidInput("this CLIP checkpoint has no vision tower (vision_model.*)")
    }
    let embeds = try visualProjection(try vision(pixels, trace: trace))
    trace.record("image_embeds", embeds)
    return embeds
  }

  /// Token id rows → text embeddings [batch, projection] (not normalized). `trace` adds
  /// `text_embeds`.
  public func textEmbeddings(_ ids: [[Int32]], trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    guard let text, let textProjection else {
      throw .invalidInput("this CLIP checkpoint has no text tower (text_model.*)")
    }
    let embeds = try textProjection(try text(ids, trace: trace))
    trace.record("text_embeds", embeds)
    return embeds
  }

  /// Each row divided by its L2 norm: [rows, dim] → [rows, dim].
  public static func normalized(_ x: Tensor) -> Tensor {
    let dense = x.contiguous()
    let dim = dense.shape.last ?? 1
    let out = Tensor(zeros: dense.shape)
    let (source, target) = (dense.pointer(Float.self), out.pointer(Float.self))
    for r in 0..<(dense.count / max(dim, 1)) {
      var sum: Float = 0
      for j in 0..<dim { sum += source[r * dim + j] * source[r * dim + j] }
      let inverse = 1 / sum.squareRoot()
      for j in 0..<dim { target[r * dim + j] = source[r * dim + j] * inverse }
    }
    return out
  }

  /// exp(logit_scale) · normalized(image) · normalized(text)ᵀ: [images, texts].
  public func logitsPerImage(imageEmbeddings: Tensor, textEmbeddings: Tensor) -> Tensor {
    let images = Self.normalized(imageEmbeddings)
    let texts = Self.normalized(textEmbeddings)
    let dim = images.shape.last ?? 1
    let (ni, nt) = (images.count / dim, texts.count / dim)
    let logits = Tensor(zeros: [ni, nt])
    let scale = Foundation.exp(logitScale)
    for i in 0..<ni {
      for t in 0..<nt {
        var dot: Float = 0
        for j in 0..<dim {
          dot += images.pointer(Float.self)[i * dim + j] * texts.pointer(Float.self)[t * dim + j]
        }
        logits.pointer(Float.self)[i * nt + t] = scale * dot
      }
    }
    return logits
  }
}

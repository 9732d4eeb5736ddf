import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// Whisper (`WhisperForConditionalGeneration`): a log-mel encoder and a text decoder that
/// attends to it, with Hugging Face's parameter names (`model.encoder.layers.N.self_attn.q_proj`,
/// `model.decoder.layers.N.encoder_attn.k_proj`, …). Weights stay in their stored format (f32, or
/// CTranslate2's f16, widened inside the GEMM).
///
/// Encoder: features [mels, 3000] → conv1 (k3, p1) + GELU → conv2 (k3, s2, p1) + GELU →
/// [1500, d] + positions → pre-norm blocks → LayerNorm.
/// Decoder: token + learned position embeddings → blocks of causal self-attention (KV cache),
/// cross-attention on the encoder output (its K/V computed once per audio), MLP → LayerNorm →
/// logits against the token embeddings (`proj_out` is tied to `embed_tokens`).
public final class WhisperModel: @unchecked Sendable {
  public let configuration: WhisperConfiguration
  /// What the weights were read from, for messages.
  public let source: String

  // Encoder (`model.encoder.*`).
  let conv1Weight: Tensor
  let conv1Bias: Tensor
  let conv2Weight: Tensor
  let conv2Bias: Tensor
  /// `embed_positions.weight` [maxSourcePositions, d] f32.
  let encoderPositions: Tensor
  let encoderLayers: [PreNormTransformerBlock]
  let encoderNorm: LayerNorm

  // Decoder (`model.decoder.*`).
  /// `embed_tokens.weight` [vocab, d] in its stored format; also the output projection.
  let embedTokens: StoredMatrix
  /// `embed_positions.weight` [maxTargetPositions, d] f32.
  let decoderPositions: Tensor
  let decoderLayers: [WhisperDecoderLayer]
  let decoderNorm: LayerNorm
  /// logits = x · embed_tokensᵀ (or a separate `proj_out.weight` when the checkpoint has one).
  let projection: Linear

  /// Builds the model from a checkpoint with Hugging Face names (a safetensors store, or a
  /// `WhisperCTranslate2Store` over a model.bin), checking every shape against `configuration`.
  public init(configuration: WhisperConfiguration, store: any WeightStore) throws(ModelError) {
    let c = try configuration.validated(source: store.path)
    self.configuration = c
    source = store.path
    let root = ParameterScope(store)
    let encoder = root.child("model.encoder")
    let d = c.dModel
    conv1Weight = try encoder.stored("conv1.weight", shape: [d, c.melBins, 3])
    conv1Bias = try encoder.tensor("conv1.bias", shape: [d])
    conv2Weight = try encoder.stored("conv2.weight", shape: [d, d, 3])
    conv2Bias = try encoder.tensor("conv2.bias", shape: [d])
    encoderPositions = try encoder.tensor("embed_positions.weight", shape: [c.maxSourcePositions, d])
    encoderLayers = try (0..<c.encoderLayers).map { (i) throws(ModelError) in
      let layer = encoder.child("layers.\(i)")
      let attention = layer.child("self_attn")
      let (q, k, v) = try Self.projections(attention, d: d)
      let out = try attention.linear("out_proj", inputs: d, outputs: d)
      return PreNormTransformerBlock(
        norm1: try layer.layerNorm("self_attn_layer_norm", dim: d, eps: c.layerNormEps),
        attention: MultiHeadAttention(
          heads: c.encoderHeads, inProjection: try Self.join([q, k, v]), out: out),
        norm2: try layer.layerNorm("final_layer_norm", dim: d, eps: c.layerNormEps),
        mlp: MLP(
          fc1: try layer.linear("fc1", inputs: d, outputs: c.encoderFFN, activation: .gelu),
          fc2: try layer.linear("fc2", inputs: c.encoderFFN, outputs: d)))
    }
    encoderNorm = try encoder.layerNorm("layer_norm", dim: d, eps: c.layerNormEps)

    let decoder = root.child("model.decoder")
    embedTokens = try decoder.matrix("embed_tokens.weight", rows: c.vocabSize, columns: d)
    decoderPositions = try decoder.tensor("embed_positions.weight", shape: [c.maxTargetPositions, d])
    decoderLayers = try (0..<c.decoderLayers).map { (i) throws(ModelError) in
      let layer = decoder.child("layers.\(i)")
      let selfAttention = layer.child("self_attn")
      let cross = layer.child("encoder_attn")
      let (q, k, v) = try Self.projections(selfAttention, d: d)
      let (_, crossK, crossV) = try Self.projections(cross, d: d, query: false)
      return WhisperDecoderLayer(
        heads: c.decoderHeads,
        selfNorm: try layer.layerNorm("self_attn_layer_norm", dim: d, eps: c.layerNormEps),
        selfQKV: try Self.join([q, k, v]),
        selfOut: try selfAttention.linear("out_proj", inputs: d, outputs: d),
        crossNorm: try layer.layerNorm("encoder_attn_layer_norm", dim: d, eps: c.layerNormEps),
        crossQ: try cross.linear("q_proj", inputs: d, outputs: d), crossKV: try Self.join([crossK, crossV]),
        crossOut: try cross.linear("out_proj", inputs: d, outputs: d),
        finalNorm: try layer.layerNorm("final_layer_norm", dim: d, eps: c.layerNormEps),
        mlp: MLP(
          fc1: try layer.linear("fc1", inputs: d, outputs: c.decoderFFN, activation: .gelu),
          fc2: try layer.linear("fc2", inputs: c.decoderFFN, outputs: d)))
    }
    decoderNorm = try decoder.layerNorm("layer_norm", dim: d, eps: c.layerNormEps)
    // proj_out is tied to embed_tokens in every released checkpoint; CTranslate2 stores it as an
    // alias of the embeddings. Use a distinct matrix only when one is really stored.
    if root.contains("proj_out.weight") {
      projection = try root.linear("proj_out", inputs: d, outputs: c.vocabSize, bias: false)
    } else {
      projection = Linear(weight: embedTokens, bias: nil)
    }
  }

  /// q_proj (with bias), k_proj (no bias, as Whisper has none), v_proj (with bias) of `scope`.
  static func projections(_ scope: ParameterScope, d: Int, query: Bool = true) throws(ModelError) -> (
    Linear?, Linear, Linear
  ) {
    (
      query ? try scope.linear("q_proj", inputs: d, outputs: d) : nil,
      try scope.linear("k_proj", inputs: d, outputs: d, bias: false),
      try scope.linear("v_proj", inputs: d, outputs: d)
    )
  }

  /// q, k, v (or k, v) as one Linear: a view when they are rows of one fused tensor.
  static func join(_ parts: [Linear?]) throws(ModelError) -> Linear {
    guard let joined = Linear.joined(parts.compactMap { $0 }) else {
      throw .invalidInput("attention projections of different widths")
    }
    return joined
  }

  // MARK: Encoder

  /// features: [mels, frames] or [1, mels, frames] log-mel (frames = 2 · max source positions,
  /// 3000 for 30 s) → [frames/2, d], the encoder's last hidden state.
  /// Trace names: `encoder.conv1`, `encoder.conv2` ([d, frames…]), `encoder.embed`,
  /// `encoder.layers.N`, `encoder.out` ([frames/2, d]).
  public func encode(_ features: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let c = configuration
    let shape =
      features.rank == 3 && features.shape[0] == 1 ? Array(features.shape.dropFirst()) : features.shape
    guard features.dtype == .f32, shape == [c.melBins, c.inputFrames] else {
      throw .invalidInput(
        "Whisper features must be [\(c.melBins), \(c.inputFrames)] f32 (30 s of log-mel), got \(features.dtype) \(shapeText(features.shape))"
      )
    }
    let input = try reshaping(features.contiguous(), [1, c.melBins, c.inputFrames])
    let x1: Tensor
    let x2: Tensor
    do {
      x1 = try conv1d(
        input, weight: conv1Weight, bias: conv1Bias, stride: [1], padding: .symmetric([1]), activation: .gelu)
      trace.record("encoder.conv1", x1)
      x2 = try conv1d(
        x1, weight: conv2Weight, bias: conv2Bias, stride: [2], padding: .symmetric([1]), activation: .gelu)
      trace.record("encoder.conv2", x2)
    } catch { throw .invalidInput("Whisper encoder convolution: \(error)") }
    // [1, d, L] → [L, d] + positions.
    let length = c.maxSourcePositions
    let d = c.dModel
    let x = Tensor(zeros: [1, length, d])
    let (src, dst, pos) = (
      x2.pointer(Float.self), x.pointer(Float.self), encoderPositions.pointer(Float.self)
    )
    for t in 0..<length {
      for j in 0..<d { dst[t * d + j] = src[j * length + t] + pos[t * d + j] }
    }
    trace.record("encoder.embed", x)
    for (i, layer) in encoderLayers.enumerated() {
      try layer(x)
      trace.record("encoder.layers.\(i)", x)
    }
    let out = try reshaping(encoderNorm(x), [length, d])
    trace.record("encoder.out", out)
    return out
  }

  // MARK: Decoder

  /// A decoding session on one audio: the cross-attention keys and values of every layer,
  /// computed once from `encoderOutput` [sourceLength, d], and an empty self-attention cache.
  public func decoderState(encoderOutput: Tensor) throws(ModelError) -> WhisperDecoderState {
    let d = configuration.dModel
    guard encoderOutput.dtype == .f32, encoderOutput.rank == 2, encoderOutput.shape[1] == d,
      encoderOutput.shape[0] >= 1
    else {
      throw .invalidInput("encoder output must be [length, \(d)] f32, got \(shapeText(encoderOutput.shape))")
    }
    let source = encoderOutput.contiguous()
    let crossKV = decoderLayers.map { layer in
      let kv = Tensor(zeros: [source.shape[0], 2 * d])
      layer.crossKV.apply(source.pointer(Float.self), rows: source.shape[0], into: kv.pointer(Float.self))
      return kv
    }
    return WhisperDecoderState(
      crossKV: crossKV, layers: decoderLayers.count, capacity: configuration.maxTargetPositions, dim: d)
  }

  /// Runs `tokens` at positions `state.length…` through the decoder, appends their keys and
  /// values to the cache and returns the logits [tokens, vocab] (with `lastOnly`, [1, vocab] for
  /// the last token). Trace names: `decoder.embed`, `decoder.layers.N`, `decoder.out` ([n, d]),
  /// `logits`.
  public func decode(
    _ tokens: [Int32], state: WhisperDecoderState, lastOnly: Bool = false, trace: ActivationTrace? = nil
  ) throws(ModelError) -> Tensor {
    let c = configuration
    let (n, d, past) = (tokens.count, c.dModel, state.length)
    guard n >= 1 else { throw .invalidInput("no tokens to decode") }
    guard past + n <= c.maxTargetPositions else {
      throw .invalidInput(
        "\(past) cached + \(n) new tokens exceed the decoder's \(c.maxTargetPositions) positions")
    }
    guard state.keys.count == decoderLayers.count, state.keys.first?.shape == [c.maxTargetPositions, d],
      state.crossKV.allSatisfy({ $0.shape.last == 2 * d })
    else {
      throw .invalidInput("the decoder state was made by a model of another shape")
    }
    if let bad = tokens.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
      throw .invalidInput("token \(bad) is outside the vocabulary of \(c.vocabSize)")
    }
    let x = Tensor(zeros: [n, d])
    let xp = x.pointer(Float.self)
    let positions = decoderPositions.pointer(Float.self)
    for (i, token) in tokens.enumerated() {
      let row = xp + i * d
      dequantizeRow(embedTokens.matrix.format, embedTokens.matrix.row(Int(token)), count: d, into: row)
      for j in 0..<d { row[j] += positions[(past + i) * d + j] }
    }
    trace.record("decoder.embed", x)
    for (i, layer) in decoderLayers.enumerated() {
      try layer.forward(x, cache: state, layer: i, past: past)
      trace.record("decoder.layers.\(i)", x)
    }
    state.length = past + n
    let hidden = decoderNorm(x)
    trace.record("decoder.out", hidden)
    let rows = lastOnly ? 1 : n
    let logits = Tensor(zeros: [rows, c.vocabSize])
    projection.apply(
      hidden.pointer(Float.self) + (n - rows) * d, rows: rows, into: logits.pointer(Float.self))
    trace.record("logits", logits)
    return logits
  }
}

/// The decoder cache of one audio: cross-attention K|V per layer [sourceLength, 2·d] and the
/// self-attention keys and values of the tokens decoded so far, [capacity, d] per layer.
public final class WhisperDecoderState: @unchecked Sendable {
  let crossKV: [Tensor]
  let keys: [Tensor]
  let values: [Tensor]
  /// Tokens decoded so far (the next token's position).
  public internal(set) var length = 0

  init(crossKV: [Tensor], layers: Int, capacity: Int, dim: Int) {
    self.crossKV = crossKV
    keys = (0..<layers).map { _ in Tensor(zeros: [capacity, dim]) }
    values = (0..<layers).map { _ in Tensor(zeros: [capacity, dim]) }
  }

  /// Forgets the decoded tokens (the audio's cross K/V stay).
  public func reset() { length = 0 }
}

/// One decoder block: x += selfAttention(norm(x)); x += crossAttention(norm(x), audio);
/// x += mlp(norm(x)). `selfQKV` [3·d, d] and `crossKV` [2·d, d] are fused projections.
struct WhisperDecoderLayer: Sendable {
  let heads: Int
  let selfNorm: LayerNorm
  let selfQKV: Linear
  let selfOut: Linear
  let crossNorm: LayerNorm
  let crossQ: Linear
  let crossKV: Linear
  let crossOut: Linear
  let finalNorm: LayerNorm
  let mlp: MLP

  /// x: [n, d] at positions past..<past+n, updated in place; writes this layer's cache rows.
  func forward(_ x: Tensor, cache: WhisperDecoderState, layer: Int, past: Int) throws(ModelError) {
    let (n, d) = (x.shape[0], x.shape[1])
    let headDim = d / heads
    let attended = Tensor(zeros: [n, d])
    let tokenMajor = AttentionLayout.tokenMajor(heads: heads, headDim: headDim)

    // Causal self-attention over the cache.
    let qkv = try selfQKV(selfNorm(x))  // [n, 3d]
    let (keys, values) = (cache.keys[layer].pointer(Float.self), cache.values[layer].pointer(Float.self))
    let qkvp = qkv.pointer(Float.self)
    for i in 0..<n {
      (keys + (past + i) * d).update(from: qkvp + i * 3 * d + d, count: d)
      (values + (past + i) * d).update(from: qkvp + i * 3 * d + 2 * d, count: d)
    }
    scaledDotProductAttention(
      q: qkvp, k: keys, v: values, out: attended.pointer(Float.self), heads: heads, kvHeads: heads,
      queryLength: n, keyLength: past + n, headDim: headDim,
      qLayout: AttentionLayout(headStride: headDim, rowStride: 3 * d), kLayout: tokenMajor,
      vLayout: tokenMajor,
      outLayout: tokenMajor, causal: true, past: past)
    selfOut.accumulate(attended, into: x)

    // Cross-attention on the audio.
    let q = try crossQ(crossNorm(x))
    let kv = cache.crossKV[layer]
    let kvp = kv.pointer(Float.self)
    let interleaved = AttentionLayout(headStride: headDim, rowStride: 2 * d)
    scaledDotProductAttention(
      q: q.pointer(Float.self), k: kvp, v: kvp + d, out: attended.pointer(Float.self), heads: heads,
      kvHeads: heads, queryLength: n, keyLength: kv.shape[0], headDim: headDim, qLayout: tokenMajor,
      kLayout: interleaved, vLayout: interleaved, outLayout: tokenMajor)
    crossOut.accumulate(attended, into: x)

    try mlp.accumulate(finalNorm(x), into: x)
  }
}

/// `tensor.reshaped(shape)` for shapes known to hold the same count, as a ModelError otherwise.
func reshaping(_ tensor: Tensor, _ shape: [Int]) throws(ModelError) -> Tensor {
  do { return try tensor.reshaped(shape) } catch { throw .invalidInput("\(error)") }
}

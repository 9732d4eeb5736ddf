import Foundation
import MMCore
import MMKernels
import MMWeights

/// One piece of a generation input: token ids (looked up in `embed_tokens`) or embeddings
/// computed elsewhere (an image or audio encoder's output, projected to the hidden size),
/// spliced in order.
public enum LlamaInput: Sendable {
  case tokens([Int32])
  /// [n, hiddenSize], any float dtype.
  case embeddings(Tensor)

  var count: Int {
    switch self {
    case .tokens(let ids): return ids.count
    case .embeddings(let tensor): return tensor.shape.first ?? 0
    }
  }
}

/// A LLaMA-family decoder (LlamaForCausalLM; Qwen2's Q/K/V biases are read when present) over a
/// Hugging Face safetensors checkpoint or a GGUF file, with a preallocated KV cache.
///
/// Weights stay in their stored format and in the mapped file: f32/f16/bf16 through GEMM/GEMV
/// with an f16/bf16 B operand, ggml block formats (Q4_0, Q4_1, Q8_0, K-quants) through the
/// quantized kernels; token embeddings are dequantized one row at a time on lookup.
///
/// `forward` appends inputs to the cache: prompts run in chunks of `promptChunk` positions
/// (GEMM, causal attention over the cache), one position is a GEMV decode step.
///
/// ```swift
/// let model = try LlamaModel(gguf: "SmolLM2-135M-Instruct.Q4_1.gguf")
/// var logits = try model.forward([.tokens(promptIDs)])          // [1, vocab], last position
/// let next = try model.generateGreedy([.tokens(promptIDs)], maxNewTokens: 16)
/// ```
///
/// GGUF llama files hold Q and K with their rows permuted by llama.cpp's converter (rotate-half
/// pairs (i, i + d/2) moved to (2i, 2i + 1)); this model applies the interleaved RoPE to them
/// instead of un-permuting (`LlamaConfiguration.ropeStyle`), so the weights stay zero-copy: the
/// same permutation of q and k within each head leaves every q·k unchanged.
public final class LlamaModel {
  public let configuration: LlamaConfiguration
  /// Positions the KV cache holds.
  public let maxSequenceLength: Int
  /// Most positions per prompt-processing step (the m of its GEMMs).
  public let promptChunk: Int
  /// Positions already in the cache: the next input starts here.
  public private(set) var position = 0
  /// How the GEMV steps (fewer than 4 new positions: decoding, and the last position's
  /// logits) treat activations on Q4_0/Q4_1/Q8_0 weights. `.float32` (the default) keeps x in
  /// f32, so decoding reproduces prompt processing to f32 rounding. `.int8` (llama.cpp's
  /// scheme) quantizes each activation vector to 8 bits per block of 32 and uses integer dot
  /// products (the CKernels target): 1.7–2.1× less CPU per decoded token, with logits moved by
  /// about as much as Q8_0 weights move them (≤ 0.25 on the tiny Q8_0 fixture, ≤ 0.11 on
  /// SmolLM2's top logits) — enough to flip near ties: SmolLM2-135M Q4_1 then starts its answer
  /// to the chat test's question with another token. F32/F16/BF16 and K-quant weights are
  /// unaffected.
  public var decodeActivations: QuantizedActivations = .float32
  public let pool: ThreadPool

  /// `model.embed_tokens.weight` | `token_embd.weight`: [vocab, hidden]
  let embedTokens: LlamaLinear
  let layers: [LlamaDecoderLayer]
  /// `model.norm.weight` | `output_norm.weight`: [hidden]
  let norm: [Float]
  /// `lm_head.weight` | `output.weight`: [vocab, hidden], or `embedTokens` when tied.
  let lmHead: LlamaLinear
  let cache: LlamaKVCache
  let inverseFrequencies: [Float]
  /// Idefics: `model.embed_tokens.additional_embedding.weight` [additional, hidden] (ids from
  /// `textVocabSize` on) and `lm_head.additional_fc.weight` [additional, hidden] (the last
  /// logits), nil otherwise.
  let additionalEmbedding, additionalHead: LlamaLinear?
  /// Rows of `embed_tokens`/`lm_head`: the vocabulary less the additional ids.
  let textVocabSize: Int
  /// Idefics' gated cross-attention layers and their images, nil for a plain decoder.
  let crossAttention: GatedCrossAttention?
  private let scratch: LlamaScratch

  /// A Hugging Face checkpoint directory: config.json and model.safetensors (or a sharded
  /// index) of a LlamaForCausalLM, of a LLaVA / BLIP-2 / InstructBLIP checkpoint whose text
  /// model is a LLaMA, or of an Idefics checkpoint (its decoder with the gated cross-attention
  /// layers; `LlamaCheckpointDirectory`).
  public convenience init(
    directory: String, maxSequenceLength: Int? = nil, promptChunk: Int = 64, pool: ThreadPool = .shared
  ) throws(LlamaError) {
    let checkpoint = try LlamaCheckpointDirectory(directory: directory)
    try self.init(
      configuration: checkpoint.configuration, checkpoint: .huggingFace(checkpoint.weights),
      maxSequenceLength: maxSequenceLength, promptChunk: promptChunk, pool: pool, idefics: checkpoint.idefics)
  }

  /// A GGUF file (general.architecture llama or qwen2).
  public convenience init(
    gguf path: String, maxSequenceLength: Int? = nil, promptChunk: Int = 64, pool: ThreadPool = .shared
  ) throws(LlamaError) {
    let file: GGUFFile
    do {
      file = try GGUFFile(path: path)
    } catch {
      throw .weights(error.description)
    }
    try self.init(gguf: file, maxSequenceLength: maxSequenceLength, promptChunk: promptChunk, pool: pool)
  }

  /// An opened GGUF file (its tokenizer metadata may be read from the same mapping).
  public convenience init(
    gguf file: GGUFFile, maxSequenceLength: Int? = nil, promptChunk: Int = 64, pool: ThreadPool = .shared
  ) throws(LlamaError) {
    try self.init(
      configuration: try LlamaConfiguration(gguf: file), checkpoint: .gguf(file),
      maxSequenceLength: maxSequenceLength, promptChunk: promptChunk, pool: pool)
  }

  /// A configuration with the tensors of any `WeightStore` under Hugging Face names.
  public convenience init(
    configuration: LlamaConfiguration, weights: any WeightStore, maxSequenceLength: Int? = nil,
    promptChunk: Int = 64, pool: ThreadPool = .shared
  ) throws(LlamaError) {
    try self.init(
      configuration: configuration, checkpoint: .huggingFace(weights), maxSequenceLength: maxSequenceLength,
      promptChunk: promptChunk, pool: pool)
  }

  init(
    configuration c: LlamaConfiguration, checkpoint: LlamaCheckpoint, maxSequenceLength: Int?,
    promptChunk: Int, pool: ThreadPool, idefics: IdeficsDecoderConfiguration? = nil
  ) throws(LlamaError) {
    guard promptChunk > 0 else { throw .invalidInput("promptChunk is \(promptChunk), expected > 0") }
    let length = maxSequenceLength ?? min(c.maxPositionEmbeddings, 4096)
    guard length > 0 else { throw .invalidInput("maxSequenceLength is \(length), expected > 0") }
    configuration = c
    self.maxSequenceLength = length
    self.promptChunk = promptChunk
    self.pool = pool
    let names = LlamaTensorNames(checkpoint)
    let (hidden, q, kv) = (c.hiddenSize, c.headCount * c.headDim, c.kvHeadCount * c.headDim)
    // Idefics' decoupled embedding and head: the text rows, then the additional ones.
    let additional = idefics?.additionalVocabSize ?? 0
    textVocabSize = c.vocabSize - additional
    embedTokens = try checkpoint.linear(names.embedTokens, rows: textVocabSize, columns: hidden)
    additionalEmbedding =
      additional > 0
      ? try checkpoint.linear(
        "model.embed_tokens.additional_embedding.weight", rows: additional, columns: hidden)
      : nil
    // Tied (HF's _tied_weights_keys): additional_fc is additional_embedding when not stored.
    if additional > 0, checkpoint.contains("lm_head.additional_fc.weight") || !c.tieWordEmbeddings {
      additionalHead = try checkpoint.linear(
        "lm_head.additional_fc.weight", rows: additional, columns: hidden)
    } else {
      additionalHead = additionalEmbedding
    }
    layers = try (0..<c.layerCount).map { (i: Int) throws(LlamaError) -> LlamaDecoderLayer in
      func linear(_ module: LlamaTensorNames.Module, _ rows: Int, _ columns: Int) throws(LlamaError)
        -> LlamaLinear
      {
        try checkpoint.linear(
          names.layer(i, module), rows: rows, columns: columns, biasName: names.layer(i, module, bias: true))
      }
      return LlamaDecoderLayer(
        inputLayernorm: try checkpoint.vector(names.layer(i, .inputLayernorm), count: hidden),
        qProj: try linear(.qProj, q, hidden), kProj: try linear(.kProj, kv, hidden),
        vProj: try linear(.vProj, kv, hidden), oProj: try linear(.oProj, hidden, q),
        postAttentionLayernorm: try checkpoint.vector(names.layer(i, .postAttentionLayernorm), count: hidden),
        gateProj: try linear(.gateProj, c.intermediateSize, hidden),
        upProj: try linear(.upProj, c.intermediateSize, hidden),
        downProj: try linear(.downProj, hidden, c.intermediateSize))
    }
    norm = try checkpoint.vector(names.norm, count: hidden)
    // HF writes lm_head.weight even when tied (safetensors dedups by dropping it, GGUF omits
    // output.weight): use the stored one when present.
    if checkpoint.contains(names.lmHead) || !c.tieWordEmbeddings {
      lmHead = try checkpoint.linear(names.lmHead, rows: textVocabSize, columns: hidden)
    } else {
      lmHead = embedTokens
    }
    cache = LlamaKVCache(
      layers: c.layerCount, kvHeads: c.kvHeadCount, maxSequenceLength: length, headDim: c.headDim)
    inverseFrequencies = c.inverseFrequencies
    scratch = LlamaScratch(configuration: c, rows: promptChunk)
    crossAttention = try idefics.map { (d: IdeficsDecoderConfiguration) throws(LlamaError) in
      try GatedCrossAttention(configuration: d, llama: c, checkpoint: checkpoint, rows: promptChunk)
    }
  }

  // MARK: Idefics cross-attention images

  /// The width of the image embeddings the gated cross-attention takes (Idefics:
  /// `vision_config.embed_dim`, the Perceiver Resampler's output width); nil for a plain decoder.
  public var crossAttentionWidth: Int? { crossAttention?.configuration.imageWidth }

  /// The `<image>` token id (Idefics: tokenizer.json's added token), when known.
  public var imageTokenID: Int32? { crossAttention?.configuration.imageTokenID }

  /// The images the gated cross-attention layers attend to, in prompt order: the k-th `<image>`
  /// token of the prompt starts image k (each [latents, crossAttentionWidth], any float dtype).
  /// Replaces earlier images and restarts the image tracking; `reset()` clears them.
  /// - Throws: `.invalidInput` for a model without cross-attention or a width mismatch.
  public func setCrossAttentionImages(_ images: [Tensor]) throws(LlamaError) {
    guard let crossAttention else {
      throw .invalidInput(
        "this model has no gated cross-attention layers (not an Idefics checkpoint): images cannot be given")
    }
    guard images.isEmpty || crossAttention.configuration.imageTokenID != nil else {
      throw .invalidInput(
        "the <image> token id is unknown (no tokenizer.json with an added '<image>' token beside config.json): "
          + "the images cannot be placed in the prompt")
    }
    try crossAttention.setImages(images, pool: pool)
    crossAttention.restart()
  }

  /// Checks that `prompt` (the rest of the prompt, after any positions already cached) holds
  /// exactly as many `<image>` tokens as cross-attention images remain; nothing for a plain
  /// decoder. `generateGreedy` calls it; a caller that runs `forward` itself calls it first.
  public func validateCrossAttentionImages(_ prompt: [LlamaInput]) throws(LlamaError) {
    guard let crossAttention, let imageToken = crossAttention.configuration.imageTokenID else { return }
    var count = crossAttention.imageTokensSeen
    for case .tokens(let ids) in prompt { count += ids.reduce(0) { $0 + ($1 == imageToken ? 1 : 0) } }
    guard count == crossAttention.images.count else {
      throw .invalidInput(
        "the prompt has \(count) <image> token(s) (id \(imageToken)) for \(crossAttention.images.count) "
          + "cross-attention image(s): each image needs its own <image> token")
    }
  }

  /// Row `id` of the input embeddings (Idefics' additional ids from their own table).
  private func embedRow(_ id: Int, into destination: UnsafeMutablePointer<Float>) {
    if id >= textVocabSize, let additionalEmbedding {
      additionalEmbedding.row(id - textVocabSize, into: destination)
    } else {
      embedTokens.row(id, into: destination)
    }
  }

  /// The input embedding of token `id` (its `embed_tokens` row, dequantized): [hiddenSize].
  public func embedding(of id: Int32) throws(LlamaError) -> [Float] {
    guard id >= 0, Int(id) < configuration.vocabSize else {
      throw .invalidInput("token id \(id) is outside the vocabulary of \(configuration.vocabSize)")
    }
    var row = [Float](repeating: 0, count: configuration.hiddenSize)
    row.withUnsafeMutableBufferPointer { embedRow(Int(id), into: $0.baseAddress!) }
    return row
  }

  /// Forgets the cached positions (the next input starts at position 0) and any
  /// cross-attention images.
  public func reset() {
    position = 0
    crossAttention?.reset()
  }

  /// Appends `inputs` (in order) to the sequence and returns the logits: [1, vocab] for the
  /// last new position, or [n, vocab] for every new position when `allLogits`.
  ///
  /// Everything is validated before any work: token ids in range, embeddings [n, hidden], at
  /// least one position, and `position + n ≤ maxSequenceLength` (else `.contextOverflow`, and
  /// the cache is unchanged), and for Idefics no more `<image>` tokens than images.
  ///
  /// Idefics: prompt tokens are scanned for `<image>` and the end-of-sequence token to give each
  /// position its image (see `GatedCrossAttention`); `generated` inputs (tokens the model
  /// produced) keep the last prompt position's image instead, as HF's `generate` does.
  public func forward(_ inputs: [LlamaInput], allLogits: Bool = false, generated: Bool = false)
    throws(LlamaError) -> Tensor
  {
    let c = configuration
    var total = 0
    for input in inputs {
      switch input {
      case .tokens(let ids):
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
          throw .invalidInput("token id \(bad) is outside the vocabulary of \(c.vocabSize)")
        }
      case .embeddings(let tensor):
        guard tensor.rank == 2, tensor.shape[1] == c.hiddenSize, tensor.dtype.isFloatingPoint else {
          throw .invalidInput(
            "embeddings must be [n, \(c.hiddenSize)] floats, found \(tensor.dtype.name) \(tensor.shape)")
        }
      }
      total += input.count
    }
    guard total > 0 else { throw .invalidInput("no positions to process") }
    guard position + total <= maxSequenceLength else {
      throw .contextOverflow(position: position, adding: total, maximum: maxSequenceLength)
    }
    var imageOf: [Int] = []
    if let crossAttention {
      if !generated { try crossAttention.checkImageTokens(inputs) }
      imageOf = crossAttention.imageIndices(inputs, generated: generated)
    }

    // The residual stream of every new position, [total, hidden].
    let hidden = c.hiddenSize
    let x = UnsafeMutablePointer<Float>.allocate(capacity: total * hidden)
    defer { x.deallocate() }
    var row = 0
    for input in inputs {
      switch input {
      case .tokens(let ids):
        for id in ids {
          embedRow(Int(id), into: x + row * hidden)
          row += 1
        }
      case .embeddings(let tensor):
        let values = tensor.floats()
        x.advanced(by: row * hidden).update(from: values, count: values.count)
        row += tensor.shape[0]
      }
    }

    let logits = Tensor(zeros: [allLogits ? total : 1, c.vocabSize])
    let out = logits.pointer(Float.self)
    var start = 0
    while start < total {
      let n = min(promptChunk, total - start)
      decoderLayers(x + start * hidden, rows: n, images: imageOf.isEmpty ? nil : imageOf[start..<start + n])
      if allLogits { head(x + start * hidden, rows: n, into: out + start * c.vocabSize) }
      start += n
    }
    if !allLogits { head(x + (total - 1) * hidden, rows: 1, into: out) }
    return logits
  }

  /// Greedy decoding: feeds `prompt`, then the argmax token (ties to the lower id) until
  /// `maxNewTokens` tokens or one of `stopTokens` (included in the result) is produced.
  public func generateGreedy(
    _ prompt: [LlamaInput], maxNewTokens: Int, stopTokens: Set<Int32> = []
  ) throws(LlamaError) -> [Int32] {
    guard maxNewTokens > 0 else { return [] }
    guard position + prompt.reduce(0, { $0 + $1.count }) + maxNewTokens - 1 <= maxSequenceLength else {
      throw .contextOverflow(
        position: position, adding: prompt.reduce(0, { $0 + $1.count }) + maxNewTokens - 1,
        maximum: maxSequenceLength)
    }
    try validateCrossAttentionImages(prompt)
    var logits = try forward(prompt)
    var generated: [Int32] = []
    while true {
      let next = Int32(argmax(logits.pointer(Float.self), count: configuration.vocabSize))
      generated.append(next)
      if generated.count == maxNewTokens || stopTokens.contains(next) { return generated }
      logits = try forward([.tokens([next])], generated: true)
    }
  }

  // MARK: The decoder

  /// Runs `rows` new positions (x: [rows, hidden], rows ≤ promptChunk) through every layer in
  /// place, appending their keys and values to the cache. Idefics: gated cross-attention layer
  /// k runs before decoder layer k·interval, with `images` the image of each row (-1: none).
  private func decoderLayers(_ x: UnsafeMutablePointer<Float>, rows n: Int, images: ArraySlice<Int>? = nil) {
    let c = configuration
    let s = scratch
    let (hidden, heads, kvHeads, headDim) = (c.hiddenSize, c.headCount, c.kvHeadCount, c.headDim)
    let past = position
    let positions = Array(past..<past + n)
    for (index, layer) in layers.enumerated() {
      if let crossAttention, index % crossAttention.configuration.crossLayerInterval == 0,
        index / crossAttention.configuration.crossLayerInterval < crossAttention.layers.count
      {
        crossAttention.apply(
          layer: index / crossAttention.configuration.crossLayerInterval, x, rows: n,
          images: images ?? ArraySlice(repeating: -1, count: n), scratch: s, pool: pool)
      }
      // Attention block: x += o_proj(attention(rope(q_proj(h)), rope(k_proj(h)), v_proj(h)))
      rmsNorm(x, s.h, rows: n, dim: hidden, weight: layer.inputLayernorm, eps: c.rmsNormEps, pool: pool)
      if n == 1 {
        // Decoding: the three projections of one h in one parallel call.
        quantizedGEMVs(
          [layer.qProj.product(into: s.q), layer.kProj.product(into: s.k), layer.vProj.product(into: s.v)],
          x: s.h, activations: decodeActivations, pool: pool)
      } else {
        layer.qProj.apply(s.h, rows: n, into: s.q, activations: decodeActivations, pool: pool)
        layer.kProj.apply(s.h, rows: n, into: s.k, activations: decodeActivations, pool: pool)
        layer.vProj.apply(s.h, rows: n, into: s.v, activations: decodeActivations, pool: pool)
      }
      applyRoPE(
        s.q, tokens: n, heads: heads, headDim: headDim, positions: positions,
        inverseFrequencies: inverseFrequencies, rotaryDim: c.rotaryDim, style: c.ropeStyle, pool: pool)
      applyRoPE(
        s.k, tokens: n, heads: kvHeads, headDim: headDim, positions: positions,
        inverseFrequencies: inverseFrequencies, rotaryDim: c.rotaryDim, style: c.ropeStyle, pool: pool)
      cache.append(layer: index, at: past, rows: n, keys: s.k, values: s.v)
      scaledDotProductAttention(
        q: s.q, k: cache.keys(layer: index), v: cache.values(layer: index), out: s.attention,
        heads: heads, kvHeads: kvHeads, queryLength: n, keyLength: past + n, headDim: headDim,
        qLayout: .tokenMajor(heads: heads, headDim: headDim), kLayout: cache.layout,
        vLayout: cache.layout, outLayout: .tokenMajor(heads: heads, headDim: headDim),
        causal: true, past: past, pool: pool)
      layer.oProj.apply(
        s.attention, rows: n, into: x, accumulate: true, activations: decodeActivations, pool: pool)

      // MLP block: x += down_proj(silu(gate_proj(h)) · up_proj(h))
      rmsNorm(
        x, s.h, rows: n, dim: hidden, weight: layer.postAttentionLayernorm, eps: c.rmsNormEps, pool: pool)
      if n == 1 && layer.gateProj.bias == nil && layer.upProj.bias == nil {
        // Decoding: gate, up and SwiGLU in one parallel call (each task multiplies its rows).
        quantizedGatedGEMV(
          gate: layer.gateProj.weight, up: layer.upProj.weight, x: s.h, out: s.gate,
          activations: decodeActivations, pool: pool)
      } else {
        layer.gateProj.apply(s.h, rows: n, into: s.gate, activations: decodeActivations, pool: pool)
        layer.upProj.apply(s.h, rows: n, into: s.up, activations: decodeActivations, pool: pool)
        swiglu(gate: s.gate, up: s.up, output: s.gate, count: n * c.intermediateSize, pool: pool)
      }
      layer.downProj.apply(
        s.gate, rows: n, into: x, accumulate: true, activations: decodeActivations, pool: pool)
    }
    position += n
  }

  /// logits[rows, vocab] = lm_head(norm(x)).
  private func head(_ x: UnsafePointer<Float>, rows n: Int, into logits: UnsafeMutablePointer<Float>) {
    let c = configuration
    rmsNorm(x, scratch.h, rows: n, dim: c.hiddenSize, weight: norm, eps: c.rmsNormEps, pool: pool)
    lmHead.apply(
      scratch.h, rows: n, into: logits, ldy: c.vocabSize, activations: decodeActivations, pool: pool)
    additionalHead?.apply(
      scratch.h, rows: n, into: logits + textVocabSize, ldy: c.vocabSize, activations: decodeActivations,
      pool: pool)
  }
}

/// One decoder block's weights, named after their Hugging Face modules.
struct LlamaDecoderLayer {
  /// `model.layers.N.input_layernorm.weight` | `blk.N.attn_norm.weight`
  let inputLayernorm: [Float]
  /// `model.layers.N.self_attn.{q,k,v,o}_proj.weight` | `blk.N.attn_{q,k,v,output}.weight`
  let qProj, kProj, vProj, oProj: LlamaLinear
  /// `model.layers.N.post_attention_layernorm.weight` | `blk.N.ffn_norm.weight`
  let postAttentionLayernorm: [Float]
  /// `model.layers.N.mlp.{gate,up,down}_proj.weight` | `blk.N.ffn_{gate,up,down}.weight`
  let gateProj, upProj, downProj: LlamaLinear
}

/// The checkpoint's name of every parameter: Hugging Face or GGUF (llama.cpp) naming.
struct LlamaTensorNames {
  enum Module: CaseIterable {
    case inputLayernorm, qProj, kProj, vProj, oProj, postAttentionLayernorm, gateProj, upProj, downProj
  }

  let gguf: Bool

  init(_ checkpoint: LlamaCheckpoint) {
    if case .gguf = checkpoint { gguf = true } else { gguf = false }
  }

  var embedTokens: String { gguf ? "token_embd.weight" : "model.embed_tokens.weight" }
  var norm: String { gguf ? "output_norm.weight" : "model.norm.weight" }
  var lmHead: String { gguf ? "output.weight" : "lm_head.weight" }

  func layer(_ index: Int, _ module: Module, bias: Bool = false) -> String {
    let suffix = bias ? "bias" : "weight"
    if gguf {
      let name: String
      switch module {
      case .inputLayernorm: name = "attn_norm"
      case .qProj: name = "attn_q"
      case .kProj: name = "attn_k"
      case .vProj: name = "attn_v"
      case .oProj: name = "attn_output"
      case .postAttentionLayernorm: name = "ffn_norm"
      case .gateProj: name = "ffn_gate"
      case .upProj: name = "ffn_up"
      case .downProj: name = "ffn_down"
      }
      return "blk.\(index).\(name).\(suffix)"
    }
    let name: String
    switch module {
    case .inputLayernorm: name = "input_layernorm"
    case .qProj: name = "self_attn.q_proj"
    case .kProj: name = "self_attn.k_proj"
    case .vProj: name = "self_attn.v_proj"
    case .oProj: name = "self_attn.o_proj"
    case .postAttentionLayernorm: name = "post_attention_layernorm"
    case .gateProj: name = "mlp.gate_proj"
    case .upProj: name = "mlp.up_proj"
    case .downProj: name = "mlp.down_proj"
    }
    return "model.layers.\(index).\(name).\(suffix)"
  }
}

/// The index of the largest value (the first on ties; NaN is skipped).
func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
  var best = 0
  for i in 1..<max(count, 1) where values[i] > values[best] || values[best].isNaN { best = i }
  return best
}

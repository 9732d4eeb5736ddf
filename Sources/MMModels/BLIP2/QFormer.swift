import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// One layer of the Q-Former (`qformer.encoder.layer.{i}`): BERT's post-norm blocks over the
/// concatenation [queries; instruction tokens]:
///
/// 1. self-attention over every row: `attention.attention.{query,key,value}`,
///    `attention.output.dense`, x = `attention.output.LayerNorm`(x + attention(x));
/// 2. on the query rows only, when the layer has one (i % cross_attention_frequency == 0),
///    cross-attention to the image features: `crossattention.attention.{query,key,value}` (key
///    and value read the vision width), `crossattention.output.dense` and `.LayerNorm`;
/// 3. a feed-forward of its own for each part: queries through `intermediate_query.dense` and
///    `output_query.dense` + `.LayerNorm`, instruction tokens through `intermediate.dense` and
///    `output.dense` + `.LayerNorm` (InstructBLIP only; BLIP-2's layers have no text part).
public struct QFormerLayer: Sendable {
  let attention: MultiHeadAttention
  let attentionNorm: LayerNorm
  let crossAttention: (attention: MultiHeadAttention, norm: LayerNorm)?
  let queryFeedForward: (mlp: MLP, norm: LayerNorm)
  let textFeedForward: (mlp: MLP, norm: LayerNorm)?

  init(_ scope: ParameterScope, index: Int, _ c: BLIP2Configuration.QFormer) throws(ModelError) {
    let h = c.hiddenSize
    func attentionBlock(_ name: String, keyWidth: Int) throws(ModelError) -> (MultiHeadAttention, LayerNorm) {
      let block = scope.child(name)
      let attention = MultiHeadAttention(
        heads: c.headCount, q: try block.linear("attention.query", inputs: h, outputs: h),
        k: try block.linear("attention.key", inputs: keyWidth, outputs: h),
        v: try block.linear("attention.value", inputs: keyWidth, outputs: h),
        out: try block.linear("output.dense", inputs: h, outputs: h), fuseSelfProjection: name == "attention")
      return (attention, try block.layerNorm("output.LayerNorm", dim: h, eps: c.layerNormEps))
    }
    func feedForward(_ suffix: String) throws(ModelError) -> (MLP, LayerNorm) {
      let mlp = MLP(
        fc1: try scope.linear(
          "intermediate\(suffix).dense", inputs: h, outputs: c.intermediateSize, activation: c.activation),
        fc2: try scope.linear("output\(suffix).dense", inputs: c.intermediateSize, outputs: h))
      return (mlp, try scope.layerNorm("output\(suffix).LayerNorm", dim: h, eps: c.layerNormEps))
    }
    (attention, attentionNorm) = try attentionBlock("attention", keyWidth: h)
    if c.hasCrossAttention(layer: index) {
      let (cross, norm) = try attentionBlock("crossattention", keyWidth: c.encoderHiddenSize)
      crossAttention = (cross, norm)
    } else {
      crossAttention = nil
    }
    let query = try feedForward("_query")
    queryFeedForward = (query.0, query.1)
    if c.usesTextInput {
      let text = try feedForward("")
      textFeedForward = (text.0, text.1)
    } else {
      textFeedForward = nil
    }
  }

  /// x: [1, queries + texts, h] → the same shape; `features`: [1, n, vision width].
  func callAsFunction(_ x: Tensor, queries: Int, features: Tensor) throws(ModelError) -> Tensor {
    let rows = x.shape[1]
    let h = x.shape[2]
    let residual = Tensor(copying: x)
    try attention.accumulate(x, into: residual)
    let attended = attentionNorm(residual)
    var query = try attended.rowRange(0..<queries)
    if let crossAttention {
      try crossAttention.attention.accumulate(query, into: query, context: features)
      query = crossAttention.norm(query)
    }
    try queryFeedForward.mlp.accumulate(query, into: query)
    query = queryFeedForward.norm(query)
    guard rows > queries, let textFeedForward else { return query }
    let text = try attended.rowRange(queries..<rows)
    try textFeedForward.mlp.accumulate(text, into: text)
    let textOut = textFeedForward.norm(text)
    let out = Tensor(zeros: [1, rows, h])
    out.pointer(Float.self).update(from: query.pointer(Float.self), count: queries * h)
    (out.pointer(Float.self) + queries * h).update(
      from: textOut.pointer(Float.self), count: (rows - queries) * h)
    return out
  }
}

/// Hugging Face `Blip2QFormerModel` / `InstructBlipQFormerModel` (`qformer.…`) with BLIP-2's
/// `query_tokens` [1, queries, h]: the learned queries read the image through the layers'
/// cross-attention and come out as [queries, h].
///
/// BLIP-2: x = `qformer.layernorm`(query_tokens). InstructBLIP also embeds the instruction
/// (`qformer.embeddings.word_embeddings` + `position_embeddings` from 0) and appends it after the
/// queries before `qformer.embeddings.layernorm`; the self-attention mixes both, the
/// cross-attention and the output are the query rows only.
public struct BLIP2QFormer: Sendable {
  public let configuration: BLIP2Configuration.QFormer
  /// `query_tokens` as [queries, h].
  let queryTokens: Tensor
  let inputNorm: LayerNorm
  /// InstructBLIP's [vocab, h] and [max positions, h].
  let wordEmbeddings: Tensor?
  let positionEmbeddings: Tensor?
  let layers: [QFormerLayer]

  /// `scope`: the checkpoint root (`query_tokens` and `qformer.…` live under it).
  public init(_ scope: ParameterScope, configuration: BLIP2Configuration.QFormer, queryCount: Int)
    throws(ModelError)
  {
    let c = configuration
    let h = c.hiddenSize
    self.configuration = c
    do {
      queryTokens = try scope.tensor("query_tokens", shape: [1, queryCount, h]).reshaped([queryCount, h])
    } catch let error as ModelError { throw error } catch { throw .invalidInput("\(error)") }
    let qformer = scope.child("qformer")
    if c.usesTextInput {
      let embeddings = qformer.child("embeddings")
      wordEmbeddings = try embeddings.tensor("word_embeddings.weight", shape: [c.vocabSize, h])
      positionEmbeddings = try embeddings.tensor(
        "position_embeddings.weight", shape: [c.maxPositionEmbeddings, h])
      inputNorm = try embeddings.layerNorm("layernorm", dim: h, eps: c.layerNormEps)
    } else {
      (wordEmbeddings, positionEmbeddings) = (nil, nil)
      inputNorm = try qformer.layerNorm("layernorm", dim: h, eps: c.layerNormEps)
    }
    var layers: [QFormerLayer] = []
    for i in 0..<c.layerCount {
      layers.append(try QFormerLayer(qformer.child("encoder.layer.\(i)"), index: i, c))
    }
    self.layers = layers
  }

  public var queryCount: Int { queryTokens.shape[0] }

  /// features: [n, vision width] (the vision model's `last_hidden_state`); `instruction`: the
  /// instruction's token ids from the Q-Former tokenizer ([CLS] … [SEP]), InstructBLIP only →
  /// the query rows of the last layer [queries, h]. `trace` names: `qformer.input`,
  /// `qformer.layer.{i}`, `qformer`.
  public func callAsFunction(_ features: Tensor, instruction: [Int32]? = nil, trace: ActivationTrace? = nil)
    throws(ModelError) -> Tensor
  {
    let c = configuration
    let h = c.hiddenSize
    guard features.dtype == .f32, features.rank == 2, features.shape[1] == c.encoderHiddenSize,
      features.shape[0] > 0
    else {
      throw .invalidInput(
        "Q-Former expects image features [n, \(c.encoderHiddenSize)] f32, got \(features.dtype) "
          + shapeText(features.shape))
    }
    let ids = instruction ?? []
    if !ids.isEmpty {
      guard wordEmbeddings != nil else {
        throw .invalidInput("this Q-Former (BLIP-2) takes no instruction text; only InstructBLIP's does")
      }
      guard ids.count <= c.maxPositionEmbeddings else {
        throw .invalidInput(
          "the instruction has \(ids.count) tokens, more than the Q-Former's \(c.maxPositionEmbeddings) positions"
        )
      }
      if let bad = ids.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
        throw .invalidInput(
          "instruction token id \(bad) is outside the Q-Former vocabulary 0..<\(c.vocabSize)")
      }
    }
    let queries = queryCount
    let rows = queries + ids.count
    let input = Tensor(zeros: [1, rows, h])
    let x = input.pointer(Float.self)
    x.update(from: queryTokens.pointer(Float.self), count: queries * h)
    if let wordEmbeddings, let positionEmbeddings {
      for (t, id) in ids.enumerated() {
        let out = x + (queries + t) * h
        let word = wordEmbeddings.pointer(Float.self) + Int(id) * h
        let position = positionEmbeddings.pointer(Float.self) + t * h
        for j in 0..<h { out[j] = word[j] + position[j] }
      }
    }
    var hidden = inputNorm(input)
    trace.record("qformer.input", hidden)
    let context: Tensor
    do { context = try features.contiguous().reshaped([1] + features.shape) } catch {
      throw .invalidInput("\(error)")
    }
    for (i, layer) in layers.enumerated() {
      hidden = try layer(hidden, queries: queries, features: context)
      trace.record("qformer.layer.\(i)", hidden)
    }
    let out = try hidden.rowRange(0..<queries)
    do {
      let result = try out.reshaped([queries, h])
      trace.record("qformer", result)
      return result
    } catch { throw .invalidInput("\(error)") }
  }
}

extension Tensor {
  /// Rows `range` of the middle axis of a [1, L, h] tensor as a contiguous copy [1, count, h].
  func rowRange(_ range: Range<Int>) throws(ModelError) -> Tensor {
    guard rank == 3, shape[0] == 1, range.lowerBound >= 0, range.upperBound <= shape[1] else {
      throw .invalidInput("rows \(range) of \(shapeText(shape))")
    }
    let h = shape[2]
    let dense = contiguous()
    let out = Tensor(zeros: [1, range.count, h])
    out.pointer(Float.self).update(
      from: dense.pointer(Float.self) + range.lowerBound * h, count: range.count * h)
    return out
  }
}

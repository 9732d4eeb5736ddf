import MMCore
import MMKernels
import MMNN
import MMWeights

/// A BERT encoder as Hugging Face's `BertModel` computes it (without the pooler): token,
/// position and token-type embeddings summed and layer-normalized, then post-norm transformer
/// layers (self-attention, `attention.output.LayerNorm(x + attention)`, GELU feed-forward,
/// `output.LayerNorm(x + ffn)`). Parameter names are the checkpoint's:
///
///     embeddings.word_embeddings.weight              [vocab, hidden]
///     embeddings.position_embeddings.weight          [positions, hidden]
///     embeddings.token_type_embeddings.weight        [types, hidden]
///     embeddings.LayerNorm.{weight,bias}             [hidden]
///     encoder.layer.N.attention.self.{query,key,value}.{weight,bias}
///     encoder.layer.N.attention.output.dense.{weight,bias}
///     encoder.layer.N.attention.output.LayerNorm.{weight,bias}
///     encoder.layer.N.intermediate.dense.{weight,bias}   [intermediate, hidden]
///     encoder.layer.N.output.dense.{weight,bias}         [hidden, intermediate]
///     encoder.layer.N.output.LayerNorm.{weight,bias}
///
/// optionally under a `bert.` prefix (checkpoints of `BertForMaskedLM` and friends). Every
/// token has type 0 (single sentences). Batches of different lengths are padded on the right and
/// the padding is masked out of every attention (the key mask).
///
/// Trace names: `embeddings`, `encoder.layer.N.attention` (after its LayerNorm),
/// `encoder.layer.N` (the layer's output), `last_hidden_state`.
public final class BertModel: @unchecked Sendable {
  public let configuration: BertConfiguration
  /// [vocab, hidden], [positions, hidden], [types, hidden] as f32.
  let wordEmbeddings: Tensor
  let positionEmbeddings: Tensor
  let tokenTypeEmbeddings: Tensor
  let embeddingNorm: LayerNorm
  let layers: [PostNormTransformerBlock]

  /// Reads the weights from `store` (a safetensors file) under `prefix` ("" or "bert"; nil:
  /// whichever the checkpoint uses).
  public init(configuration: BertConfiguration, store: any WeightStore, prefix: String? = nil)
    throws(ModelError)
  {
    try configuration.validate(source: store.path)
    self.configuration = configuration
    let c = configuration
    let resolvedPrefix =
      prefix ?? (store.contains("bert.embeddings.word_embeddings.weight") ? "bert" : "")
    let root = ParameterScope(store, prefix: resolvedPrefix)
    let embeddings = root.child("embeddings")
    wordEmbeddings = try embeddings.tensor("word_embeddings.weight", shape: [c.vocabSize, c.hiddenSize])
    positionEmbeddings = try embeddings.tensor(
      "position_embeddings.weight", shape: [c.maxPositionEmbeddings, c.hiddenSize])
    tokenTypeEmbeddings = try embeddings.tensor(
      "token_type_embeddings.weight", shape: [c.typeVocabSize, c.hiddenSize])
    embeddingNorm = try embeddings.layerNorm("LayerNorm", dim: c.hiddenSize, eps: c.layerNormEps)
    var layers: [PostNormTransformerBlock] = []
    for index in 0..<c.layerCount {
      let layer = root.child("encoder.layer.\(index)")
      let h = c.hiddenSize
      let attention = MultiHeadAttention(
        heads: c.headCount, q: try layer.linear("attention.self.query", inputs: h, outputs: h),
        k: try layer.linear("attention.self.key", inputs: h, outputs: h),
        v: try layer.linear("attention.self.value", inputs: h, outputs: h),
        out: try layer.linear("attention.output.dense", inputs: h, outputs: h))
      let mlp = MLP(
        fc1: try layer.linear(
          "intermediate.dense", inputs: h, outputs: c.intermediateSize, activation: c.activation),
        fc2: try layer.linear("output.dense", inputs: c.intermediateSize, outputs: h))
      layers.append(
        PostNormTransformerBlock(
          attention: attention,
          norm1: try layer.layerNorm("attention.output.LayerNorm", dim: h, eps: c.layerNormEps), mlp: mlp,
          norm2: try layer.layerNorm("output.LayerNorm", dim: h, eps: c.layerNormEps)))
    }
    self.layers = layers
  }

  /// Loads `config.json` and `model.safetensors` from a checkpoint folder.
  public convenience init(directory: String) throws(ModelError) {
    let configuration = try BertConfiguration(configPath: directory)
    let store: any WeightStore
    do { store = try openWeightStore(path: directory + "/model.safetensors") } catch {
      throw ModelError(error)
    }
    try self.init(configuration: configuration, store: store)
  }

  public var hiddenSize: Int { configuration.hiddenSize }

  /// The last hidden state of a batch of token-id sequences (each already with `[CLS]`/`[SEP]`),
  /// padded on the right to the longest: [batch, longest, hidden]. Rows past a sequence's own
  /// length are padding: masked out of every attention, their values are not meaningful.
  public func callAsFunction(_ batch: [[Int32]], trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    guard !batch.isEmpty else { throw .invalidInput("BERT: an empty batch") }
    let c = configuration
    let longest = batch.map(\.count).max() ?? 0
    guard longest > 0, batch.allSatisfy({ !$0.isEmpty }) else {
      throw .invalidInput("BERT: a sequence without tokens")
    }
    guard longest <= c.maxPositionEmbeddings else {
      throw .invalidInput(
        "BERT: a sequence of \(longest) tokens is longer than the \(c.maxPositionEmbeddings) positions of the model"
      )
    }
    for (index, ids) in batch.enumerated() {
      if let bad = ids.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
        throw .invalidInput("BERT: sequence \(index) holds token id \(bad), outside 0..<\(c.vocabSize)")
      }
    }
    let h = c.hiddenSize
    // Embeddings: word + position + token type 0, for every position (padding uses id 0).
    let summed = Tensor(zeros: [batch.count, longest, h])
    let out = summed.pointer(Float.self)
    let (words, positions, types) = (
      wordEmbeddings.pointer(Float.self), positionEmbeddings.pointer(Float.self),
      tokenTypeEmbeddings.pointer(Float.self)
    )
    for (b, ids) in batch.enumerated() {
      for t in 0..<longest {
        let id = t < ids.count ? Int(ids[t]) : 0
        let row = out + (b * longest + t) * h
        let (w, p) = (words + id * h, positions + t * h)
        for j in 0..<h { row[j] = w[j] + p[j] + types[j] }
      }
    }
    var x = embeddingNorm(summed)
    trace.record("embeddings", x)
    var keyMask: Tensor?
    if batch.contains(where: { $0.count < longest }) {
      let mask = Tensor(zeros: [batch.count, longest])
      let m = mask.pointer(Float.self)
      for (b, ids) in batch.enumerated() where ids.count < longest {
        for t in ids.count..<longest { m[b * longest + t] = -.infinity }
      }
      keyMask = mask
    }
    for (index, layer) in layers.enumerated() {
      x = try layer(
        x, keyMask: keyMask,
        afterAttention: trace == nil ? nil : { trace.record("encoder.layer.\(index).attention", $0) })
      trace.record("encoder.layer.\(index)", x)
    }
    trace.record("last_hidden_state", x)
    return x
  }
}

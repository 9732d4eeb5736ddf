import Foundation
import MMCore
import MMNN
import MMTokenizers
import MMWeights

/// Sentence embeddings as sentence-transformers' all-MiniLM-L6-v2 computes them: WordPiece ids
/// (`[CLS] … [SEP]`), the BERT encoder, the mean of the last hidden state over the real tokens
/// (padding excluded by the attention mask), then L2 normalization.
///
/// Lengths: the tokenizer.json of the checkpoint carries `truncation` (128) and `padding`
/// (fixed 128) settings for batch training; they are not used. Texts are not padded (a batch is
/// padded to its longest member and masked), and a text is cut only past `maxSequenceLength`
/// tokens — sentence-transformers' `max_seq_length`, read from `sentence_bert_config.json` when
/// the folder has one, else 256 (the value sentence-transformers ships for all-MiniLM-L6-v2),
/// never more than the model's positions. A cut text keeps `[CLS]`, its first tokens and `[SEP]`,
/// as the tokenizer's own truncation would.
///
/// Trace names: those of `BertModel`, then `pooled` [count, hidden] and `embedding` [count, hidden].
public final class SentenceEmbedder: @unchecked Sendable {
  public let model: BertModel
  public let tokenizer: Tokenizer
  public let maxSequenceLength: Int

  /// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2.
  public static let defaultMaxSequenceLength = 256

  public init(model: BertModel, tokenizer: Tokenizer, maxSequenceLength: Int? = nil) throws(ModelError) {
    let limit = maxSequenceLength ?? Self.defaultMaxSequenceLength
    guard limit >= 2 else { throw .invalidInput("sentence embedder: a sequence limit of \(limit) tokens") }
    self.model = model
    self.tokenizer = tokenizer
    self.maxSequenceLength = min(limit, model.configuration.maxPositionEmbeddings)
  }

  /// Loads a checkpoint folder: config.json, model.safetensors, tokenizer.json (and
  /// tokenizer_config.json, sentence_bert_config.json when present). `maxSequenceLength`
  /// overrides the folder's limit.
  public convenience init(directory: String, maxSequenceLength: Int? = nil) throws(ModelError) {
    let model = try BertModel(directory: directory)
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(directory: directory) } catch {
      throw .configuration(source: error.file, problem: "\(error)")
    }
    var limit = maxSequenceLength
    if limit == nil { limit = try Self.configuredLimit(directory: directory) }
    try self.init(model: model, tokenizer: tokenizer, maxSequenceLength: limit)
  }

  /// `max_seq_length` of the folder's `sentence_bert_config.json`, or nil without one.
  static func configuredLimit(directory: String) throws(ModelError) -> Int? {
    let path = directory + "/sentence_bert_config.json"
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    let root: JSONValue
    do { root = try JSONParser.parse(data, file: path).root } catch {
      throw .configuration(source: path, problem: error.message)
    }
    guard let value = root["max_seq_length"] else { return nil }
    guard let limit = value.int, limit >= 2 else {
      throw .configuration(
        source: path, problem: "'max_seq_length' is \(value.encoded()), expected an integer ≥ 2")
    }
    return limit
  }

  public var dimension: Int { model.hiddenSize }

  /// The ids the model sees for `text`: special tokens added, cut to `maxSequenceLength`.
  public func tokenIDs(_ text: String) -> [Int32] {
    let full = tokenizer.encode(text, addSpecialTokens: true)
    guard full.count > maxSequenceLength else { return full }
    // Keep the template's special tokens around the first tokens of the text.
    let content = tokenizer.encode(text, addSpecialTokens: false)
    let added = full.count - content.count
    guard added >= 0, added < maxSequenceLength else { return Array(full.prefix(maxSequenceLength)) }
    var start = 0
    while start <= added, !full[start..<(start + content.count)].elementsEqual(content) { start += 1 }
    guard start <= added else { return Array(full.prefix(maxSequenceLength)) }
    let kept = content.prefix(maxSequenceLength - added)
    return Array(full[..<start]) + kept + full[(start + content.count)...]
  }

  /// Unit sentence embeddings [texts.count, hidden], in the order of `texts`. Texts are sorted by
  /// length and encoded `batchSize` at a time (less padding); `progress(done, total)` is called
  /// after each batch and may return false to stop (then this throws `.invalidInput("cancelled")`).
  public func embed(
    _ texts: [String], batchSize: Int = 32, trace: ActivationTrace? = nil,
    progress: ((Int, Int) -> Bool)? = nil
  ) throws(ModelError) -> Tensor {
    guard !texts.isEmpty else { throw .invalidInput("sentence embedder: no texts") }
    let ids = texts.map(tokenIDs)
    return try embed(ids: ids, batchSize: batchSize, trace: trace, progress: progress)
  }

  /// `embed` for token ids already made (each with its special tokens).
  public func embed(
    ids: [[Int32]], batchSize: Int = 32, trace: ActivationTrace? = nil, progress: ((Int, Int) -> Bool)? = nil
  ) throws(ModelError) -> Tensor {
    let h = dimension
    let result = Tensor(zeros: [ids.count, h])
    // A trace records the whole input as one batch in the given order, so its names hold every
    // text's rows where the caller put them; otherwise longest first, batched.
    let order =
      trace != nil
      ? Array(ids.indices)
      : ids.indices.sorted { ids[$0].count > ids[$1].count || (ids[$0].count == ids[$1].count && $0 < $1) }
    let size = trace == nil ? max(1, batchSize) : ids.count
    var done = 0
    for start in stride(from: 0, to: order.count, by: size) {
      let members = Array(order[start..<min(start + size, order.count)])
      let batch = members.map { ids[$0] }
      let hidden = try model(batch, trace: trace)
      let pooled = Self.meanPool(hidden, lengths: batch.map(\.count))
      trace.record("pooled", pooled)
      let unit = Self.normalizeRows(pooled)
      trace.record("embedding", unit)
      for (row, index) in members.enumerated() {
        (result.pointer(Float.self) + index * h).update(from: unit.pointer(Float.self) + row * h, count: h)
      }
      done += members.count
      if let progress, !progress(done, ids.count) { throw .invalidInput("cancelled") }
    }
    return result
  }

  /// hidden: [batch, length, dim], lengths: real tokens per sequence → [batch, dim]: the mean
  /// of each sequence's first `lengths[b]` rows (sentence-transformers' mask-weighted mean).
  public static func meanPool(_ hidden: Tensor, lengths: [Int]) -> Tensor {
    let dense = hidden.contiguous()
    let (batch, length, dim) = (dense.shape[0], dense.shape[1], dense.shape[2])
    precondition(lengths.count == batch && lengths.allSatisfy { $0 <= length }, "meanPool: lengths")
    let out = Tensor(zeros: [batch, dim])
    let (x, y) = (dense.pointer(Float.self), out.pointer(Float.self))
    for b in 0..<batch {
      var sums = [Double](repeating: 0, count: dim)
      for t in 0..<lengths[b] {
        let row = x + (b * length + t) * dim
        for j in 0..<dim { sums[j] += Double(row[j]) }
      }
      let count = Double(max(lengths[b], 1))
      for j in 0..<dim { y[b * dim + j] = Float(sums[j] / count) }
    }
    return out
  }

  /// x: [rows, dim] → [rows, dim] with each row divided by max(‖row‖₂, 1e-12)
  /// (`torch.nn.functional.normalize`).
  public static func normalizeRows(_ x: Tensor) -> Tensor {
    let dense = x.contiguous()
    let dim = dense.shape.last ?? 0
    let rows = dim == 0 ? 0 : dense.count / dim
    let out = Tensor(zeros: dense.shape)
    let (p, q) = (dense.pointer(Float.self), out.pointer(Float.self))
    for r in 0..<rows {
      var squares = 0.0
      for j in 0..<dim { squares += Double(p[r * dim + j]) * Double(p[r * dim + j]) }
      let scale = 1 / max(squares.squareRoot(), 1e-12)
      for j in 0..<dim { q[r * dim + j] = Float(Double(p[r * dim + j]) * scale) }
    }
    return out
  }
}

import MMCore

/// A text tokenizer: Hugging Face `tokenizers`' pipeline (added tokens, normalizer,
/// pre-tokenizer, model, post-processor; decoder for the way back), loaded from a
/// `tokenizer.json` (`Tokenizer(contentsOf:)`), or from the `tokenizer.ggml.*` arrays of a GGUF
/// file (`Tokenizer(gguf:)`).
///
///     let tokenizer = try Tokenizer(contentsOf: "SmolLM2/tokenizer.json")
///     let ids = tokenizer.encode("Hello world", addSpecialTokens: true)
///     let text = try tokenizer.decode(ids)
///
/// Encoding, step by step (each as the reference does it):
/// 1. Added tokens with `normalized: false` are found in the raw text (leftmost-longest); the
///    text between them goes on alone.
/// 2. Each text part is normalized; added tokens with `normalized: true` are found in it.
/// 3. Each text part is pre-tokenized into pieces; the model turns each piece into ids.
/// 4. With `addSpecialTokens`, the post-processor adds the template's special tokens.
///
/// Values are immutable and `Sendable`: one tokenizer may encode on many threads at once.
public struct Tokenizer: Sendable {
  enum Model: Sendable {
    case bpe(BPEModel)
    case wordPiece(WordPieceModel)
    case wordLevel(WordLevelModel)
    case sentencePiece(SentencePieceModel)
  }

  let model: Model
  let vocabulary: Vocabulary
  /// Added tokens by id.
  public let addedTokens: [AddedToken]
  private let addedIndex: [Int32: Int]
  private let addedIDs: [[UInt8]: Int32]
  /// The text `decode` writes for each added token (the normalized form of a normalized one).
  private let addedDecodeText: [Int32: [Unicode.Scalar]]
  private let rawMatcher: AddedTokenMatcher
  private let normalizedMatcher: AddedTokenMatcher
  public let normalizer: Normalizer?
  public let preTokenizer: PreTokenizer?
  public internal(set) var postProcessor: PostProcessor?
  public let decoder: Decoder?

  /// The beginning- and end-of-sequence tokens (from tokenizer_config.json or GGUF metadata).
  public var bosTokenID: Int32?
  public var eosTokenID: Int32?
  public var unknownTokenID: Int32?
  public var paddingTokenID: Int32?
  /// The Jinja chat template, kept as text for the chat layer.
  public var chatTemplate: String?
  /// tokenizer.json's `truncation` and `padding`, as written. `encode` applies neither: they
  /// are batch settings for the caller (`tokenizers`' `encode` with no truncation or padding).
  public let truncation: JSONValue?
  public let padding: JSONValue?

  init(
    model: Model, vocabulary: Vocabulary, addedTokens: [AddedToken], normalizer: Normalizer?,
    preTokenizer: PreTokenizer?, postProcessor: PostProcessor?, decoder: Decoder?,
    truncation: JSONValue? = nil, padding: JSONValue? = nil
  ) {
    self.model = model
    self.vocabulary = vocabulary
    self.normalizer = normalizer
    self.preTokenizer = preTokenizer
    self.postProcessor = postProcessor
    self.decoder = decoder
    self.truncation = truncation
    self.padding = padding
    var byID: [Int32: AddedToken] = [:]
    for token in addedTokens { byID[token.id] = token }
    let sorted = byID.values.sorted { $0.id < $1.id }
    self.addedTokens = sorted
    var index: [Int32: Int] = [:]
    var ids: [[UInt8]: Int32] = [:]
    var decodeText: [Int32: [Unicode.Scalar]] = [:]
    var raw = AddedTokenMatcher()
    var normalized = AddedTokenMatcher()
    for (i, token) in sorted.enumerated() {
      index[token.id] = i
      ids[Array(token.content.utf8)] = token.id
      var pattern = Array(token.content.unicodeScalars)
      if token.normalized {
        normalizer?.apply(&pattern)
        normalized.insert(token, pattern: pattern)
      } else {
        raw.insert(token, pattern: pattern)
      }
      decodeText[token.id] = pattern
    }
    addedIndex = index
    addedIDs = ids
    addedDecodeText = decodeText
    rawMatcher = raw
    normalizedMatcher = normalized
  }

  // MARK: Vocabulary

  /// The special added tokens (`<|endoftext|>`, `[CLS]`…), by id.
  public var specialTokens: [AddedToken] { addedTokens.filter(\.special) }

  /// One more than the largest id of the model vocabulary and the added tokens.
  public var vocabularySize: Int { max(vocabulary.count, Int(addedTokens.last?.id ?? -1) + 1) }

  /// The id of a token text (added tokens first, then the model's vocabulary).
  public func tokenID(for token: String) -> Int32? {
    let bytes = Array(token.utf8)
    return addedIDs[bytes] ?? vocabulary.id(bytes)
  }

  /// The text of token `id` as stored (byte-level tokens in their byte-level alphabet, `Ġ` for
  /// a space), or nil when no token has that id.
  public func token(for id: Int32) -> String? {
    if let index = addedIndex[id] { return addedTokens[index].content }
    return vocabulary.entry(id).map { $0.scalars.string }
  }

  /// Whether `id` is a special added token.
  public func isSpecial(_ id: Int32) -> Bool {
    addedIndex[id].map { addedTokens[$0].special } ?? false
  }

  // MARK: Encoding

  /// The ids of `text`.
  /// - Parameters:
  ///   - addSpecialTokens: apply the post-processor (BOS, `[CLS]`/`[SEP]`… as the tokenizer
  ///     says).
  ///   - parseSpecialTokens: match special tokens written in `text`; false encodes their text
  ///     as plain text (`tokenizers`' `encode_special_tokens`; llama.cpp's `parse_special`).
  public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecialTokens: Bool = true)
    -> [Int32]
  {
    var ids: [Int32] = []
    var cache: [[UInt8]: [Int32]] = [:]
    let scalars = Array(text.unicodeScalars)
    for (range, token) in splitAdded(scalars[...], rawMatcher, skipSpecial: !parseSpecialTokens) {
      if let token {
        ids.append(token)
        continue
      }
      var part = Array(scalars[range])
      normalizer?.apply(&part)
      if part.isEmpty { continue }
      for (subrange, subtoken) in splitAdded(part[...], normalizedMatcher, skipSpecial: !parseSpecialTokens) {
        if let subtoken {
          ids.append(subtoken)
          continue
        }
        let piece = Piece(
          scalars: Array(part[subrange]), atStart: range.lowerBound == 0 && subrange.lowerBound == 0)
        let pieces = preTokenizer?.apply([piece]) ?? [piece]
        for piece in pieces { tokenize(piece.scalars, cache: &cache, into: &ids) }
      }
    }
    if let postProcessor { ids = postProcessor.process(ids, addSpecialTokens: addSpecialTokens) }
    return ids
  }

  private func splitAdded(_ s: ArraySlice<Unicode.Scalar>, _ matcher: AddedTokenMatcher, skipSpecial: Bool)
    -> [(Range<Int>, Int32?)]
  {
    if s.isEmpty { return [] }
    if matcher.isEmpty { return [(s.startIndex..<s.endIndex, nil)] }
    return matcher.split(s, skipSpecial: skipSpecial)
  }

  private func tokenize(_ piece: [Unicode.Scalar], cache: inout [[UInt8]: [Int32]], into ids: inout [Int32]) {
    switch model {
    case .bpe(let bpe): bpe.tokenize(piece, cache: &cache, into: &ids)
    case .wordLevel(let wordLevel): wordLevel.tokenize(piece, into: &ids)
    case .wordPiece, .sentencePiece:
      let key = piece.utf8Bytes
      if let hit = cache[key] {
        ids += hit
        return
      }
      var out: [Int32] = []
      if case .wordPiece(let wordPiece) = model { wordPiece.tokenize(piece, into: &out) }
      if case .sentencePiece(let spm) = model { spm.tokenize(key, into: &out) }
      if cache.count > 50_000 { cache.removeAll(keepingCapacity: true) }
      cache[key] = out
      ids += out
    }
  }

  // MARK: Decoding

  /// The text of `ids`, through the decoder (or joined with spaces when there is none).
  /// - Throws: `TokenizerError` of kind `.idOutOfRange` for an id that no token has.
  public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) throws(TokenizerError) -> String {
    try decodeScalars(ids[...], skipSpecialTokens: skipSpecialTokens).string
  }

  func decodeScalars(_ ids: ArraySlice<Int32>, skipSpecialTokens: Bool) throws(TokenizerError) -> [Unicode
    .Scalar]
  {
    var tokens: [[Unicode.Scalar]] = []
    tokens.reserveCapacity(ids.count)
    for (position, id) in zip(ids.indices, ids) {
      if let index = addedIndex[id] {
        if skipSpecialTokens && addedTokens[index].special { continue }
        tokens.append(addedDecodeText[id] ?? Array(addedTokens[index].content.unicodeScalars))
      } else if let entry = vocabulary.entry(id) {
        tokens.append(entry.scalars)
      } else {
        let size = vocabularySize
        throw TokenizerError(
          file: "<ids>", location: "[\(position)]", kind: .idOutOfRange,
          problem: id >= 0 && Int(id) < size
            ? "expected the id of a token, found \(id), which the vocabulary skips"
            : "expected a token id in 0..<\(size), found \(id)")
      }
    }
    guard let decoder else {
      var out: [Unicode.Scalar] = []
      for (i, token) in tokens.enumerated() {
        if i > 0 { out.append(" ") }
        out += token
      }
      return out
    }
    return decoder.decodeChain(tokens).flatMap { $0 }
  }

  /// A decoder for ids that arrive one at a time (generation): it returns text as soon as it is
  /// complete and holds back a partial UTF-8 character.
  public func streamingDecoder(skipSpecialTokens: Bool = false) -> StreamingDecoder {
    StreamingDecoder(tokenizer: self, skipSpecialTokens: skipSpecialTokens)
  }
}

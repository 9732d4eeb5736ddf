import MMCore

/// The tokenizer metadata of a GGUF file (`tokenizer.ggml.*` keys) as plain values, so that
/// this library needs no GGUF reader: the caller reads the keys and fills this in.
public struct GGUFTokenizerMetadata: Sendable {
  /// `tokenizer.ggml.model`: `"gpt2"` (byte-level BPE with merges) or `"llama"` (SentencePiece
  /// with scores).
  public var model: String
  /// `tokenizer.ggml.pre`: the pre-tokenizer llama.cpp applies (`"smollm"`, `"llama-bpe"`,
  /// `"qwen2"`, `"gpt-2"`…); BPE vocabularies need it.
  public var pre: String?
  public var tokens: [String]
  /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
  /// 6 byte. Absent means all normal.
  public var tokenTypes: [Int32]?
  public var scores: [Float]?
  public var merges: [String]?
  public var bosTokenID: Int32?
  public var eosTokenID: Int32?
  public var unknownTokenID: Int32?
  public var paddingTokenID: Int32?
  public var addBOSToken: Bool?
  public var addEOSToken: Bool?
  public var addSpacePrefix: Bool?
  public var chatTemplate: String?

  public init(
    model: String, pre: String? = nil, tokens: [String], tokenTypes: [Int32]? = nil, scores: [Float]? = nil,
    merges: [String]? = nil, bosTokenID: Int32? = nil, eosTokenID: Int32? = nil, unknownTokenID: Int32? = nil,
    paddingTokenID: Int32? = nil, addBOSToken: Bool? = nil, addEOSToken: Bool? = nil,
    addSpacePrefix: Bool? = nil,
    chatTemplate: String? = nil
  ) {
    self.model = model
    self.pre = pre
    self.tokens = tokens
    self.tokenTypes = tokenTypes
    self.scores = scores
    self.merges = merges
    self.bosTokenID = bosTokenID
    self.eosTokenID = eosTokenID
    self.unknownTokenID = unknownTokenID
    self.paddingTokenID = paddingTokenID
    self.addBOSToken = addBOSToken
    self.addEOSToken = addEOSToken
    self.addSpacePrefix = addSpacePrefix
    self.chatTemplate = chatTemplate
  }
}

extension Tokenizer {
  /// llama.cpp's pre-tokenizer names (`tokenizer.ggml.pre`) for byte-level BPE vocabularies,
  /// as the equivalent `tokenizers` pre-tokenizer and whether merges are ignored for pieces
  /// that are whole tokens (Llama 3).
  static func ggufPreTokenizer(_ name: String) -> (PreTokenizer, ignoreMerges: Bool, addBOS: Bool)? {
    let byteLevel = PreTokenizer.byteLevel(addPrefixSpace: false, useRegex: false)
    switch name {
    case "gpt-2", "phi-2", "mpt", "olmo", "jais":
      return (.byteLevel(addPrefixSpace: false, useRegex: true), false, false)
    case "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe":
      return (
        .sequence([.split(.regex(.cl100k(maxDigits: 3)), behavior: .isolated, invert: false), byteLevel]),
        true, true
      )
    case "qwen2", "stablelm2", "deepseek-r1-qwen", "megrez":
      return (
        .sequence([.split(.regex(.cl100k(maxDigits: 1)), behavior: .isolated, invert: false), byteLevel]),
        false, false
      )
    case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone":
      return (
        .sequence([.digits(individual: true), .byteLevel(addPrefixSpace: false, useRegex: true)]), false,
        false
      )
    default:
      return nil
    }
  }

  /// A tokenizer from a GGUF file's vocabulary arrays.
  ///
  /// - `"gpt2"`: byte-level BPE with `merges` and the pre-tokenizer `pre` names; control and
  ///   unknown tokens are special added tokens, user-defined ones plain added tokens.
  /// - `"llama"`: llama.cpp's score-based SentencePiece (`SentencePieceModel`): a space before
  ///   the text (`addSpacePrefix`, default true), spaces as `▁`, `<0xNN>` byte tokens for
  ///   anything else; BOS added by default.
  /// - Throws: `TokenizerError` naming the key (`tokenizer.ggml.merges[12]`) for missing or
  ///   inconsistent arrays, unknown model or pre-tokenizer names, merges naming unknown tokens.
  public init(gguf metadata: GGUFTokenizerMetadata, file: String = "<gguf>") throws(TokenizerError) {
    func fail(_ key: String, _ kind: TokenizerError.Kind, _ problem: String) -> TokenizerError {
      TokenizerError(file: file, location: key, kind: kind, problem: problem)
    }
    let count = metadata.tokens.count
    if let types = metadata.tokenTypes, types.count != count {
      throw fail(
        "tokenizer.ggml.token_type", .schema,
        "expected \(count) token types (one per token), found \(types.count)")
    }
    for (key, id) in [
      ("bos_token_id", metadata.bosTokenID), ("eos_token_id", metadata.eosTokenID),
      ("unknown_token_id", metadata.unknownTokenID), ("padding_token_id", metadata.paddingTokenID),
    ] {
      if let id, id < 0 || Int(id) >= count {
        throw fail("tokenizer.ggml.\(key)", .vocabulary, "expected a token id in 0..<\(count), found \(id)")
      }
    }
    var vocabulary = Vocabulary()
    vocabulary.reserve(count)
    var added: [AddedToken] = []
    for (i, text) in metadata.tokens.enumerated() {
      // llama.cpp keeps the last id of a text written twice; both ids decode to it.
      vocabulary.insertReplacingID(text, id: Int32(i))
      let type = metadata.tokenTypes?[i] ?? 1
      if type == 2 || type == 3 || type == 4 {
        added.append(AddedToken(id: Int32(i), content: text, special: type != 4))
      }
    }
    let unknown = metadata.unknownTokenID ?? metadata.tokenTypes?.firstIndex(of: 2).map { Int32($0) }
    let model: Model
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let decoder: Decoder
    var addBOS: Bool
    switch metadata.model {
    case "gpt2":
      guard let pre = metadata.pre, let (pretokenizer, ignoreMerges, bos) = Self.ggufPreTokenizer(pre) else {
        throw fail(
          "tokenizer.ggml.pre", .unsupported,
          "expected a pre-tokenizer this library implements (gpt-2, llama-bpe/llama3, qwen2, smollm/starcoder…), "
            + "found \(metadata.pre.map { "\"\($0)\"" } ?? "none")")
      }
      guard let lines = metadata.merges else {
        throw fail("tokenizer.ggml.merges", .schema, "expected the merges of a BPE vocabulary, found none")
      }
      var merges: [([UInt8], [UInt8])] = []
      merges.reserveCapacity(lines.count)
      for (i, line) in lines.enumerated() {
        // llama.cpp splits at the first space after the first byte.
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20) else {
          throw fail(
            "tokenizer.ggml.merges[\(i)]", .schema, "expected \"left right\", found \(JSONValue.quoted(line))"
          )
        }
        merges.append((Array(bytes[..<space]), Array(bytes[(space + 1)...])))
      }
      do {
        model = .bpe(
          try BPEModel(
            vocabulary: vocabulary, merges: merges, unknownToken: nil, fuseUnknown: false,
            byteFallback: false,
            ignoreMerges: ignoreMerges, continuingSubwordPrefix: nil, endOfWordSuffix: nil))
      } catch {
        throw fail(
          "tokenizer.ggml.merges[\(error.index)]", .vocabulary,
          "merge \(JSONValue.quoted(lines[error.index])) needs token "
            + "\(JSONValue.quoted(String(decoding: error.token, as: UTF8.self))), which is not in tokenizer.ggml.tokens"
        )
      }
      normalizer = nil
      preTokenizer = pretokenizer
      decoder = .byteLevel
      addBOS = bos
    case "llama":
      guard let scores = metadata.scores else {
        throw fail(
          "tokenizer.ggml.scores", .schema, "expected the scores of a SentencePiece vocabulary, found none")
      }
      guard scores.count == count else {
        throw fail(
          "tokenizer.ggml.scores", .schema, "expected \(count) scores (one per token), found \(scores.count)")
      }
      model = .sentencePiece(SentencePieceModel(vocabulary: vocabulary, scores: scores, unknownID: unknown))
      let prefix = metadata.addSpacePrefix ?? true
      normalizer = .sequence(
        (prefix ? [.prepend(["\u{2581}"])] : []) + [.replace(pattern: [" "], content: ["\u{2581}"])])
      preTokenizer = nil
      decoder = .sequence(
        [.replace(pattern: ["\u{2581}"], content: [" "]), .byteFallback, .fuse]
          + (prefix ? [.strip(content: " ", start: 1, stop: 0)] : []))
      addBOS = true
    default:
      throw fail(
        "tokenizer.ggml.model", .unsupported,
        "expected \"gpt2\" (byte-level BPE) or \"llama\" (SentencePiece), found \(JSONValue.quoted(metadata.model))"
      )
    }
    addBOS = metadata.addBOSToken ?? addBOS
    let addEOS = metadata.addEOSToken ?? false
    var template: [PostProcessor.Piece] = [.sequence]
    if addBOS {
      guard let bos = metadata.bosTokenID else {
        throw fail(
          "tokenizer.ggml.bos_token_id", .schema, "add_bos_token is true, but bos_token_id is not set")
      }
      template.insert(.special([bos]), at: 0)
    }
    if addEOS {
      guard let eos = metadata.eosTokenID else {
        throw fail(
          "tokenizer.ggml.eos_token_id", .schema, "add_eos_token is true, but eos_token_id is not set")
      }
      template.append(.special([eos]))
    }
    self.init(
      model: model, vocabulary: vocabulary, addedTokens: added, normalizer: normalizer,
      preTokenizer: preTokenizer,
      postProcessor: .template(template), decoder: decoder)
    bosTokenID = metadata.bosTokenID
    eosTokenID = metadata.eosTokenID
    unknownTokenID = unknown
    paddingTokenID = metadata.paddingTokenID
    chatTemplate = metadata.chatTemplate
  }
}

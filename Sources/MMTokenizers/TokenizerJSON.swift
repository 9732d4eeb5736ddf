import Foundation
import MMCore

extension Tokenizer {
  /// Loads a Hugging Face `tokenizer.json`.
  /// - Throws: `TokenizerError` naming the file, the JSON location and what was expected versus
  ///   found: unreadable file, malformed JSON, a missing or mistyped field, a component or an
  ///   option this library does not implement (never ignored), merges naming unknown tokens.
  public init(contentsOf path: String) throws(TokenizerError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TokenizerError(file: path, kind: .io, problem: "cannot read the file")
    }
    try self.init(tokenizerJSON: [UInt8](data), file: path)
  }

  /// Parses the UTF-8 text of a `tokenizer.json`; `file` names it in errors.
  public init(tokenizerJSON bytes: [UInt8], file: String = "tokenizer.json") throws(TokenizerError) {
    let root = try JSONSource(file: file, bytes: bytes).parse()
    _ = try root.members()
    if let version = root.optional("version") {
      let text = try version.string()
      guard text == "1.0" else { throw version.fail("expected version \"1.0\", found \(version.found)") }
    }
    let modelNode = try root.required("model", "the model: BPE, WordPiece or WordLevel")
    let (model, vocabulary) = try Self.model(modelNode)
    let normalizer = try root.optional("normalizer").map { node throws(TokenizerError) in
      try Self.normalizer(node)
    }
    let preTokenizer = try root.optional("pre_tokenizer").map { node throws(TokenizerError) in
      try Self.preTokenizer(node)
    }
    let decoder = try root.optional("decoder").map { node throws(TokenizerError) in try Self.decoder(node) }

    var added: [AddedToken] = []
    var addedByContent: [String: Int32] = [:]
    for node in try root.optional("added_tokens")?.array() ?? [] {
      let content = try node.string("content")
      let jsonID = try node.required("id", "the token id").tokenID()
      // The reference gives an added token the model's id for the same text when there is one.
      var id = vocabulary.id(content) ?? jsonID
      if vocabulary.id(content) == nil, let other = vocabulary.entry(jsonID) {
        throw node.child("id", .number(String(jsonID))).fail(
          "added token \(JSONValue.quoted(content)) has id \(jsonID), which the model gives to "
            + "\(JSONValue.quoted(other.scalars.string))", .vocabulary)
      }
      if let previous = addedByContent[content] { id = previous }
      addedByContent[content] = id
      added.append(
        AddedToken(
          id: id, content: content, special: try node.bool("special", default: false),
          singleWord: try node.bool("single_word", default: false),
          lstrip: try node.bool("lstrip", default: false),
          rstrip: try node.bool("rstrip", default: false),
          normalized: try node.bool("normalized", default: true)))
    }
    let postProcessor = try root.optional("post_processor").map { node throws(TokenizerError) in
      try Self.postProcessor(node)
    }
    self.init(
      model: model, vocabulary: vocabulary, addedTokens: added, normalizer: normalizer,
      preTokenizer: preTokenizer,
      postProcessor: postProcessor, decoder: decoder, truncation: root.optional("truncation")?.value,
      padding: root.optional("padding")?.value)
    if case .bpe(let bpe) = model { unknownTokenID = bpe.unknownID }
    if case .wordPiece(let wordPiece) = model { unknownTokenID = wordPiece.unknownID }
  }

  // MARK: Model

  private static func vocabulary(_ node: JSONNode) throws(TokenizerError) -> Vocabulary {
    var vocabulary = Vocabulary()
    let members = try node.members()
    vocabulary.reserve(members.count)
    // Ids may skip numbers, but not by millions: the table of texts by id is an array.
    let limit = members.count + (1 << 20)
    for member in members {
      if let id = member.value.int, id >= limit {
        throw node.child(member.key, member.value).fail(
          "expected a token id below \(limit) for a vocabulary of \(members.count) tokens, found \(id)")
      }
      guard let id = member.value.int, id >= 0, id <= Int(Int32.max) else {
        throw node.child(member.key, member.value).fail(
          "expected a token id (an integer 0...\(Int32.max)), found \(node.child(member.key, member.value).found)"
        )
      }
      if let existing = vocabulary.insert(member.key, id: Int32(id)) {
        throw node.child(member.key, member.value).fail(
          "id \(id) of \(JSONValue.quoted(member.key)) is already the id of "
            + "\(JSONValue.quoted(vocabulary.entry(existing)?.scalars.string ?? ""))", .vocabulary)
      }
    }
    return vocabulary
  }

  private static func model(_ node: JSONNode) throws(TokenizerError) -> (Model, Vocabulary) {
    let type = try node.optionalString("type") ?? (node.optional("merges") != nil ? "BPE" : "")
    switch type {
    case "BPE":
      try node.checkKnownMembers(
        [
          "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
          "byte_fallback",
          "ignore_merges", "vocab", "merges",
        ], component: "BPE")
      if let dropout = node.optional("dropout"), let p = dropout.value.double, p != 0 {
        throw dropout.fail("BPE dropout \(p) is random sampling; only null or 0 is supported", .unsupported)
      }
      let vocabulary = try vocabulary(node.required("vocab", "an object of token → id"))
      let mergesNode = try node.required("merges", "an array of merges")
      var merges: [([UInt8], [UInt8])] = []
      for item in try mergesNode.array() {
        switch item.value {
        case .string(let line):
          let parts = line.split(separator: " ", omittingEmptySubsequences: false)
          guard parts.count == 2 else {
            throw item.fail("expected a merge \"left right\" (two tokens and one space), found \(item.found)")
          }
          merges.append((Array(parts[0].utf8), Array(parts[1].utf8)))
        case .array(let pair) where pair.count == 2:
          guard let a = pair[0].string, let b = pair[1].string else {
            throw item.fail("expected a merge [\"left\", \"right\"] of two strings, found \(item.found)")
          }
          merges.append((Array(a.utf8), Array(b.utf8)))
        default:
          throw item.fail("expected a merge \"left right\" or [\"left\", \"right\"], found \(item.found)")
        }
      }
      let unknown = try node.optionalString("unk_token")
      let fuseUnknown = try node.bool("fuse_unk", default: false)
      let byteFallback = try node.bool("byte_fallback", default: false)
      let ignoreMerges = try node.bool("ignore_merges", default: false)
      let prefix = try node.optionalString("continuing_subword_prefix").map { Array($0.utf8) }
      let suffix = try node.optionalString("end_of_word_suffix").map { Array($0.utf8) }
      do {
        let bpe = try BPEModel(
          vocabulary: vocabulary, merges: merges, unknownToken: unknown.map { Array($0.utf8) },
          fuseUnknown: fuseUnknown, byteFallback: byteFallback, ignoreMerges: ignoreMerges,
          continuingSubwordPrefix: prefix, endOfWordSuffix: suffix)
        return (.bpe(bpe), vocabulary)
      } catch {
        let token = JSONValue.quoted(String(decoding: error.token, as: UTF8.self))
        if error.index < 0 {
          throw node.child("unk_token", .string(unknown ?? "")).fail(
            "unk_token \(token) is not in /model/vocab", .vocabulary)
        }
        let merge = try mergesNode.array()[error.index]
        throw merge.fail(
          "merge \(merge.found) needs token \(token), which is not in /model/vocab", .vocabulary)
      }
    case "WordPiece":
      try node.checkKnownMembers(
        ["unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"],
        component: "WordPiece")
      let vocabulary = try vocabulary(node.required("vocab", "an object of token → id"))
      let unknownNode = try node.required("unk_token", "the unknown token")
      guard let unknown = vocabulary.id(try unknownNode.string()) else {
        throw unknownNode.fail("unk_token \(unknownNode.found) is not in /model/vocab", .vocabulary)
      }
      let model = WordPieceModel(
        vocabulary: vocabulary, unknownID: unknown,
        continuingSubwordPrefix: Array((try node.optionalString("continuing_subword_prefix") ?? "##").utf8),
        maxInputCharsPerWord: try node.optional("max_input_chars_per_word")?.int() ?? 100)
      return (.wordPiece(model), vocabulary)
    case "WordLevel":
      try node.checkKnownMembers(["vocab", "unk_token"], component: "WordLevel")
      let vocabulary = try vocabulary(node.required("vocab", "an object of token → id"))
      let unknown = try node.optionalString("unk_token").flatMap { vocabulary.id($0) }
      return (.wordLevel(WordLevelModel(vocabulary: vocabulary, unknownID: unknown)), vocabulary)
    default:
      let where_ = node.optional("type") ?? node
      throw where_.fail(
        "expected a model type BPE, WordPiece or WordLevel, found \(type.isEmpty ? "none" : "\"\(type)\"")"
          + (type == "Unigram" ? " (Unigram is not implemented)" : ""), .unsupported)
    }
  }

  // MARK: Normalizers, pre-tokenizers

  /// A `{"String": …}` / `{"Regex": …}` pattern as literal scalars (a regex only when it has no
  /// metacharacters).
  private static func literalPattern(_ node: JSONNode) throws(TokenizerError) -> [Unicode.Scalar] {
    if let literal = node.optional("String") { return Array(try literal.string().unicodeScalars) }
    if let regex = node.optional("Regex") {
      let text = try regex.string()
      if text.unicodeScalars.allSatisfy({ !"\\^$.|?*+()[]{}".unicodeScalars.contains($0) }) {
        return Array(text.unicodeScalars)
      }
      throw regex.fail(
        "this regex has no implementation here (only literal patterns): \(regex.found)", .unsupported)
    }
    throw node.fail("expected {\"String\": …} or {\"Regex\": …}, found \(node.found)")
  }

  static func normalizer(_ node: JSONNode) throws(TokenizerError) -> Normalizer {
    let type = try node.typeTag()
    func known(_ keys: Set<String>) throws(TokenizerError) {
      try node.checkKnownMembers(keys, component: type)
    }
    switch type {
    case "Sequence":
      try known(["normalizers"])
      var steps: [Normalizer] = []
      for item in try node.required("normalizers", "an array of normalizers").array() {
        steps.append(try normalizer(item))
      }
      return .sequence(steps)
    case "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents", "Nmt":
      try known([])
      let simple: [String: Normalizer] = [
        "NFC": .nfc, "NFD": .nfd, "NFKC": .nfkc, "NFKD": .nfkd, "Lowercase": .lowercase,
        "StripAccents": .stripAccents, "Nmt": .nmt,
      ]
      return simple[type]!
    case "BertNormalizer":
      try known(["clean_text", "handle_chinese_chars", "strip_accents", "lowercase"])
      let lowercase = try node.bool("lowercase", default: true)
      return .bert(
        cleanText: try node.bool("clean_text", default: true),
        handleChineseChars: try node.bool("handle_chinese_chars", default: true),
        stripAccents: try node.optional("strip_accents")?.bool() ?? lowercase, lowercase: lowercase)
    case "Strip":
      try known(["strip_left", "strip_right"])
      return .strip(
        left: try node.bool("strip_left", default: true), right: try node.bool("strip_right", default: true))
    case "Replace":
      try known(["pattern", "content"])
      return .replace(
        pattern: try literalPattern(node.required("pattern", "{\"String\": …}")),
        content: Array(try node.string("content").unicodeScalars))
    case "Prepend":
      try known(["prepend"])
      return .prepend(Array(try node.string("prepend").unicodeScalars))
    case "ByteLevel":
      try known([])
      return .byteLevel
    default:
      throw (node.optional("type") ?? node).fail(
        "expected a normalizer type (Sequence, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Nmt, "
          + "BertNormalizer, Strip, Replace, Prepend, ByteLevel), found \"\(type)\"", .unsupported)
    }
  }

  private static func behavior(_ node: JSONNode, key: String) throws(TokenizerError) -> SplitBehavior {
    guard let value = node.optional(key) else { return .isolated }
    let text = try value.string()
    guard let behavior = SplitBehavior(rawValue: text) else {
      throw value.fail(
        "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous, found \(value.found)")
    }
    return behavior
  }

  static func preTokenizer(_ node: JSONNode) throws(TokenizerError) -> PreTokenizer {
    let type = try node.typeTag()
    func known(_ keys: Set<String>) throws(TokenizerError) {
      try node.checkKnownMembers(keys, component: type)
    }
    switch type {
    case "Sequence":
      try known(["pretokenizers"])
      var steps: [PreTokenizer] = []
      for item in try node.required("pretokenizers", "an array of pre-tokenizers").array() {
        steps.append(try preTokenizer(item))
      }
      return .sequence(steps)
    case "ByteLevel":
      // trim_offsets changes offsets only, never ids.
      try known(["add_prefix_space", "trim_offsets", "use_regex"])
      return .byteLevel(
        addPrefixSpace: try node.bool("add_prefix_space", default: true),
        useRegex: try node.bool("use_regex", default: true))
    case "Split":
      try known(["pattern", "behavior", "invert"])
      let patternNode = try node.required("pattern", "{\"String\": …} or {\"Regex\": …}")
      let pattern: SplitPattern
      if let regex = patternNode.optional("Regex") {
        let text = try regex.string()
        if let scanner = SplitRegex.recognize(text) {
          pattern = .regex(scanner)
        } else if text.unicodeScalars.allSatisfy({ !"\\^$.|?*+()[]{}".unicodeScalars.contains($0) }) {
          pattern = .literal(Array(text.unicodeScalars))
        } else {
          throw regex.fail(
            "no scanner for this regex: the GPT-2, Llama 3 / GPT-4 (cl100k) and Qwen2 patterns and "
              + "\\w+|[^\\w\\s]+ are implemented; found \(regex.found)", .unsupported)
        }
      } else {
        pattern = .literal(try literalPattern(patternNode))
      }
      return .split(
        pattern, behavior: try behavior(node, key: "behavior"),
        invert: try node.bool("invert", default: false))
    case "Digits":
      try known(["individual_digits"])
      return .digits(individual: try node.bool("individual_digits", default: false))
    case "Metaspace":
      try known(["replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"])
      let replacementNode = try node.required("replacement", "one character")
      let replacement = Array(try replacementNode.string().unicodeScalars)
      guard replacement.count == 1 else {
        throw replacementNode.fail("expected one character, found \(replacementNode.found)")
      }
      return .metaspace(
        replacement: replacement[0], prependScheme: try prependScheme(node),
        split: try node.bool("split", default: true))
    case "Whitespace":
      try known([])
      return .whitespace
    case "WhitespaceSplit":
      try known([])
      return .whitespaceSplit
    case "BertPreTokenizer":
      try known([])
      return .bert
    case "Punctuation":
      try known(["behavior"])
      return .punctuation(try behavior(node, key: "behavior"))
    case "CharDelimiterSplit":
      try known(["delimiter"])
      let delimiterNode = try node.required("delimiter", "one character")
      let delimiter = Array(try delimiterNode.string().unicodeScalars)
      guard delimiter.count == 1 else {
        throw delimiterNode.fail("expected one character, found \(delimiterNode.found)")
      }
      return .split(.scalar(delimiter[0]), behavior: .removed, invert: false)
    default:
      throw (node.optional("type") ?? node).fail(
        "expected a pre-tokenizer type (Sequence, ByteLevel, Split, Digits, Metaspace, Whitespace, "
          + "WhitespaceSplit, BertPreTokenizer, Punctuation, CharDelimiterSplit), found \"\(type)\"",
        .unsupported)
    }
  }

  /// Metaspace's `prepend_scheme`, or the legacy `add_prefix_space` (false means never).
  private static func prependScheme(_ node: JSONNode) throws(TokenizerError) -> PrependScheme {
    var scheme = PrependScheme.always
    if let value = node.optional("prepend_scheme") {
      guard let parsed = PrependScheme(rawValue: try value.string()) else {
        throw value.fail("expected \"always\", \"first\" or \"never\", found \(value.found)")
      }
      scheme = parsed
    }
    if let legacy = node.optional("add_prefix_space"), try legacy.bool() == false {
      guard node.optional("prepend_scheme") == nil || scheme == .never else {
        throw legacy.fail("add_prefix_space false does not match prepend_scheme \"\(scheme.rawValue)\"")
      }
      scheme = .never
    }
    return scheme
  }

  // MARK: Decoders, post-processors

  static func decoder(_ node: JSONNode) throws(TokenizerError) -> Decoder {
    let type = try node.typeTag()
    func known(_ keys: Set<String>) throws(TokenizerError) {
      try node.checkKnownMembers(keys, component: type)
    }
    switch type {
    case "Sequence":
      try known(["decoders"])
      var steps: [Decoder] = []
      for item in try node.required("decoders", "an array of decoders").array() {
        steps.append(try decoder(item))
      }
      return .sequence(steps)
    case "ByteLevel":
      try known(["add_prefix_space", "trim_offsets", "use_regex"])
      return .byteLevel
    case "Metaspace":
      try known(["replacement", "prepend_scheme", "split", "add_prefix_space", "str_rep"])
      let replacementNode = try node.required("replacement", "one character")
      let replacement = Array(try replacementNode.string().unicodeScalars)
      guard replacement.count == 1 else {
        throw replacementNode.fail("expected one character, found \(replacementNode.found)")
      }
      return .metaspace(replacement: replacement[0], prependScheme: try prependScheme(node))
    case "WordPiece":
      try known(["prefix", "cleanup"])
      return .wordPiece(
        prefix: Array((try node.optionalString("prefix") ?? "##").unicodeScalars),
        cleanup: try node.bool("cleanup", default: true))
    case "BPEDecoder":
      try known(["suffix"])
      return .bpe(suffix: Array((try node.optionalString("suffix") ?? "</w>").unicodeScalars))
    case "ByteFallback":
      try known([])
      return .byteFallback
    case "Fuse":
      try known([])
      return .fuse
    case "Strip":
      try known(["content", "start", "stop"])
      let contentNode = try node.required("content", "one character")
      let content = Array(try contentNode.string().unicodeScalars)
      guard content.count == 1 else {
        throw contentNode.fail("expected one character, found \(contentNode.found)")
      }
      return .strip(content: content[0], start: try node.int("start"), stop: try node.int("stop"))
    case "Replace":
      try known(["pattern", "content"])
      return .replace(
        pattern: try literalPattern(node.required("pattern", "{\"String\": …}")),
        content: Array(try node.string("content").unicodeScalars))
    default:
      throw (node.optional("type") ?? node).fail(
        "expected a decoder type (Sequence, ByteLevel, Metaspace, WordPiece, BPEDecoder, ByteFallback, Fuse, "
          + "Strip, Replace), found \"\(type)\"", .unsupported)
    }
  }

  static func postProcessor(_ node: JSONNode) throws(TokenizerError) -> PostProcessor {
    let type = try node.typeTag()
    func known(_ keys: Set<String>) throws(TokenizerError) {
      try node.checkKnownMembers(keys, component: type)
    }
    /// `["[CLS]", 101]`
    func pair(_ key: String) throws(TokenizerError) -> Int32 {
      let value = try node.required(key, "[token, id]")
      let items = try value.array()
      guard items.count == 2, items[0].value.string != nil else {
        throw value.fail("expected [token, id], found \(value.found)")
      }
      return try items[1].tokenID()
    }
    switch type {
    case "Sequence":
      try known(["processors"])
      var steps: [PostProcessor] = []
      for item in try node.required("processors", "an array of post-processors").array() {
        steps.append(try postProcessor(item))
      }
      return .sequence(steps)
    case "ByteLevel":
      try known(["add_prefix_space", "trim_offsets", "use_regex"])
      return .byteLevel
    case "BertProcessing":
      try known(["sep", "cls"])
      return .template([.special([try pair("cls")]), .sequence, .special([try pair("sep")])])
    case "RobertaProcessing":
      try known(["sep", "cls", "trim_offsets", "add_prefix_space"])
      return .template([.special([try pair("cls")]), .sequence, .special([try pair("sep")])])
    case "TemplateProcessing":
      try known(["single", "pair", "special_tokens"])
      var specials: [String: [Int32]] = [:]
      if let table = node.optional("special_tokens") {
        for member in try table.members() {
          let entry = table.child(member.key, member.value)
          var ids: [Int32] = []
          for id in try entry.required("ids", "an array of ids").array() { ids.append(try id.tokenID()) }
          specials[member.key] = ids
        }
      }
      var pieces: [PostProcessor.Piece] = []
      for item in try node.required("single", "the single-sequence template").array() {
        if let sequence = item.optional("Sequence") {
          let id = try sequence.string("id")
          guard id == "A" else {
            throw sequence.fail("expected sequence \"A\" in the single template, found \"\(id)\"")
          }
          pieces.append(.sequence)
        } else if let special = item.optional("SpecialToken") {
          let idNode = try special.required("id", "the special token")
          let name = try idNode.string()
          guard let ids = specials[name] else {
            throw idNode.fail(
              "special token \(idNode.found) is not in /post_processor/special_tokens", .vocabulary)
          }
          pieces.append(.special(ids))
        } else {
          throw item.fail("expected {\"Sequence\": …} or {\"SpecialToken\": …}, found \(item.found)")
        }
      }
      return .template(pieces)
    default:
      throw (node.optional("type") ?? node).fail(
        "expected a post-processor type (Sequence, ByteLevel, TemplateProcessing, BertProcessing, "
          + "RobertaProcessing), found \"\(type)\"", .unsupported)
    }
  }
}

import Foundation
import MMCore

/// The parts of a Hugging Face `tokenizer_config.json` that matter without `transformers`:
/// the BOS/EOS/UNK/PAD tokens, whether BOS/EOS are added, and the chat template(s).
public struct TokenizerConfig: Sendable {
  public var bosToken: String?
  public var eosToken: String?
  public var unknownToken: String?
  public var paddingToken: String?
  /// `add_bos_token` / `add_eos_token`, when the file says.
  public var addBOSToken: Bool?
  public var addEOSToken: Bool?
  /// The default chat template (`chat_template` as a string, or the entry named "default").
  public var chatTemplate: String?
  /// Every named template when `chat_template` is a list of `{"name", "template"}`.
  public var chatTemplates: [String: String]
  public var modelMaxLength: Int?

  public init(contentsOf path: String) throws(TokenizerError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TokenizerError(file: path, kind: .io, problem: "cannot read the file")
    }
    try self.init(json: [UInt8](data), file: path)
  }

  public init(json bytes: [UInt8], file: String = "tokenizer_config.json") throws(TokenizerError) {
    let root = try JSONSource(file: file, bytes: bytes).parse()
    _ = try root.members()
    /// A token written as a string or as an AddedToken object `{"content": …}`.
    func token(_ key: String) throws(TokenizerError) -> String? {
      guard let node = root.optional(key) else { return nil }
      if case .object = node.value { return try node.string("content") }
      return try node.string()
    }
    bosToken = try token("bos_token")
    eosToken = try token("eos_token")
    unknownToken = try token("unk_token")
    paddingToken = try token("pad_token")
    addBOSToken = try root.optional("add_bos_token")?.bool()
    addEOSToken = try root.optional("add_eos_token")?.bool()
    chatTemplates = [:]
    chatTemplate = nil
    if let template = root.optional("chat_template") {
      if case .array = template.value {
        for entry in try template.array() {
          chatTemplates[try entry.string("name")] = try entry.string("template")
        }
        chatTemplate = chatTemplates["default"]
      } else {
        chatTemplate = try template.string()
      }
    }
    // Integers only: configs write 1e30 (a float) for "no limit".
    modelMaxLength = root.optional("model_max_length")?.value.int
  }
}

extension Tokenizer {
  /// Loads `tokenizer.json` from `directory`, and `tokenizer_config.json` when it is there.
  public init(directory: String) throws(TokenizerError) {
    try self.init(contentsOf: directory + "/tokenizer.json")
    let configPath = directory + "/tokenizer_config.json"
    if FileManager.default.fileExists(atPath: configPath) {
      self = try applying(TokenizerConfig(contentsOf: configPath), file: configPath)
    }
  }

  /// This tokenizer with the config's BOS/EOS/UNK/PAD ids and chat template. When the config
  /// says `add_bos_token` or `add_eos_token`, the post-processor becomes `[BOS] $A [EOS]` as
  /// those flags say (what `transformers` does for Llama-style tokenizers); otherwise the
  /// tokenizer.json post-processor stays.
  /// - Throws: `.vocabulary` when a named token is not in the vocabulary.
  public func applying(_ config: TokenizerConfig, file: String = "tokenizer_config.json")
    throws(TokenizerError)
    -> Tokenizer
  {
    var copy = self
    func id(_ token: String?, _ key: String) throws(TokenizerError) -> Int32? {
      guard let token else { return nil }
      guard let id = tokenID(for: token) else {
        throw TokenizerError(
          file: file, location: "/" + key, kind: .vocabulary,
          problem: "\(key) \(JSONValue.quoted(token)) is not a token of the tokenizer")
      }
      return id
    }
    copy.bosTokenID = try id(config.bosToken, "bos_token") ?? bosTokenID
    copy.eosTokenID = try id(config.eosToken, "eos_token") ?? eosTokenID
    copy.unknownTokenID = try id(config.unknownToken, "unk_token") ?? unknownTokenID
    copy.paddingTokenID = try id(config.paddingToken, "pad_token") ?? paddingTokenID
    copy.chatTemplate = config.chatTemplate ?? chatTemplate
    if config.addBOSToken != nil || config.addEOSToken != nil {
      var template: [PostProcessor.Piece] = [.sequence]
      if config.addBOSToken == true {
        guard let bos = copy.bosTokenID else {
          throw TokenizerError(
            file: file, location: "/add_bos_token", kind: .schema,
            problem: "add_bos_token is true, but there is no bos_token")
        }
        template.insert(.special([bos]), at: 0)
      }
      if config.addEOSToken == true {
        guard let eos = copy.eosTokenID else {
          throw TokenizerError(
            file: file, location: "/add_eos_token", kind: .schema,
            problem: "add_eos_token is true, but there is no eos_token")
        }
        template.append(.special([eos]))
      }
      copy.postProcessor = .template(template)
    }
    return copy
  }
}

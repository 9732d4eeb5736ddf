import Foundation
import MMChat
import MMCore
import MMGraph
import MMLLM
import MMTokenizers
import MMWeights

/// A model's tokenizer, chat template and stop tokens: everything a prompt needs, read without
/// the weights — from a GGUF file's `tokenizer.*` metadata or a Hugging Face folder's
/// tokenizer.json + tokenizer_config.json — so the prompt can be checked before anything runs.
/// Loaded once per process and path.
final class ChatFormat: Sendable {
  let tokenizer: Tokenizer
  let template: ChatTemplate?
  /// Token ids that end a reply: EOS and the end-of-turn tokens of the common templates.
  let stopTokens: Set<Int32>
  let bosToken: String?
  let eosToken: String?

  private static let loaded = LoadedModels<ChatFormat>()

  /// The format of the model at `path`, reading it the first time.
  static func shared(_ path: String) throws -> ChatFormat {
    try loaded(path) {
      let format = try ChatFormat(path: path)
      return format
    }
  }

  init(path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw LanguageModelError(
        "\(path): no such model file or folder (fetch it with Scripts/fetch-models.sh)")
    }
    var templateSource: String?
    if isDirectory.boolValue {
      tokenizer = try Tokenizer(contentsOf: path + "/tokenizer.json")
      let configPath = path + "/tokenizer_config.json"
      if FileManager.default.fileExists(atPath: configPath) {
        let config = try TokenizerConfig(contentsOf: configPath)
        templateSource = config.chatTemplate
        bosToken = config.bosToken
        eosToken = config.eosToken
      } else {
        (bosToken, eosToken) = (nil, nil)
      }
    } else {
      let file = try GGUFFile(path: path)
      let metadata = try Self.tokenizerMetadata(file)
      let vocabulary = try Tokenizer(gguf: metadata, file: path)
      tokenizer = vocabulary
      templateSource = metadata.chatTemplate
      bosToken = metadata.bosTokenID.flatMap { vocabulary.token(for: $0) }
      eosToken = metadata.eosTokenID.flatMap { vocabulary.token(for: $0) }
    }
    template = try templateSource.map { try ChatTemplate(source: $0) }
    var stops = Set<Int32>()
    if let eos = tokenizer.eosTokenID { stops.insert(eos) }
    for name in [
      "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "<end_of_turn>", "<|end|>", "</s>",
    ] {
      if let id = tokenizer.tokenID(for: name), tokenizer.isSpecial(id) { stops.insert(id) }
    }
    stopTokens = stops
  }

  /// The `tokenizer.ggml.*` keys of a GGUF file.
  static func tokenizerMetadata(_ file: GGUFFile) throws -> GGUFTokenizerMetadata {
    guard let model = try file.string("tokenizer.ggml.model"),
      let tokens = try file.strings("tokenizer.ggml.tokens")
    else {
      throw LanguageModelError(
        "\(file.path): no tokenizer.ggml.model / tokenizer.ggml.tokens: the GGUF carries no vocabulary")
    }
    func id(_ key: String) throws -> Int32? { try file.int(key).map { Int32(truncatingIfNeeded: $0) } }
    return GGUFTokenizerMetadata(
      model: model, pre: try file.string("tokenizer.ggml.pre"), tokens: tokens,
      tokenTypes: try file.ints("tokenizer.ggml.token_type")?.map { Int32(truncatingIfNeeded: $0) },
      scores: try file.floats("tokenizer.ggml.scores")?.map { Float($0) },
      merges: try file.strings("tokenizer.ggml.merges"),
      bosTokenID: try id("tokenizer.ggml.bos_token_id"), eosTokenID: try id("tokenizer.ggml.eos_token_id"),
      unknownTokenID: try id("tokenizer.ggml.unknown_token_id"),
      paddingTokenID: try id("tokenizer.ggml.padding_token_id"),
      addBOSToken: try file.bool("tokenizer.ggml.add_bos_token"),
      addEOSToken: try file.bool("tokenizer.ggml.add_eos_token"),
      addSpacePrefix: try file.bool("tokenizer.ggml.add_space_prefix"),
      chatTemplate: try file.string("tokenizer.chat_template"))
  }

  /// The conversation rendered by the model's chat template with a generation prompt, or nil
  /// when there is no template or `raw` asks for the text as is.
  func rendered(system: String?, user: String, raw: Bool) throws -> String? {
    guard !raw, let template else { return nil }
    var messages: [ChatMessage] = []
    if let system, !system.isEmpty { messages.append(ChatMessage(role: "system", content: system)) }
    messages.append(ChatMessage(role: "user", content: user))
    var variables: [String: JSONValue] = [:]
    if let bosToken { variables["bos_token"] = .string(bosToken) }
    if let eosToken { variables["eos_token"] = .string(eosToken) }
    return try template.render(messages: messages, addGenerationPrompt: true, variables: variables)
  }

  /// The prompt ids for a conversation: the model's chat template rendered with a generation
  /// prompt and tokenized without adding special tokens (as transformers' `apply_chat_template`),
  /// or — without a template or with `raw` — the text itself with the tokenizer's own specials.
  func promptIDs(system: String?, user: String, raw: Bool) throws -> [Int32] {
    guard let text = try rendered(system: system, user: user, raw: raw) else {
      return tokenizer.encode(user, addSpecialTokens: true)
    }
    return tokenizer.encode(text, addSpecialTokens: false)
  }
}

struct LanguageModelError: Error, CustomStringConvertible {
  let description: String
  init(_ message: String) { description = message }
}

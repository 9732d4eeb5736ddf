import Foundation
import MMCore
import MMNN
import MMTokenizers
import MMWeights

/// The shape and decoding constants of a Whisper model: Hugging Face's `WhisperConfig` (the
/// `config.json` of `WhisperForConditionalGeneration`), or the same values read from a
/// CTranslate2 `model.bin` (tensor shapes and `num_heads` attributes) and its `config.json`
/// (`suppress_ids`, `suppress_ids_begin`).
public struct WhisperConfiguration: Sendable, Equatable {
  public var dModel: Int
  public var encoderLayers: Int
  public var decoderLayers: Int
  public var encoderHeads: Int
  public var decoderHeads: Int
  public var encoderFFN: Int
  public var decoderFFN: Int
  /// Mel bins of the input features (80, or 128 for large-v3).
  public var melBins: Int
  /// Encoder positions: input frames / 2 (1500 for 30 s).
  public var maxSourcePositions: Int
  /// Decoder positions: the longest token sequence, prompt included (448).
  public var maxTargetPositions: Int
  public var vocabSize: Int
  /// `<|startoftranscript|>` (`decoder_start_token_id`).
  public var decoderStartTokenID: Int32
  /// `<|endoftext|>` (`eos_token_id`).
  public var eosTokenID: Int32
  /// Never generated (−∞ logits at every step).
  public var suppressTokens: [Int32]
  /// Not generated as the first token (a blank, `<|endoftext|>`).
  public var beginSuppressTokens: [Int32]
  public var layerNormEps: Float

  public init(
    dModel: Int, encoderLayers: Int, decoderLayers: Int, encoderHeads: Int, decoderHeads: Int,
    encoderFFN: Int, decoderFFN: Int, melBins: Int = 80, maxSourcePositions: Int = 1500,
    maxTargetPositions: Int = 448, vocabSize: Int, decoderStartTokenID: Int32, eosTokenID: Int32,
    suppressTokens: [Int32] = [], beginSuppressTokens: [Int32] = [], layerNormEps: Float = 1e-5
  ) {
    self.dModel = dModel
    self.encoderLayers = encoderLayers
    self.decoderLayers = decoderLayers
    self.encoderHeads = encoderHeads
    self.decoderHeads = decoderHeads
    self.encoderFFN = encoderFFN
    self.decoderFFN = decoderFFN
    self.melBins = melBins
    self.maxSourcePositions = maxSourcePositions
    self.maxTargetPositions = maxTargetPositions
    self.vocabSize = vocabSize
    self.decoderStartTokenID = decoderStartTokenID
    self.eosTokenID = eosTokenID
    self.suppressTokens = suppressTokens
    self.beginSuppressTokens = beginSuppressTokens
    self.layerNormEps = layerNormEps
  }

  /// Multilingual checkpoints have 51865 or more tokens (transformers' and CTranslate2's test);
  /// English-only (`.en`) ones 51864. The tiny test model counts as English-only.
  public var isMultilingual: Bool { vocabSize >= 51865 }

  /// Input frames the encoder takes: 2 · max source positions (3000 = 30 s of 10 ms hops).
  public var inputFrames: Int { 2 * maxSourcePositions }

  /// Checks the values fit together; `source` names the file for messages.
  public func validated(source: String) throws(ModelError) -> WhisperConfiguration {
    func fail(_ problem: String) -> ModelError { .configuration(source: source, problem: problem) }
    let positive: [(String, Int)] = [
      ("d_model", dModel), ("encoder_layers", encoderLayers), ("decoder_layers", decoderLayers),
      ("encoder_attention_heads", encoderHeads), ("decoder_attention_heads", decoderHeads),
      ("encoder_ffn_dim", encoderFFN), ("decoder_ffn_dim", decoderFFN), ("num_mel_bins", melBins),
      ("max_source_positions", maxSourcePositions), ("max_target_positions", maxTargetPositions),
      ("vocab_size", vocabSize),
    ]
    for (name, value) in positive where value <= 0 { throw fail("'\(name)' is \(value), expected > 0") }
    for (name, heads) in [("encoder", encoderHeads), ("decoder", decoderHeads)] where dModel % heads != 0 {
      throw fail("d_model \(dModel) is not divisible by \(heads) \(name) attention heads")
    }
    let ids: [(String, Int32)] =
      [("decoder_start_token_id", decoderStartTokenID), ("eos_token_id", eosTokenID)]
      + suppressTokens.map { ("suppress_tokens", $0) }
      + beginSuppressTokens.map { ("begin_suppress_tokens", $0) }
    for (name, id) in ids where id < 0 || Int(id) >= vocabSize {
      throw fail("'\(name)' holds token \(id), outside the vocabulary of \(vocabSize)")
    }
    guard layerNormEps >= 0 else { throw fail("layer norm eps \(layerNormEps) is negative") }
    return self
  }
}

// MARK: - Hugging Face config.json

extension WhisperConfiguration {
  /// Reads a Hugging Face `config.json` (`model_type` "whisper").
  public init(configPath path: String) throws(ModelError) {
    let json = try readJSON(path)
    try self.init(json: json, source: path)
  }

  public init(json: JSONValue, source: String = "config.json") throws(ModelError) {
    let reader = JSONReader(json: json, source: source)
    guard json.members != nil else { throw reader.fail("expected a JSON object, found \(json.typeName)") }
    if let type = json["model_type"]?.string, type != "whisper" {
      throw reader.fail("'model_type' is '\(type)', expected 'whisper'")
    }
    if let activation = json["activation_function"]?.string, activation != "gelu" {
      throw reader.fail("'activation_function' is '\(activation)'; only 'gelu' is supported")
    }
    if json["scale_embedding"]?.bool == true {
      throw reader.fail("'scale_embedding' true is not supported (no Whisper checkpoint uses it)")
    }
    self.init(
      dModel: try reader.int("d_model"), encoderLayers: try reader.int("encoder_layers"),
      decoderLayers: try reader.int("decoder_layers"),
      encoderHeads: try reader.int("encoder_attention_heads"),
      decoderHeads: try reader.int("decoder_attention_heads"), encoderFFN: try reader.int("encoder_ffn_dim"),
      decoderFFN: try reader.int("decoder_ffn_dim"), melBins: try reader.int("num_mel_bins", default: 80),
      maxSourcePositions: try reader.int("max_source_positions", default: 1500),
      maxTargetPositions: try reader.int("max_target_positions", default: 448),
      vocabSize: try reader.int("vocab_size"),
      decoderStartTokenID: Int32(clamping: try reader.int("decoder_start_token_id", default: 50257)),
      eosTokenID: Int32(clamping: try reader.int("eos_token_id", default: 50256)),
      suppressTokens: try reader.ids("suppress_tokens"),
      beginSuppressTokens: try reader.ids("begin_suppress_tokens"))
    _ = try validated(source: source)
  }
}

/// The parsed JSON file at `path`, or a configuration error naming it.
func readJSON(_ path: String) throws(ModelError) -> JSONValue {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw .configuration(source: path, problem: "cannot read the file")
  }
  do {
    return try JSONParser.parse(data, file: path).root
  } catch {
    throw .configuration(source: path, problem: "\(error)")
  }
}

/// Typed access to the keys of one JSON object, with errors that name the file and key.
struct JSONReader {
  let json: JSONValue
  let source: String

  func fail(_ problem: String) -> ModelError { .configuration(source: source, problem: problem) }

  func int(_ key: String, default fallback: Int? = nil) throws(ModelError) -> Int {
    guard let value = json[key], value != .null else {
      if let fallback { return fallback }
      throw fail("missing key '\(key)'")
    }
    guard let int = value.int else { throw fail("'\(key)' is \(value.typeName), expected an integer") }
    return int
  }

  /// An array of token ids; absent or null is empty.
  func ids(_ key: String) throws(ModelError) -> [Int32] {
    guard let value = json[key], value != .null else { return [] }
    guard let elements = value.elements else {
      throw fail("'\(key)' is \(value.typeName), expected an array")
    }
    var ids: [Int32] = []
    for (i, element) in elements.enumerated() {
      guard let id = element.int, let narrow = Int32(exactly: id) else {
        throw fail("'\(key)'[\(i)] is \(element.typeName) \(element.encoded()), expected a token id")
      }
      ids.append(narrow)
    }
    return ids
  }
}

// MARK: - Special tokens

/// The ids of Whisper's control tokens, looked up by name in the model's tokenizer.
public struct WhisperSpecialTokens: Sendable, Equatable {
  public var startOfTranscript: Int32
  public var endOfText: Int32
  /// `<|notimestamps|>`: text only, no `<|0.00|>` timestamp tokens.
  public var noTimestamps: Int32?
  public var transcribe: Int32?
  public var translate: Int32?
  /// `<|en|>`, `<|fr|>`, … by language code.
  public var languages: [String: Int32]

  public init(
    startOfTranscript: Int32, endOfText: Int32, noTimestamps: Int32?, transcribe: Int32? = nil,
    translate: Int32? = nil, languages: [String: Int32] = [:]
  ) {
    self.startOfTranscript = startOfTranscript
    self.endOfText = endOfText
    self.noTimestamps = noTimestamps
    self.transcribe = transcribe
    self.translate = translate
    self.languages = languages
  }

  /// The control tokens of `tokenizer`; `source` names its file for messages.
  public init(tokenizer: Tokenizer, source: String) throws(ModelError) {
    func id(_ name: String) -> Int32? { tokenizer.tokenID(for: name) }
    guard let sot = id("<|startoftranscript|>"), let eot = id("<|endoftext|>") else {
      throw .configuration(
        source: source, problem: "the tokenizer has no <|startoftranscript|> or <|endoftext|> token")
    }
    var languages: [String: Int32] = [:]
    for token in tokenizer.specialTokens {
      let text = token.content
      // Language tokens are "<|xx|>" or "<|xxx|>" (and "<|haw|>", "<|yue|>"): lowercase letters.
      guard text.hasPrefix("<|"), text.hasSuffix("|>") else { continue }
      let code = text.dropFirst(2).dropLast(2)
      if (2...3).contains(code.count), code.allSatisfy({ $0.isLowercase && $0.isASCII }) {
        languages[String(code)] = token.id
      }
    }
    self.init(
      startOfTranscript: sot, endOfText: eot, noTimestamps: id("<|notimestamps|>"),
      transcribe: id("<|transcribe|>"),
      translate: id("<|translate|>"), languages: languages)
  }

  /// The forced decoder prompt: `<|startoftranscript|>`, then for a multilingual model the
  /// language and task tokens, then `<|notimestamps|>` (transcripts without timestamps).
  public func prompt(multilingual: Bool, language: String = "en", translate: Bool = false) throws(ModelError)
    -> [Int32]
  {
    var ids = [startOfTranscript]
    if multilingual {
      guard let lang = languages[language] else {
        throw .invalidInput("no language token <|\(language)|> in the tokenizer")
      }
      guard let task = translate ? self.translate : transcribe else {
        throw .invalidInput("the tokenizer has no <|\(translate ? "translate" : "transcribe")|> token")
      }
      ids += [lang, task]
    }
    if let noTimestamps { ids.append(noTimestamps) }
    return ids
  }
}

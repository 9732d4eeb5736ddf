import Foundation
import MMCore
import MMNN
import MMTokenizers
import MMWeights

/// A transcript: the text (special tokens dropped) and the generated token ids (the forced
/// prompt and `<|endoftext|>` excluded).
public struct WhisperTranscript: Sendable, Equatable {
  public var text: String
  public var tokens: [Int32]

  public init(text: String, tokens: [Int32]) {
    self.text = text
    self.tokens = tokens
  }
}

/// How to decode: greedy, at most `maxTokens` new tokens (and never past the decoder's
/// positions); `language`/`translate` pick the prompt of multilingual models.
public struct WhisperDecodingOptions: Sendable, Equatable {
  public var maxTokens: Int
  public var language: String
  public var translate: Bool

  public init(maxTokens: Int = 448, language: String = "en", translate: Bool = false) {
    self.maxTokens = maxTokens
    self.language = language
    self.translate = translate
  }
}

/// A Whisper model with its tokenizer, loaded from a folder, and greedy decoding:
/// `<|startoftranscript|>` (+ language and task for multilingual models) + `<|notimestamps|>`,
/// `suppress_tokens` masked at every step and `begin_suppress_tokens` at the first, stop at
/// `<|endoftext|>` — as CTranslate2's `Whisper.generate(beam_size=1)` and transformers'
/// `generate` without timestamps.
public final class WhisperTranscriber: @unchecked Sendable {
  public let model: WhisperModel
  public let tokenizer: Tokenizer
  public let special: WhisperSpecialTokens

  public init(model: WhisperModel, tokenizer: Tokenizer, special: WhisperSpecialTokens) {
    self.model = model
    self.tokenizer = tokenizer
    self.special = special
  }

  /// Loads a model folder: `tokenizer.json` and either `config.json` + `model.safetensors`
  /// (Hugging Face) or `model.bin` (+ its `config.json`) from CTranslate2.
  public convenience init(directory: String) throws(ModelError) {
    let folder = URL(fileURLWithPath: directory)
    func file(_ name: String) -> String { folder.appendingPathComponent(name).path }
    let tokenizerPath = file("tokenizer.json")
    let tokenizer: Tokenizer
    do { tokenizer = try Tokenizer(contentsOf: tokenizerPath) } catch {
      throw .configuration(source: tokenizerPath, problem: "\(error)")
    }
    let special = try WhisperSpecialTokens(tokenizer: tokenizer, source: tokenizerPath)
    let model: WhisperModel
    let fileManager = FileManager.default
    if fileManager.fileExists(atPath: file("model.safetensors")) {
      let configuration = try WhisperConfiguration(configPath: file("config.json"))
      let store: any WeightStore
      do { store = try SafetensorsFile(path: file("model.safetensors")) } catch { throw ModelError(error) }
      model = try WhisperModel(configuration: configuration, store: store)
    } else if fileManager.fileExists(atPath: file("model.bin")) {
      let binary: CTranslate2File
      do { binary = try CTranslate2File(path: file("model.bin")) } catch { throw ModelError(error) }
      let configuration = try WhisperConfiguration(
        ctranslate2: binary, configPath: file("config.json"), special: special)
      model = try WhisperModel(configuration: configuration, store: try WhisperCTranslate2Store(binary))
    } else {
      throw .configuration(
        source: directory, problem: "the folder holds neither model.safetensors (+ config.json) nor model.bin"
      )
    }
    guard tokenizer.vocabularySize <= model.configuration.vocabSize else {
      throw .configuration(
        source: tokenizerPath,
        problem:
          "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's embedding \(model.configuration.vocabSize) rows"
      )
    }
    self.init(model: model, tokenizer: tokenizer, special: special)
  }

  /// The forced decoder prompt for `options`.
  public func prompt(_ options: WhisperDecodingOptions = .init()) throws(ModelError) -> [Int32] {
    try special.prompt(
      multilingual: model.configuration.isMultilingual, language: options.language,
      translate: options.translate)
  }

  /// Transcribes log-mel `features` [mels, 3000] greedily. `onToken(id, text)` sees every
  /// token as it is produced with the text it completes (empty while a multi-byte character
  /// is incomplete); `isCancelled` is polled between tokens.
  public func transcribe(
    features: Tensor, options: WhisperDecodingOptions = .init(), trace: ActivationTrace? = nil,
    onToken: (Int32, String) -> Void = { _, _ in }, isCancelled: () -> Bool = { false }
  ) throws(ModelError) -> WhisperTranscript {
    let encoded = try model.encode(features, trace: trace)
    let tokens = try greedy(
      encoderOutput: encoded, options: options, trace: trace, onToken: onToken, isCancelled: isCancelled)
    let text: String
    do { text = try tokenizer.decode(tokens, skipSpecialTokens: true) } catch {
      throw .invalidInput("cannot decode the generated tokens: \(error)")
    }
    return WhisperTranscript(text: text, tokens: tokens)
  }

  /// The greedy token ids for an encoded audio [sourceLength, d].
  public func greedy(
    encoderOutput: Tensor, options: WhisperDecodingOptions = .init(), trace: ActivationTrace? = nil,
    onToken: (Int32, String) -> Void = { _, _ in }, isCancelled: () -> Bool = { false }
  ) throws(ModelError) -> [Int32] {
    let c = model.configuration
    let prompt = try prompt(options)
    guard prompt.count < c.maxTargetPositions else {
      throw .invalidInput(
        "the prompt of \(prompt.count) tokens fills the decoder's \(c.maxTargetPositions) positions")
    }
    let state = try model.decoderState(encoderOutput: encoderOutput)
    var streaming = tokenizer.streamingDecoder(skipSpecialTokens: true)
    var generated: [Int32] = []
    var logits = try model.decode(prompt, state: state, lastOnly: true, trace: trace)
    let limit = min(options.maxTokens, c.maxTargetPositions - prompt.count)
    while generated.count < limit, !isCancelled() {
      let next = Self.argmax(
        logits.pointer(Float.self), count: c.vocabSize, suppressed: c.suppressTokens,
        alsoSuppressed: generated.isEmpty ? c.beginSuppressTokens : [])
      if next == c.eosTokenID { break }
      generated.append(next)
      let piece: String
      do { piece = try streaming.push(next) ?? "" } catch {
        throw .invalidInput("cannot decode token \(next): \(error)")
      }
      onToken(next, piece)
      if generated.count == limit { break }
      logits = try model.decode([next], state: state, lastOnly: true, trace: trace)
    }
    return generated
  }

  /// The index of the largest logit, skipping the suppressed ids (first index wins ties, as
  /// `torch.argmax`).
  static func argmax(
    _ logits: UnsafeMutablePointer<Float>, count: Int, suppressed: [Int32], alsoSuppressed: [Int32]
  ) -> Int32 {
    for id in suppressed + alsoSuppressed where id >= 0 && Int(id) < count { logits[Int(id)] = -.infinity }
    var best = 0
    for i in 1..<max(count, 1) where logits[i] > logits[best] { best = i }
    return Int32(best)
  }

  /// `samples` cut or zero-padded to `count` (Whisper's 30 s window: 480000 samples at 16 kHz).
  public static func padOrTrim(_ samples: [Float], to count: Int = 480_000) -> [Float] {
    if samples.count >= count { return Array(samples[0..<count]) }
    return samples + [Float](repeating: 0, count: count - samples.count)
  }
}

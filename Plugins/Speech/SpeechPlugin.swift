import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMModels
import Synchronization

/// Speech nodes (`speech.*`): Whisper speech recognition on any audio. Registered through
/// `MMBuiltins`.
public enum SpeechPlugin: NodePlugin {
  public static let name = "speech"

  public static let descriptors: [NodeDescriptor] = [transcribeDescriptor]

  /// Where `Scripts/fetch-models.sh whisper-tiny-en` puts Whisper tiny.en.
  static let defaultModel = "~/.cache/mmgraph/models/whisper-tiny-en"
}

/// audio → text: the transcript, and tokens: its ids. The audio (any rate, any channels) is
/// mixed down to mono, resampled to 16 kHz, cut or padded to 30 s and turned into Whisper's
/// log-mel; decoding is greedy without timestamps.
let transcribeDescriptor = NodeDescriptor(
  type: "speech.transcribe",
  doc:
    "Transcribes speech with Whisper (a CTranslate2 model.bin or HF safetensors folder with tokenizer.json); the first 30 s, greedy.",
  example: exampleNode(
    "speech.transcribe", inputs: [("audio", "$speech")],
    options: [("model", "\"~/.cache/mmgraph/models/whisper-tiny-en\""), ("max_tokens", "224")]),
  inputs: [
    PortSpec("audio", .audio(sampleRate: nil, channels: nil), doc: "speech at any rate, any channels")
  ],
  outputs: [
    PortSpec("text", .text, doc: "the transcript, special tokens dropped, leading/trailing spaces trimmed"),
    PortSpec("tokens", .tokens, doc: "the generated token ids (without the prompt and <|endoftext|>)"),
  ],
  options: [
    OptionSpec(
      "model", .path, default: .string(SpeechPlugin.defaultModel),
      doc: "a folder with model.bin (CTranslate2) or model.safetensors + config.json, and tokenizer.json"),
    OptionSpec(
      "max_tokens", .int(range: 1...448), default: .number("224"), doc: "the most tokens to generate"),
    OptionSpec("language", .string, default: .string("en"), doc: "the language token of multilingual models"),
  ],
  isPure: true,
  filesRead: { options in [options.string("model")] },
  make: { options in
    TranscribeNode(
      modelPath: options.string("model"), maxTokens: options.int("max_tokens"),
      language: options.string("language"))
  })

final class TranscribeNode: Node {
  let modelPath: String
  let maxTokens: Int
  let language: String

  init(modelPath: String, maxTokens: Int, language: String) {
    self.modelPath = modelPath
    self.maxTokens = maxTokens
    self.language = language
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let audio = try context.audio("audio")
    let speech = try SpeechModel.shared(modelPath, context: context)
    let features = try Self.features(audio, melBins: speech.transcriber.model.configuration.melBins)
    let options = WhisperDecodingOptions(maxTokens: maxTokens, language: language)
    let transcript = try speech.lock.withLock { _ in
      var count = 0
      var started = false
      do {
        return try speech.transcriber.transcribe(
          features: features, options: options,
          onToken: { _, piece in
            count += 1
            context.progress(count, of: maxTokens, unit: "tokens")
            // Stream the transcript as it comes, without the leading space the final text drops.
            let shown = started ? piece : String(piece.drop { $0.isWhitespace })
            if !shown.isEmpty {
              started = true
              context.partial("text", text: shown)
            }
          }, isCancelled: { context.isCancelled })
      } catch { throw NodeFailure("\(context.nodeName): \(error)") }
    }
    context.emit("text", .text(transcript.text.trimmingCharacters(in: .whitespacesAndNewlines)))
    context.emit("tokens", .tokens(transcript.tokens))
    return .done
  }

  /// Whisper's input for `audio`: mono (mean of the channels), 16 kHz (torchaudio's resampler),
  /// the first 30 s zero-padded, log-mel [mels, 3000].
  static func features(_ audio: Audio, melBins: Int) throws -> Tensor {
    guard audio.channels >= 1, audio.frames >= 1 else {
      throw NodeFailure(
        "speech.transcribe: the audio is empty (\(audio.channels) channels, \(audio.frames) frames)")
    }
    let mono =
      audio.channels == 1
      ? Array(audio.samples.contiguous().floats()[0..<audio.frames])
      : try AudioFile.mixDown(audio.samples).floats()
    let samples = try resample(mono, from: audio.sampleRate, to: 16000)
    return try whisperLogMel(samples16k: WhisperTranscriber.padOrTrim(samples), melCount: melBins)
  }
}

/// A Whisper model folder loaded once per process and path, shared by every node using it.
final class SpeechModel: @unchecked Sendable {
  let transcriber: WhisperTranscriber
  /// Serializes transcription (one decoder at a time per model; the kernels are parallel).
  let lock = Mutex<Void>(())

  private static let loaded = LoadedModels<SpeechModel>()

  init(transcriber: WhisperTranscriber) { self.transcriber = transcriber }

  /// The model at `path`, loading it the first time (reported as progress).
  static func shared(_ path: String, context: NodeContext?) throws -> SpeechModel {
    try loaded(path) {
      guard isDirectory(path) else {
        throw NodeFailure(
          "\(context?.nodeName ?? "speech.transcribe"): no Whisper model folder at \(path); fetch Whisper tiny.en with: bash Scripts/fetch-models.sh whisper-tiny-en"
        )
      }
      context?.progress(0, of: 1, unit: "model")
      let transcriber: WhisperTranscriber
      do { transcriber = try WhisperTranscriber(directory: path) } catch {
        throw NodeFailure(
          "\(context?.nodeName ?? "speech.transcribe"): cannot load the Whisper model: \(error)")
      }
      context?.progress(1, of: 1, unit: "model")
      return SpeechModel(transcriber: transcriber)
    }
  }
}

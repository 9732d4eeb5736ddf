import Foundation
import MMCore
import MMKernels
import MMNN
import MMTestSupport
import Testing

@testable import MMModels

/// The tiny random Whisper of Scripts/goldens/whisper.py against transformers'
/// WhisperForConditionalGeneration on Samples/question.wav (features from MMMediaIO's log-mel).
@Suite("Whisper parity") struct WhisperParityTests {
  /// Forced decoder prefix of the goldens: <|startoftranscript|> <|notimestamps|> + 4 tokens.
  static let prefix: [Int32] = { (try? WhisperFiles.ids("prefix")) ?? [] }()

  static func logits(_ transcriber: WhisperTranscriber, trace: ActivationTrace? = nil) throws -> [Float] {
    let encoded = try transcriber.model.encode(WhisperFiles.features, trace: trace)
    let state = try transcriber.model.decoderState(encoderOutput: encoded)
    return try transcriber.model.decode(prefix, state: state, trace: trace).floats()
  }

  @Test("HF safetensors (f32): encoder output, prefix logits and greedy tokens")
  func huggingFace() throws {
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny"))
    let trace = ActivationTrace()
    let logits = try Self.logits(transcriber, trace: trace)
    let encoder = try #require(trace["encoder.out"]).floats()
    let (encoderError, _) = maxAbsDifference(encoder, try WhisperFiles.floats("encoder"))
    let (logitsError, _) = maxAbsDifference(logits, try WhisperFiles.floats("logits"))
    print("Whisper tiny f32: encoder max |Δ| \(encoderError), logits max |Δ| \(logitsError)")
    #expect(encoderError <= 1e-3)
    #expect(logitsError <= 1e-3)
    let expected = try WhisperFiles.ids("tokens")
    let transcript = try transcriber.transcribe(
      features: WhisperFiles.features, options: WhisperDecodingOptions(maxTokens: expected.count))
    #expect(transcript.tokens == expected)
    #expect(transcript.text == (try transcriber.tokenizer.decode(expected, skipSpecialTokens: true)))
  }

  @Test("CTranslate2 model.bin (f16, fused QKV/KV): prefix logits and greedy tokens")
  func ctranslate2() throws {
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny-ct2"))
    let logits = try Self.logits(transcriber)
    let (error, _) = maxAbsDifference(logits, try WhisperFiles.floats("logits_f16"))
    print("Whisper tiny CTranslate2 f16: logits max |Δ| \(error)")
    #expect(error <= 1e-3)
    let expected = try WhisperFiles.ids("tokens_f16")
    let transcript = try transcriber.transcribe(
      features: WhisperFiles.features, options: WhisperDecodingOptions(maxTokens: expected.count))
    #expect(transcript.tokens == expected)
    // The fused projections stay the file's f16 rows: views, not f32 copies.
    let layer = try #require(transcriber.model.decoderLayers.first)
    #expect(layer.selfQKV.weight.matrix.format == .f16 && layer.selfQKV.outputs == 3 * 32)
    #expect(layer.crossKV.weight.matrix.format == .f16 && layer.crossKV.outputs == 2 * 32)
    let encoderQKV = try #require(transcriber.model.encoderLayers.first?.attention.fusedQKV)
    #expect(encoderQKV.weight.matrix.format == .f16)
  }

  @Test("Decoding the prefix token by token through the cache gives the same logits")
  func incremental() throws {
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny"))
    let model = transcriber.model
    let encoded = try model.encode(WhisperFiles.features)
    let state = try model.decoderState(encoderOutput: encoded)
    var rows: [Float] = []
    for token in Self.prefix { rows += try model.decode([token], state: state).floats() }
    #expect(state.length == Self.prefix.count)
    let (error, _) = maxAbsDifference(rows, try WhisperFiles.floats("logits"))
    #expect(error <= 1e-3)
    state.reset()
    let last = try model.decode(Self.prefix, state: state, lastOnly: true).floats()
    #expect(last.count == model.configuration.vocabSize)
    #expect(maxAbsDifference(last, Array(rows.suffix(last.count))).value <= 1e-4)
  }

  @Test("Named intermediates through ActivationTrace")
  func traceNames() throws {
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny"))
    let trace = ActivationTrace()
    _ = try Self.logits(transcriber, trace: trace)
    let names = Set(trace.names)
    for name in [
      "encoder.conv1", "encoder.conv2", "encoder.embed", "encoder.layers.0", "encoder.layers.1",
      "encoder.out",
      "decoder.embed", "decoder.layers.0", "decoder.layers.1", "decoder.out", "logits",
    ] {
      #expect(names.contains(name), "missing trace \(name)")
    }
    #expect(trace["encoder.conv2"]?.shape == [1, 32, 1500])
    #expect(trace["decoder.out"]?.shape == [Self.prefix.count, 32])
  }

  @Test("Tokens stream through the callback as they are produced")
  func streaming() throws {
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny"))
    var seen: [Int32] = []
    var text = ""
    let transcript = try transcriber.transcribe(
      features: WhisperFiles.features, options: WhisperDecodingOptions(maxTokens: 5),
      onToken: { id, piece in
        seen.append(id)
        text += piece
      })
    #expect(seen == transcript.tokens && seen.count == 5)
    #expect(text == transcript.text)
    var calls = 0
    let cancelled = try transcriber.transcribe(
      features: WhisperFiles.features, onToken: { _, _ in calls += 1 }, isCancelled: { calls >= 2 })
    #expect(cancelled.tokens.count == 2)
  }

  @Test(
    "Real tiny.en (model.bin) transcribes Samples/question.wav as CTranslate2 does",
    .enabled(
      if: WhisperFiles.realModel != nil,
      "needs ~/.cache/mmgraph/models/whisper-tiny-en: bash Scripts/fetch-models.sh whisper-tiny-en"))
  func realTinyEn() throws {
    let folder = try #require(WhisperFiles.realModel)
    let data = try #require(
      FileManager.default.contents(atPath: WhisperFiles.path("Tests/Goldens/whisper/tiny-en-question.json")))
    let golden = try JSONParser.parse([UInt8](data), file: "tiny-en-question.json").root
    let ids = try #require(golden["ids"]?.elements).compactMap { $0.int.map(Int32.init) }
    let text = try #require(golden["text"]?.string)
    let transcriber = try WhisperTranscriber(directory: folder)
    #expect(
      transcriber.model.configuration.vocabSize == 51864 && !transcriber.model.configuration.isMultilingual)
    let transcript = try transcriber.transcribe(features: WhisperFiles.features)
    print("tiny.en: \(transcript.tokens) \(transcript.text.debugDescription)")
    #expect(transcript.tokens == ids)
    #expect(transcript.text == text)
  }
}

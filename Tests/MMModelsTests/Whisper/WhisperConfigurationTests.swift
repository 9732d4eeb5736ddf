import Foundation
import MMCore
import MMNN
import MMTokenizers
import MMWeights
import Testing

@testable import MMModels

/// Configurations from Hugging Face's config.json and from a CTranslate2 model.bin, special
/// tokens and prompts, and the errors of bad configurations, checkpoints and inputs.
@Suite("Whisper configuration and errors") struct WhisperConfigurationTests {
  static func json(_ text: String) throws -> JSONValue {
    try JSONParser.parse(Array(text.utf8), file: "config.json").root
  }

  @Test("The HF and CTranslate2 fixtures describe the same model")
  func sameConfiguration() throws {
    let hf = try WhisperConfiguration(configPath: WhisperFiles.fixture("tiny/config.json"))
    #expect(hf.dModel == 32 && hf.encoderLayers == 2 && hf.decoderLayers == 2 && hf.encoderHeads == 4)
    #expect(hf.vocabSize == 765 && hf.maxSourcePositions == 1500 && hf.maxTargetPositions == 64)
    #expect(hf.decoderStartTokenID == 757 && hf.eosTokenID == 756 && hf.beginSuppressTokens == [220, 756])
    #expect(!hf.isMultilingual && hf.inputFrames == 3000)
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny-ct2"))
    #expect(transcriber.model.configuration == hf)
  }

  @Test("Special tokens and prompts: English-only and multilingual")
  func prompts() throws {
    let path = WhisperFiles.fixture("tiny/tokenizer.json")
    let special = try WhisperSpecialTokens(tokenizer: try Tokenizer(contentsOf: path), source: path)
    #expect(special.startOfTranscript == 757 && special.endOfText == 756 && special.noTimestamps == 764)
    #expect(special.languages == ["en": 758])
    #expect(try special.prompt(multilingual: false) == [757, 764])
    #expect(try special.prompt(multilingual: true) == [757, 758, 760, 764])
    #expect(try special.prompt(multilingual: true, translate: true) == [757, 758, 759, 764])
    #expect(throws: ModelError.self) { try special.prompt(multilingual: true, language: "fr") }
  }

  @Test("Bad config.json values name the file and key")
  func badConfigurations() throws {
    let good = """
      {"model_type": "whisper", "d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
       "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 128,
       "decoder_ffn_dim": 128, "vocab_size": 765, "decoder_start_token_id": 757, "eos_token_id": 756}
      """
    _ = try WhisperConfiguration(json: try Self.json(good))
    let cases: [(String, String, String)] = [
      ("\"d_model\": 32,", "", "missing key 'd_model'"),
      ("\"encoder_attention_heads\": 4", "\"encoder_attention_heads\": 5", "not divisible by 5"),
      ("\"vocab_size\": 765", "\"vocab_size\": 700", "outside the vocabulary of 700"),
      ("\"d_model\": 32", "\"d_model\": \"32\"", "'d_model' is string"),
      ("\"model_type\": \"whisper\"", "\"model_type\": \"bert\"", "expected 'whisper'"),
      (
        "\"eos_token_id\": 756", "\"eos_token_id\": 756, \"suppress_tokens\": [1, \"x\"]",
        "'suppress_tokens'[1]"
      ),
    ]
    for (from, to, fragment) in cases {
      do {
        _ = try WhisperConfiguration(json: try Self.json(good.replacingOccurrences(of: from, with: to)))
        Issue.record("expected an error containing \(fragment)")
      } catch {
        #expect("\(error)".hasPrefix("config.json: ") && "\(error)".contains(fragment), "\(error)")
      }
    }
  }

  @Test("A checkpoint missing a tensor or with a wrong shape names the full key")
  func badCheckpoint() throws {
    let store = try SafetensorsFile(path: WhisperFiles.fixture("tiny/model.safetensors"))
    var configuration = try WhisperConfiguration(configPath: WhisperFiles.fixture("tiny/config.json"))
    configuration.encoderFFN = 64
    do {
      _ = try WhisperModel(configuration: configuration, store: store)
      Issue.record("a wrong FFN width must fail")
    } catch {
      #expect(
        "\(error)".contains("model.encoder.layers.0.fc1.weight") && "\(error)".contains("[64, 32]"),
        "\(error)")
    }
    configuration.encoderFFN = 128
    configuration.encoderLayers = 3
    do {
      _ = try WhisperModel(configuration: configuration, store: store)
      Issue.record("a missing layer must fail")
    } catch {
      #expect("\(error)".contains("model.encoder.layers.2."), "\(error)")
    }
  }

  @Test("Bad inputs: feature shape, token ids, decoder positions, folders")
  func badInputs() throws {
    let transcriber = try WhisperTranscriber(directory: WhisperFiles.fixture("tiny"))
    let model = transcriber.model
    #expect(throws: ModelError.self) { try model.encode(Tensor(zeros: [80, 100])) }
    #expect(throws: ModelError.self) { try model.encode(Tensor(zeros: [81, 3000])) }
    let state = try model.decoderState(encoderOutput: Tensor(zeros: [1500, 32]))
    #expect(throws: ModelError.self) { try model.decode([765], state: state) }
    #expect(throws: ModelError.self) { try model.decode([-1], state: state) }
    #expect(throws: ModelError.self) { try model.decode([], state: state) }
    #expect(throws: ModelError.self) { try model.decode([Int32](repeating: 1, count: 65), state: state) }
    #expect(state.length == 0)
    #expect(throws: ModelError.self) { try model.decoderState(encoderOutput: Tensor(zeros: [1500, 31])) }
    do {
      _ = try WhisperTranscriber(directory: WhisperFiles.path("Tests/Fixtures/whisper"))
      Issue.record("a folder without a tokenizer must fail")
    } catch {
      #expect("\(error)".contains("tokenizer.json"), "\(error)")
    }
  }

  @Test("A truncated or foreign model.bin is refused naming the file")
  func badModelBin() throws {
    let source = WhisperFiles.fixture("tiny-ct2")
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whisper-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for name in ["config.json", "tokenizer.json"] {
      try FileManager.default.copyItem(
        atPath: source + "/" + name, toPath: folder.appendingPathComponent(name).path)
    }
    let bytes = try Data(contentsOf: URL(fileURLWithPath: source + "/model.bin"))
    let target = folder.appendingPathComponent("model.bin")
    try bytes.prefix(bytes.count / 2).write(to: target)
    do {
      _ = try WhisperTranscriber(directory: folder.path)
      Issue.record("a truncated model.bin must fail")
    } catch {
      let message = "\(error)"
      #expect(
        message.contains(target.path) && (message.contains("file ends") || message.contains("past the end")),
        "\(message)")
    }
    // The same layout under another spec name is not a Whisper model.
    var foreign = [UInt8](bytes)
    let name = Array("WhisperSpec".utf8)
    foreign.replaceSubrange(6..<6 + name.count, with: Array("OtherXXSpec".utf8))
    try Data(foreign).write(to: target)
    do {
      _ = try WhisperTranscriber(directory: folder.path)
      Issue.record("a foreign spec must fail")
    } catch {
      #expect("\(error)".contains("'OtherXXSpec', expected 'WhisperSpec'"), "\(error)")
    }
  }

  @Test("Greedy argmax skips suppressed ids and takes the first of ties")
  func argmax() {
    var logits: [Float] = [0, 5, 5, 9, 1]
    let best = logits.withUnsafeMutableBufferPointer {
      WhisperTranscriber.argmax($0.baseAddress!, count: 5, suppressed: [3], alsoSuppressed: [])
    }
    #expect(best == 1)
    #expect(WhisperTranscriber.padOrTrim([1, 2, 3], to: 5) == [1, 2, 3, 0, 0])
    #expect(WhisperTranscriber.padOrTrim([1, 2, 3], to: 2) == [1, 2])
  }
}

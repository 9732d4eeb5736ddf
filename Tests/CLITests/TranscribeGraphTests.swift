import Foundation
import MMCore
import MMWeights
import Testing

/// `Graphs/transcribe.json` and `mmgraph bench whisper` end to end: the tiny Whisper fixture
/// gives transformers' greedy tokens (Scripts/goldens/whisper.py) on Samples/question.wav; the
/// real tiny.en, when fetched, writes "What is the capital of France?".
@Suite struct TranscribeGraphTests {
  static let realModel = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(
    ".cache/mmgraph/models/whisper-tiny-en"
  ).path

  /// The greedy tokens of the tiny-ct2 fixture (f16 weights), from transformers.
  static func goldenTokens() throws -> [Int] {
    let file = try SafetensorsFile(path: CLI.path("Tests/Goldens/whisper/tiny.safetensors"))
    return try file.tensor(named: "tokens_f16").scalars(Int64.self).map { Int($0) }
  }

  @Test func tinyModelGivesTheGoldenTokens() throws {
    let expected = try Self.goldenTokens()
    let out = CLI.temporaryFolder("transcribe")
    let result = try CLI.run([
      "run", "Graphs/transcribe.json", "--input", "speech=Samples/question.wav", "--set",
      "model=Tests/Fixtures/whisper/tiny-ct2", "--set", "max_tokens=\(expected.count)", "--out", out,
      "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let tokens = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
    #expect(tokens.elements?.compactMap(\.int) == expected)
  }

  @Test func missingModelNamesTheFetchCommand() throws {
    let out = CLI.temporaryFolder("transcribe-bad")
    let result = try CLI.run([
      "run", "Graphs/transcribe.json", "--input", "speech=Samples/question.wav", "--set",
      "model=/nonexistent/whisper", "--out", out,
    ])
    #expect(result.code == 1, "\(result.stderr)")
    #expect(result.stderr.contains("/nonexistent/whisper"), "\(result.stderr)")
    #expect(result.stderr.contains("bash Scripts/fetch-models.sh whisper-tiny-en"), "\(result.stderr)")
  }

  @Test func benchWhisperReportsTheRealTimeFactor() throws {
    let result = try CLI.run([
      "bench", "whisper", "--model", "Tests/Fixtures/whisper/tiny", "--audio", "Samples/question.wav",
      "--repetitions", "1", "--threads", "1", "--json",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let report = try CLI.json(result.stdout)
    #expect(report["op"]?.string == "whisper" && report["rtf"]?.double != nil)
    // The golden 22 tokens end with no <|endoftext|>: decoding goes on past them.
    #expect((report["tokens"]?.int ?? 0) >= 22)
  }

  @Test(
    .enabled(
      if: FileManager.default.fileExists(atPath: TranscribeGraphTests.realModel + "/model.bin"),
      "needs ~/.cache/mmgraph/models/whisper-tiny-en: bash Scripts/fetch-models.sh whisper-tiny-en"))
  func realTinyEnTranscribesTheSample() throws {
    let out = CLI.temporaryFolder("transcribe-real")
    let result = try CLI.run([
      "run", "Graphs/transcribe.json", "--input", "speech=Samples/question.wav", "--set",
      "model=\(Self.realModel)", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let text = try String(contentsOfFile: out + "/text.txt", encoding: .utf8)
    #expect(text == "What is the capital of France?", "\(text)")
  }
}

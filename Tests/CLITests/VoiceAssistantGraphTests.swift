import Foundation
import MMCore
import Testing

/// `Graphs/voice-assistant.json`, the README's main job: speech → Whisper → the chat model. On the
/// tiny fixtures its two outputs equal what `transcribe.json` and `chat.json` give on their own (the
/// composition adds nothing and loses nothing); with the real models fetched it prints the
/// README's transcript and answer.
@Suite struct VoiceAssistantGraphTests {
  static let models = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(
    ".cache/mmgraph/models"
  ).path

  static func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

  @Test func tinyModelsComposeLikeTheirOwnGraphs() throws {
    let out = CLI.temporaryFolder("voice")
    let result = try CLI.run([
      "run", "Graphs/voice-assistant.json", "--input", "Samples/question.wav", "--set",
      "speech_model=Tests/Fixtures/whisper/tiny-ct2", "--set", "chat_model=Tests/Fixtures/llama/tiny",
      "--set",
      "max_tokens=8", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let transcript = try Self.read(out + "/transcript.txt")
    let answer = try Self.read(out + "/answer.txt")

    let alone = CLI.temporaryFolder("voice-transcribe")
    let asr = try CLI.run([
      "run", "Graphs/transcribe.json", "--input", "speech=Samples/question.wav", "--set",
      "model=Tests/Fixtures/whisper/tiny-ct2", "--out", alone, "--no-cache",
    ])
    #expect(asr.code == 0, "\(asr.stderr)")
    #expect(try Self.read(alone + "/text.txt") == transcript)

    let chatOut = CLI.temporaryFolder("voice-chat")
    let chat = try CLI.run([
      "run", "Graphs/chat.json", "--input", "prompt=\(transcript)", "--set",
      "model=Tests/Fixtures/llama/tiny",
      "--set", "max_tokens=8", "--out", chatOut, "--no-cache",
    ])
    #expect(chat.code == 0, "\(chat.stderr)")
    #expect(try Self.read(chatOut + "/answer.txt") == answer)
  }

  @Test func aMissingModelFailsBeforeAnyOutputIsWritten() throws {
    let out = CLI.temporaryFolder("voice-missing")
    let result = try CLI.run([
      "run", "Graphs/voice-assistant.json", "--input", "Samples/question.wav", "--set",
      "chat_model=/nonexistent/chat.gguf", "--set", "speech_model=Tests/Fixtures/whisper/tiny-ct2", "--out",
      out,
      "--no-cache",
    ])
    #expect(result.code == 1 && result.stderr.contains("fetch-models.sh"), "\(result.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// The README's main job with the real models (Scripts/fetch-models.sh whisper-tiny-en smollm2).
  @Test(
    .enabled(
      if: FileManager.default.fileExists(
        atPath: VoiceAssistantGraphTests.models + "/whisper-tiny-en/model.bin")
        && FileManager.default.fileExists(
          atPath: VoiceAssistantGraphTests.models + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
      "needs the real models: bash Scripts/fetch-models.sh whisper-tiny-en smollm2"))
  func realModelsAnswerTheSample() throws {
    let out = CLI.temporaryFolder("voice-real")
    let result = try CLI.run([
      "run", "Graphs/voice-assistant.json", "--input", "Samples/question.wav", "--out", out, "--no-cache",
      "--print",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    #expect(
      result.stdout
        == "transcript: What is the capital of France?\nanswer: The capital of France is Paris.\n",
      "\(result.stdout)")
  }
}

import Foundation
import MMCore
import Testing

/// `Graphs/chat.json` end to end: the model's chat template, its tokenizer, the decoder and
/// greedy generation give transformers' tokens (Scripts/goldens/llm_chat.py on the tiny random
/// Llama of Tests/Fixtures/llama/tiny); the real SmolLM2 answers the README's question when it has
/// been fetched.
@Suite struct ChatGraphTests {
  @Test func tinyModelMatchesTransformersGenerate() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: CLI.path("Tests/Goldens/llm/chat.json")))
    let golden = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let maxTokens = golden["max_tokens"] as! Int
    for case let entry as [String: Any] in golden["cases"] as! [Any] {
      let out = CLI.temporaryFolder("chat")
      let result = try CLI.run([
        "run", "Graphs/chat.json", "--input", "prompt=\(entry["prompt"] as! String)", "--set",
        "model=Tests/Fixtures/llama/tiny", "--set", "max_tokens=\(maxTokens)", "--set",
        "system=\(entry["system"] as! String)", "--out", out, "--no-cache",
      ])
      #expect(result.code == 0, "\(result.stderr)")
      let tokens = try CLI.json(
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
      #expect(tokens.elements?.compactMap(\.int) == entry["tokens"] as? [Int], "\(entry["prompt"]!)")
      let text = try String(contentsOfFile: out + "/answer.txt", encoding: .utf8)
      #expect(text == entry["text"] as? String, "\(entry["prompt"]!)")
    }
  }

  /// `--print` writes the reply on stdout as it is generated; `--progress json` carries the same
  /// pieces as `partial` events, and their concatenation is the reply written to the file.
  @Test func replyStreamsToStdoutAndAsEvents() throws {
    let out = CLI.temporaryFolder("chat-stream")
    let result = try CLI.run([
      "run", "Graphs/chat.json", "--input", "prompt=Hello there", "--set", "model=Tests/Fixtures/llama/tiny",
      "--set", "max_tokens=12", "--out", out, "--no-cache", "--print", "--progress", "json",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let text = try String(contentsOfFile: out + "/answer.txt", encoding: .utf8)
    #expect(!text.isEmpty)
    #expect(result.stdout == "answer: \(text)\n", "\(result.stdout)")
    var pieces = ""
    for line in result.stderr.split(separator: "\n") where line.contains(#""event":"partial""#) {
      let event = try CLI.json(String(line))
      #expect(event["node"]?.string == "answer" && event["port"]?.string == "text")
      pieces += event["text"]?.string ?? ""
    }
    #expect(pieces == text)
    let both = try CLI.run(["run", "Graphs/chat.json", "--print", "--json", "--out", out])
    #expect(both.code == 2 && both.stderr.contains("choose one"), "\(both.stderr)")
  }

  @Test func missingModelAndOverflowAreClearErrors() throws {
    let out = CLI.temporaryFolder("chat-bad")
    let missing = try CLI.run([
      "run", "Graphs/chat.json", "--input", "prompt=hi", "--set", "model=/nonexistent/model.gguf", "--out",
      out,
    ])
    #expect(missing.code == 1 && missing.stderr.contains("fetch-models.sh"), "\(missing.stderr)")
    let overflow = try CLI.run([
      "run", "Graphs/chat.json", "--input", "prompt=\(String(repeating: "long prompt ", count: 40))", "--set",
      "model=Tests/Fixtures/llama/tiny", "--set", "max_tokens=200", "--set", "answer.context=128", "--out",
      out,
      "--no-cache",
    ])
    #expect(overflow.code == 1 && overflow.stderr.contains("over the context of 128"), "\(overflow.stderr)")
    // The graph's `activations` option reaches the node and is checked before anything runs.
    let arithmetic = try CLI.run([
      "run", "Graphs/chat.json", "--input", "prompt=hi", "--set", "model=Tests/Fixtures/llama/tiny", "--set",
      "activations=int4", "--out", out,
    ])
    #expect(
      arithmetic.code == 2 && arithmetic.stderr.contains("'int4' is not one of f32, int8"),
      "\(arithmetic.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// The real SmolLM2-135M-Instruct (Q4_1 GGUF from Scripts/fetch-models.sh): greedy, it answers
  /// that the capital of France is Paris — the tokens transformers gives on the same GGUF.
  @Test(
    .enabled(
      if: FileManager.default.fileExists(atPath: ChatGraphTests.smolLM2), "run Scripts/fetch-models.sh"))
  func smolLM2AnswersParis() throws {
    let out = CLI.temporaryFolder("chat-real")
    let result = try CLI.run([
      "run", "Graphs/chat.json", "--input", "prompt=What is the capital of France?", "--set",
      "model=\(Self.smolLM2)", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let answer = try String(contentsOfFile: out + "/answer.txt", encoding: .utf8)
    #expect(answer == "The capital of France is Paris.", "\(answer)")
  }

  static var smolLM2: String {
    let environment = ProcessInfo.processInfo.environment
    let models =
      environment["MMGRAPH_MODELS"]
      ?? (environment["XDG_CACHE_HOME"] ?? (environment["HOME"] ?? "") + "/.cache") + "/mmgraph/models"
    return models + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  }
}

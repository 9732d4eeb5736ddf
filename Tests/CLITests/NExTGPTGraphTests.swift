import Foundation
import MMCore
import MMWeights
import Testing

/// `Graphs/nextgpt-audio-chat.json` end to end on tiny random weights: ImageBind's audio output
/// (Tests/Fixtures/imagebind/tiny) → NExT-GPT's `llama_proj` (Tests/Fixtures/nextgpt/tiny) → one
/// soft token between `<Img>` and `</Img>` → the tiny Llama of Tests/Fixtures/llama/tiny. Goldens
/// from Scripts/goldens/nextgpt.py: transformers' LlamaForCausalLM on the same `inputs_embeds`.
@Suite struct NExTGPTGraphTests {
  static let settings = [
    "--set", "weights=Tests/Fixtures/imagebind/tiny.safetensors", "--set",
    "projection=Tests/Fixtures/nextgpt/tiny/projection.safetensors", "--set",
    "model=Tests/Fixtures/llama/tiny",
    "--set", "max_tokens=10",
  ]
  static let clip = "clip=Tests/Fixtures/audio/speech_espeak_22050.wav"
  static let prompt = "prompt=What do you hear?"

  static func golden(_ name: String) throws -> Tensor {
    try SafetensorsFile(path: CLI.path("Tests/Goldens/nextgpt/nextgpt.safetensors")).tensor(named: name)
  }

  /// The soft token is transformers' (≤ 1e-4: ImageBind's graph parity, ×8 by the projection),
  /// and the greedy answer is `generate`'s on the spliced prompt.
  @Test func answerMatchesTransformers() throws {
    let out = CLI.temporaryFolder("nextgpt")
    let result = try CLI.run(
      [
        "run", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt, "--out", out,
        "--no-cache",
      ]
        + Self.settings, timeout: 600)
    #expect(result.code == 0, "\(result.stderr)")
    let soft = try CLI.npy(out + "/soft_token.npy")
    let expected = try Self.golden("projected").floats()
    #expect(soft.shape == [1, 64])
    let error = zip(soft.floats(), expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    print("nextgpt soft token: max |Δ| \(error)")
    #expect(error <= 1e-4, "max |Δ| \(error)")
    let tokens = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
    let golden = try Self.golden("tokens").converted(to: .f32).floats().map { Int($0) }
    #expect(tokens.elements?.compactMap(\.int) == golden)
  }

  /// `mmgraph plan` with the prompt: one soft token for the audio, and the prompt's length.
  @Test func planShowsSoftTokensAndPromptLength() throws {
    let result = try CLI.run(
      ["plan", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt, "--no-cache"]
        + Self.settings)
    #expect(result.code == 0, "\(result.stderr)")
    #expect(result.stdout.contains("media: 1 soft tokens in place of '<audio>' 1"), "\(result.stdout)")
    // "### Human: <Img>" 16 bytes + "</Img> What do you hear?\n### Assistant:" 39 bytes.
    #expect(
      result.stdout.contains(
        "prompt: 55 text tokens + 1 soft tokens = 56 positions; with max_tokens 10: up to 66"),
      "\(result.stdout)")
  }

  /// A prompt without the placeholder, one that overflows the context once the soft token is in,
  /// and a decoder of another width: clear errors before ImageBind runs, and no output files.
  @Test func badInputFailsBeforeAnyEncoderRuns() throws {
    let out = CLI.temporaryFolder("nextgpt-bad")
    let noPlaceholder = try CLI.run(
      ["run", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt, "--out", out]
        + Self.settings + ["--set", "answer.format={prompt}", "--progress", "json"])
    #expect(noPlaceholder.code == 1, "\(noPlaceholder.stderr)")
    #expect(
      noPlaceholder.stderr.contains(
        "the prompt has 0 '<audio>' placeholders but 1 media inputs are connected (media)"),
      "\(noPlaceholder.stderr)")
    #expect(!noPlaceholder.stderr.contains(#""node":"embed""#), "ImageBind ran: \(noPlaceholder.stderr)")
    let overflow = try CLI.run(
      ["run", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt, "--out", out]
        + Self.settings + ["--set", "answer.context=64"])
    #expect(overflow.code == 1, "\(overflow.stderr)")
    #expect(
      overflow.stderr.contains(
        "the prompt is 55 text tokens + 1 soft tokens of the media = 56; with max_tokens 10 that is over the context of 64"
      ), "\(overflow.stderr)")
    let narrow = CLI.temporaryFolder("nextgpt-narrow") + "/projection.safetensors"
    try Safetensors.write(
      [("llama_proj.weight", Tensor(zeros: [32, 16])), ("llama_proj.bias", Tensor(zeros: [32]))], to: narrow)
    let width = try CLI.run(
      ["run", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt, "--out", out]
        + Self.settings + ["--set", "projection=\(narrow)"])
    #expect(width.code == 2, "\(width.stderr)")
    #expect(
      width.stderr.contains("input 'media': expected tensor[n, 64] (the hidden size of ")
        && width.stderr.contains("Tests/Fixtures/llama/tiny), found tensor[1, 32]"),
      "\(width.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// `mmgraph check` with the inputs runs the same check: a `preflight` diagnostic, exit 2.
  @Test func checkRunsThePreflight() throws {
    let result = try CLI.run(
      ["check", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt, "--json"]
        + Self.settings + ["--set", "answer.format={prompt}"])
    #expect(result.code == 2, "\(result.stderr)")
    let report = try CLI.json(result.stdout)
    let diagnostic = report["diagnostics"]?.elements?.first
    #expect(
      diagnostic?["kind"]?.string == "preflight" && diagnostic?["node"]?.string == "answer",
      "\(result.stdout)")
    #expect(diagnostic?["message"]?.string?.contains("0 '<audio>' placeholders") == true, "\(result.stdout)")
    let ok = try CLI.run(
      ["check", "Graphs/nextgpt-audio-chat.json", "--input", Self.clip, "--input", Self.prompt]
        + Self.settings)
    #expect(ok.code == 0, "\(ok.stderr)")
  }
}

import Foundation
import MMCore
import Testing

/// The connector graphs end to end through `mmgraph run` on the tiny random checkpoints of
/// Tests/Fixtures (HF layout: config.json, model.safetensors, tokenizer and processor files), the
/// greedy tokens compared with transformers' `generate` on the same image and prompt
/// (Scripts/goldens/{blip2,llava,idefics}.py).
@Suite struct ConnectorGraphTests {
  /// The golden JSON's `greedy_tokens` (or `tokens`).
  static func goldenTokens(_ path: String) throws -> [Int] {
    let data = try Data(contentsOf: URL(fileURLWithPath: CLI.path(path)))
    let golden = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    return (golden["greedy_tokens"] ?? golden["tokens"]) as? [Int] ?? []
  }

  /// Runs `graph` and returns the generated token ids (nil and the log when it fails).
  static func tokens(_ graph: String, _ arguments: [String]) throws -> ([Int]?, String) {
    let out = CLI.temporaryFolder("connector")
    let result = try CLI.run(
      ["run", "Graphs/\(graph)", "--out", out, "--no-cache"] + arguments, timeout: 600)
    guard result.code == 0 else { return (nil, result.stderr) }
    let tokens = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
    return (tokens.elements?.compactMap(\.int), result.stderr)
  }

  @Test func blip2AnswersAsTransformers() throws {
    let (tokens, log) = try Self.tokens(
      "blip2-answer.json",
      [
        "--input", "photo=Tests/Fixtures/blip2/car.jpg", "--input", "question=what is in the photo?", "--set",
        "model=Tests/Fixtures/blip2/blip2-tiny", "--set", "max_tokens=10",
      ])
    #expect(tokens == (try Self.goldenTokens("Tests/Goldens/blip2/blip2-tiny.json")), "\(log)")
  }

  @Test func instructBLIPAnswersAsTransformers() throws {
    let (tokens, log) = try Self.tokens(
      "instructblip-answer.json",
      [
        "--input", "photo=Tests/Fixtures/blip2/car.jpg", "--input", "instruction=What is in the photo?",
        "--set", "model=Tests/Fixtures/blip2/instructblip-tiny", "--set", "max_tokens=10",
      ])
    #expect(tokens == (try Self.goldenTokens("Tests/Goldens/blip2/instructblip-tiny.json")), "\(log)")
  }

  /// The plan names the 8 query tokens, before the prompt, and the prompt's length: BOS + the
  /// 39 bytes of "Question: what is in the photo? Answer:".
  @Test func blip2PlanShowsQueryTokens() throws {
    let result = try CLI.run([
      "plan", "Graphs/blip2-answer.json", "--input", "photo=Tests/Fixtures/blip2/car.jpg", "--input",
      "question=what is in the photo?", "--set", "model=Tests/Fixtures/blip2/blip2-tiny", "--set",
      "max_tokens=10", "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    #expect(result.stdout.contains("media: 8 soft tokens before the prompt"), "\(result.stdout)")
    #expect(
      result.stdout.contains("prompt: 40 text tokens + 8 soft tokens = 48 positions"), "\(result.stdout)")
  }

  /// A BLIP-2 prompt that also holds `<image>` (the queries already go first) is refused before
  /// the vision model runs.
  @Test func blip2RefusesAPlaceholderInThePrompt() throws {
    let out = CLI.temporaryFolder("connector-bad")
    let result = try CLI.run([
      "run", "Graphs/blip2-answer.json", "--input", "photo=Tests/Fixtures/blip2/car.jpg", "--input",
      "question=<image> what?", "--set", "model=Tests/Fixtures/blip2/blip2-tiny", "--out", out,
    ])
    #expect(result.code == 1, "\(result.stderr)")
    #expect(result.stderr.contains("so the prompt must not hold '<image>'"), "\(result.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// Two images interleaved with text (Graphs/llava-compare.json): each in place of its own
  /// `<image>`, in order — transformers' tokens for the same two photos
  /// (Scripts/goldens/llava_two_images.py).
  @Test func llavaTwoInterleavedImagesAnswerAsTransformers() throws {
    let (tokens, log) = try Self.tokens(
      "llava-compare.json",
      [
        "--input", "first=\(CLI.path("../shared/testdata/dog_image.jpg"))", "--input",
        "second=Tests/Fixtures/blip2/car.jpg", "--input", "prompt=Which one is a dog?", "--set",
        "model=Tests/Fixtures/llava/tiny", "--set", "max_tokens=10",
      ])
    #expect(tokens == (try Self.goldenTokens("Tests/Goldens/llava/two_images.json")), "\(log)")
  }

  /// One image for a prompt with two placeholders: refused before the vision tower runs.
  @Test func llavaFewerMediaThanPlaceholdersIsRefused() throws {
    let out = CLI.temporaryFolder("connector-count")
    let result = try CLI.run([
      "run", "Graphs/llava-describe.json", "--input", "photo=Tests/Fixtures/blip2/car.jpg", "--input",
      "prompt=and <image>?", "--set", "model=Tests/Fixtures/llava/tiny", "--out", out,
    ])
    #expect(result.code == 1, "\(result.stderr)")
    #expect(
      result.stderr.contains(
        "the prompt has 2 '<image>' placeholders but 1 media inputs are connected (media)"),
      "\(result.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// Idefics: the image's latents are attended by the gated cross-attention, not spliced, so the
  /// prompt keeps its 40 tokens (BOS, "User:", the image tokens, the text, "\nAssistant:").
  @Test func ideficsPlanShowsCrossAttentionImages() throws {
    let result = try CLI.run([
      "plan", "Graphs/idefics-describe.json", "--input", "image=Tests/Fixtures/idefics/dog.jpg", "--input",
      "prompt=Describe this image.", "--set", "model=Tests/Fixtures/idefics/tiny", "--set", "max_tokens=10",
      "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    #expect(
      result.stdout.contains("media: 8 image tokens for the gated cross-attention after '<image>' 1"),
      "\(result.stdout)")
    #expect(
      result.stdout.contains("prompt: 40 text tokens = 40 positions; with max_tokens 10: up to 50"),
      "\(result.stdout)")
  }
}

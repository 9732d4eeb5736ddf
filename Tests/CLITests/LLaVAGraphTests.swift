import Foundation
import MMCore
import MMWeights
import Testing

/// `Graphs/llava-describe.json` end to end on the tiny random LLaVA checkpoint of
/// Scripts/goldens/llava.py (Tests/Fixtures/llava/tiny): the dog photo → `llava.vision` →
/// `llava.projector` → 16 soft tokens in place of `<image>` in "USER: <image>\nWhat is in the
/// picture? ASSISTANT:" → the checkpoint's own LLaMA. Goldens: transformers 5.24's
/// `LlavaForConditionalGeneration` (`processor(...)`, `generate` greedy, 10 tokens).
@Suite struct LLaVAGraphTests {
  static let photo = CLI.path("../shared/testdata/dog_image.jpg")
  static let settings = ["--set", "model=Tests/Fixtures/llava/tiny", "--set", "max_tokens=10"]
  static let prompt = "prompt=What is in the picture?"

  @Test func answerMatchesTransformers() throws {
    try #require(
      FileManager.default.fileExists(atPath: Self.photo),
      "missing ../shared/testdata/dog_image.jpg (the shared real-photo test data)")
    let out = CLI.temporaryFolder("llava")
    let result = try CLI.run(
      [
        "run", "Graphs/llava-describe.json", "--input", "photo=\(Self.photo)", "--input", Self.prompt,
        "--out",
        out, "--no-cache",
      ] + Self.settings, timeout: 600)
    #expect(result.code == 0, "\(result.stderr)")
    let soft = try CLI.npy(out + "/soft_tokens.npy")
    #expect(soft.shape == [16, 64])
    let expected = try SafetensorsFile(path: CLI.path("Tests/Goldens/llava/tiny.safetensors"))
      .tensor(named: "projected").contiguous().floats()
    let error = zip(soft.floats(), expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    print("llava soft tokens from the photo: max |Δ| \(error)")
    #expect(error <= 1e-3, "max |Δ| \(error)")
    let golden = try CLI.json(
      String(
        decoding: try Data(contentsOf: URL(fileURLWithPath: CLI.path("Tests/Goldens/llava/tiny.json"))),
        as: UTF8.self))
    let tokens = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
    #expect(tokens.elements?.compactMap(\.int) == golden["tokens"]?.elements?.compactMap(\.int))
  }

  /// `mmgraph plan` with the prompt: 16 soft tokens for the image, the prompt's length (41 text
  /// tokens: "USER: " 6 + "\nWhat is in the picture? ASSISTANT:" 35).
  @Test func planShowsSoftTokensAndPromptLength() throws {
    let result = try CLI.run(
      [
        "plan", "Graphs/llava-describe.json", "--input", "photo=\(Self.photo)", "--input", Self.prompt,
        "--no-cache",
      ]
        + Self.settings)
    #expect(result.code == 0, "\(result.stderr)")
    // The connector's shapes come from config.json at load time.
    #expect(
      result.stdout.contains("embeddings: tensor<f32>[16, 32]")
        && result.stdout.contains("embeddings: tensor<f32>[16, 64]"), "\(result.stdout)")
    #expect(result.stdout.contains("media: 16 soft tokens in place of '<image>' 1"), "\(result.stdout)")
    #expect(
      result.stdout.contains("prompt: 41 text tokens + 16 soft tokens = 57 positions"), "\(result.stdout)")
  }
}

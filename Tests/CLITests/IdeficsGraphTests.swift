import Foundation
import MMCore
import MMWeights
import Testing

/// `Graphs/idefics-describe.json` end to end on the tiny random Idefics checkpoint
/// (Tests/Fixtures/idefics/tiny): image → Idefics vision → Perceiver Resampler → the decoder's
/// gated cross-attention. Goldens from Scripts/goldens/idefics.py: transformers'
/// IdeficsForVisionText2Text `generate` on the processor's prompt for the same image (its
/// greedy tokens are the same with the processor's PIL backend, which the vision node matches
/// exactly).
@Suite struct IdeficsGraphTests {
  static let settings = ["--set", "model=Tests/Fixtures/idefics/tiny", "--set", "max_tokens=10"]
  static let image = "image=Tests/Fixtures/idefics/dog.jpg"
  static let prompt = "prompt=Describe this image."

  static func golden(_ name: String) throws -> Tensor {
    try SafetensorsFile(path: CLI.path("Tests/Goldens/idefics/goldens.safetensors")).tensor(named: name)
  }

  @Test func answerMatchesTransformers() throws {
    let out = CLI.temporaryFolder("idefics")
    let result = try CLI.run(
      [
        "run", "Graphs/idefics-describe.json", "--input", Self.image, "--input", Self.prompt, "--out", out,
        "--no-cache",
      ]
        + Self.settings, timeout: 600)
    #expect(result.code == 0, "\(result.stderr)")
    let latents = try CLI.npy(out + "/latents.npy")
    #expect(latents.shape == [8, 32])
    let tokens = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
    // cases.json "one_image": the prompt "<s>User:<fake_token_around_image><image>
    // <fake_token_around_image>Describe this image.\nAssistant:" (40 ids).
    #expect(tokens.elements?.compactMap(\.int) == [163, 138, 168, 163, 206, 96, 96, 96, 96, 96])
  }

  /// A prompt without `<image>` for the connected image: refused before the vision tower runs.
  @Test func aPromptWithoutImageTokenFails() throws {
    let out = CLI.temporaryFolder("idefics-bad")
    let result = try CLI.run(
      ["run", "Graphs/idefics-describe.json", "--input", Self.image, "--input", Self.prompt, "--out", out]
        + Self.settings + ["--set", "answer.format={prompt}"])
    #expect(result.code == 1, "\(result.stderr)")
    #expect(result.stderr.contains("placeholder"), "\(result.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// `Graphs/idefics-video.json`: sampled frames resampled together into the 8 latents the
  /// decoder reads (the values are checked against transformers in IdeficsPluginTests).
  @Test func videoGraphRuns() throws {
    let out = CLI.temporaryFolder("idefics-video")
    let result = try CLI.run(
      [
        "run", "Graphs/idefics-video.json", "--input",
        "video=Tests/Fixtures/video/h264_64x48_10fps_short.mp4",
        "--input", "prompt=What happens?", "--out", out, "--no-cache", "--set", "every=3",
      ] + Self.settings, timeout: 600)
    #expect(result.code == 0, "\(result.stderr)")
    #expect(try CLI.npy(out + "/latents.npy").shape == [8, 32])
    let tokens = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/tokens.json")), as: UTF8.self))
    #expect(tokens.elements?.count == 10)
  }
}

import Foundation
import MMCore
import MMWeights
import Testing

/// The ImageBind graphs (Graphs/imagebind-embed-*.json) from a file to an embedding through the
/// `mmgraph` binary, with the tiny random ImageBind of Tests/Fixtures/imagebind (`--set weights=…`):
/// the result is ImageBind's own output on ImageBind's own preprocessing of the same file
/// (Scripts/goldens/imagebind.py), unit-normalized.
@Suite struct ImageBindGraphTests {
  static let weights = "weights=Tests/Fixtures/imagebind/tiny.safetensors"

  /// The golden `name` of end_to_end.safetensors, rows scaled to unit length.
  static func golden(_ name: String) throws -> [Float] {
    let file = try SafetensorsFile(path: CLI.path("Tests/Goldens/imagebind/end_to_end.safetensors"))
    let tensor = try file.tensor(named: name).converted(to: .f32)
    let values = tensor.floats()
    let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return values.map { $0 / norm }
  }

  static func maxError(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
  }

  /// Runs `graph` on `input` and returns the embedding written to `embedding.npy`.
  static func embed(_ graph: String, _ input: String, _ extra: [String] = []) throws -> (Tensor?, String) {
    let out = CLI.temporaryFolder("imagebind")
    let result = try CLI.run(
      ["run", "Graphs/\(graph)", "--input", input, "--set", weights, "--out", out, "--no-cache"] + extra,
      timeout: 600)
    guard result.code == 0 else { return (nil, result.stderr) }
    return (try CLI.npy(out + "/embedding.npy"), result.stderr)
  }

  @Test func image() throws {
    let (embedding, log) = try Self.embed(
      "imagebind-embed-image.json", "Tests/Fixtures/image/baseline444.jpg")
    let vectors = try #require(embedding, "\(log)")
    #expect(vectors.shape == [1, 16])
    let error = Self.maxError(vectors.floats(), try Self.golden("e2e.vision"))
    print("imagebind image graph: max |Δ| \(error)")
    #expect(error <= 2e-4, "max |Δ| \(error)")
  }

  @Test func audio() throws {
    let (embedding, log) = try Self.embed(
      "imagebind-embed-audio.json", "Tests/Fixtures/audio/speech_espeak_22050.wav")
    let vectors = try #require(embedding, "\(log)")
    #expect(vectors.shape == [1, 16])
    let error = Self.maxError(vectors.floats(), try Self.golden("e2e.audio"))
    print("imagebind audio graph: max |Δ| \(error)")
    #expect(error <= 2e-4, "max |Δ| \(error)")
  }

  @Test func video() throws {
    let (embedding, log) = try Self.embed(
      "imagebind-embed-video.json", "Tests/Fixtures/video/h264_128x96_29.97fps.mkv")
    let vectors = try #require(embedding, "\(log)")
    #expect(vectors.shape == [1, 16])
    let error = Self.maxError(vectors.floats(), try Self.golden("e2e.video"))
    print("imagebind video graph: max |Δ| \(error)")
    #expect(error <= 2e-4, "max |Δ| \(error)")
  }

  @Test func missingWeightsAndWrongConfigurationAreClearErrors() throws {
    let out = CLI.temporaryFolder("imagebind-bad")
    let missing = try CLI.run([
      "run", "Graphs/imagebind-embed-image.json", "--input", "Tests/Fixtures/image/baseline444.jpg", "--set",
      "weights=/nonexistent/imagebind.safetensors", "--out", out, "--no-cache",
    ])
    #expect(
      missing.code == 1 && missing.stderr.contains("/nonexistent/imagebind.safetensors")
        && missing.stderr.contains("convert_imagebind.py"), "\(missing.stderr)")
    // The tiny weights with a configuration of other sizes: the first mismatched tensor is named.
    let folder = CLI.temporaryFolder("imagebind-config")
    let weights = folder + "/tiny.safetensors"
    try FileManager.default.copyItem(
      atPath: CLI.path("Tests/Fixtures/imagebind/tiny.safetensors"), toPath: weights)
    try Data(#"{"out_embed_dim": 16, "vision": {"embed_dim": 64, "num_heads": 4, "num_blocks": 2}}"#.utf8)
      .write(to: URL(fileURLWithPath: folder + "/tiny.json"))
    let wrong = try CLI.run([
      "run", "Graphs/imagebind-embed-image.json", "--input", "Tests/Fixtures/image/baseline444.jpg", "--set",
      "weights=\(weights)", "--out", out, "--no-cache",
    ])
    #expect(
      wrong.code == 1 && wrong.stderr.contains("modality_preprocessors.vision.rgbt_stem.proj.1.weight")
        && wrong.stderr.contains("[64, 3, 2, 14, 14]"), "\(wrong.stderr)")
  }
}

/// The text encoder through graphs: ids (ImageBind's tokenizer layout) to the embedding, and text
/// through CLIP's tokenizer into the model.
@Suite struct ImageBindTextGraphTests {
  @Test func idsGiveImageBindsEmbedding() throws {
    let graph = CLI.writeGraph(
      """
      {"mmgraph": 1,
       "inputs": {"ids": {"type": "tensor"}},
       "nodes": {"embed": {"type": "imagebind.text", "inputs": {"in": "$ids"},
                 "options": {"weights": "\(CLI.path("Tests/Fixtures/imagebind/tiny.safetensors"))"}}},
       "outputs": {"embedding": {"from": "embed.out"}, "logit_scale": {"from": "embed.logit_scale"}}}
      """)
    let out = CLI.temporaryFolder("imagebind-text")
    let result = try CLI.run([
      "run", graph, "--input", "Tests/Goldens/imagebind/text_ids.npy", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let vectors = try CLI.npy(out + "/embedding.npy")
    #expect(vectors.shape == [3, 16])
    let file = try SafetensorsFile(path: CLI.path("Tests/Goldens/imagebind/end_to_end.safetensors"))
    let golden = try file.tensor(named: "e2e.text").converted(to: .f32).floats()
    var error: Float = 0
    for row in 0..<3 {
      let g = Array(golden[(row * 16)..<((row + 1) * 16)])
      let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
      let actual = Array(vectors.floats()[(row * 16)..<((row + 1) * 16)])
      error = max(error, ImageBindGraphTests.maxError(actual, g.map { $0 / norm }))
    }
    print("imagebind text ids graph: max |Δ| \(error)")
    #expect(error <= 1e-4)
    let scale = try CLI.npy(out + "/logit_scale.npy").floats()
    #expect(scale.count == 1 && abs(scale[0] - 19.3) < 0.05)
  }

  /// Text is tokenized with the vocabulary option (here the committed 10k-merge CLIP BPE, whose
  /// 10,514 tokens are the tiny model's text vocabulary): "a dog" gives ImageBind's embedding of
  /// SimpleTokenizer's ids on the same file (graphs.json). A missing vocabulary is named with
  /// where to get it.
  @Test func textIsTokenizedForTheModel() throws {
    let out = CLI.temporaryFolder("imagebind-text2")
    let tokenized = try CLI.run([
      "run", "Graphs/imagebind-embed-text.json", "--input", "caption=a dog", "--set",
      ImageBindGraphTests.weights,
      "--set", "vocabulary=Tests/Fixtures/clip/tokenizer/bpe_10k.txt.gz", "--out", out, "--no-cache",
    ])
    #expect(tokenized.code == 0, "\(tokenized.stderr)")
    let golden = (try ImageBindSpaceGraphTests.goldens()["text"]?["a dog"]?.elements ?? []).map {
      Float($0.double ?? .nan)
    }
    let vectors = try CLI.npy(out + "/embedding.npy")
    #expect(vectors.shape == [1, 16])
    let error = ImageBindGraphTests.maxError(vectors.floats(), golden)
    print("imagebind text graph ('a dog'): max |Δ| \(error)")
    #expect(error <= 1e-4, "max |Δ| \(error)")
    // Without the option, the vocabulary `Scripts/fetch-models.sh clip-bpe` puts in the models
    // folder is used (here a models folder holding the small BPE under the real file's name).
    let models = CLI.temporaryFolder("imagebind-models")
    try FileManager.default.createDirectory(atPath: models + "/clip-bpe", withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: CLI.path("Tests/Fixtures/clip/tokenizer/bpe_10k.txt.gz"),
      toPath: models + "/clip-bpe/bpe_simple_vocab_16e6.txt.gz")
    let fetched = CLI.temporaryFolder("imagebind-text4")
    let found = try CLI.run(
      [
        "run", "Graphs/imagebind-embed-text.json", "--input", "caption=a dog", "--set",
        ImageBindGraphTests.weights, "--out", fetched, "--no-cache",
      ], environment: ["MMGRAPH_MODELS": models])
    #expect(found.code == 0, "\(found.stderr)")
    if found.code == 0 {
      #expect(try CLI.npy(fetched + "/embedding.npy").floats() == vectors.floats())
    }
    // Neither the option, nor a file beside the weights, nor a fetched one: named, with the fix.
    let none = CLI.temporaryFolder("imagebind-text3")
    let missing = try CLI.run(
      [
        "run", "Graphs/imagebind-embed-text.json", "--input", "caption=a dog", "--set",
        ImageBindGraphTests.weights, "--out", none, "--no-cache",
      ], environment: ["MMGRAPH_MODELS": CLI.temporaryFolder("imagebind-no-models")])
    #expect(
      missing.code == 1 && missing.stderr.contains("bpe_simple_vocab_16e6.txt.gz")
        && missing.stderr.contains("no CLIP vocabulary")
        && missing.stderr.contains("fetch-models.sh clip-bpe"),
      "\(missing.stderr)")
    #expect(CLI.files(in: none).isEmpty)
  }
}

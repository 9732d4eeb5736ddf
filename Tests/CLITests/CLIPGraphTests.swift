import Foundation
import MMCore
import MMWeights
import Testing

/// `Graphs/clip-image-embedding.json` and the `clip.text` node through the `mmgraph` binary, on the
/// tiny random CLIP checkpoint of Scripts/goldens/clip.py (Tests/Fixtures/clip/tiny): the same
/// unit vectors as Hugging Face `CLIPModel` fed the same pipeline.
@Suite struct CLIPGraphTests {
  static let photo = CLI.path("../shared/testdata/dog_image.jpg")

  static func golden(_ name: String) throws -> [Float] {
    let file = try SafetensorsFile(path: CLI.path("Tests/Goldens/clip/tiny.safetensors"))
    return try file.tensor(named: name).contiguous().floats()
  }

  @Test func imageGraphMatchesTheReference() throws {
    try #require(
      FileManager.default.fileExists(atPath: Self.photo),
      "missing ../shared/testdata/dog_image.jpg (the shared real-photo test data)")
    let out = CLI.temporaryFolder("clip-image")
    let result = try CLI.run([
      "run", "Graphs/clip-image-embedding.json", "--input", "photo=\(Self.photo)", "--set",
      "model=Tests/Fixtures/clip/tiny", "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let embedding = try CLI.npy(out + "/embedding.npy")
    #expect(embedding.shape == [1, 16])
    let expected = try Self.golden("image_embeds_normalized_torchvision")
    let worst = zip(embedding.floats(), expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    #expect(worst <= 1e-5, "max |Δ| \(worst)")
  }

  @Test func textNodeEmbedsAnArrayOfCaptions() throws {
    let graph = CLI.writeGraph(
      """
      {"mmgraph": 1,
       "inputs": {"captions": {"type": "json"}},
       "nodes": {"embed": {"type": "clip.text", "inputs": {"in": "$captions"},
                           "options": {"model": "\(CLI.path("Tests/Fixtures/clip/tiny"))"}}},
       "outputs": {"embedding": {"from": "embed.out"}}}
      """, name: "clip-text.json")
    let captions = CLI.temporaryFolder("clip-text-in") + "/captions.json"
    let texts = #"["a photo of a dog", "a red car parked on a street", "&quot;CATS&quot; 123"]"#
    _ = FileManager.default.createFile(atPath: captions, contents: Data(texts.utf8))
    let out = CLI.temporaryFolder("clip-text")
    let result = try CLI.run(["run", graph, "--input", "captions=\(captions)", "--out", out, "--no-cache"])
    #expect(result.code == 0, "\(result.stderr)")
    let embedding = try CLI.npy(out + "/embedding.npy")
    #expect(embedding.shape == [3, 16])
    let expected = try Self.golden("text_embeds_normalized")
    let worst = zip(embedding.floats(), expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    #expect(worst <= 1e-5, "max |Δ| \(worst)")
  }

  /// Graphs/clip-zero-shot-image.json with the golden texts as labels (template "{}"): the
  /// probabilities are softmax(exp(logit_scale) · cosine) of the reference's embeddings.
  @Test func zeroShotGraphRanksLikeTheReference() throws {
    try #require(
      FileManager.default.fileExists(atPath: Self.photo), "missing ../shared/testdata/dog_image.jpg")
    let texts = ["a photo of a dog", "a red car parked on a street", "&quot;CATS&quot; 123"]
    let labels = CLI.temporaryFolder("clip-zero-shot-in") + "/labels.txt"
    _ = FileManager.default.createFile(atPath: labels, contents: Data(texts.joined(separator: "\n").utf8))
    let out = CLI.temporaryFolder("clip-zero-shot")
    let result = try CLI.run([
      "run", "Graphs/clip-zero-shot-image.json", "--input", "photo=\(Self.photo)", "--input",
      "labels=\(labels)",
      "--set", "model=Tests/Fixtures/clip/tiny", "--set", #"template="{}""#, "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let image = try Self.golden("image_embeds_normalized_torchvision")
    let text = try Self.golden("text_embeds_normalized")
    let dim = image.count
    let scale = Float(Foundation.exp(2.3))  // the fixture's logit_scale
    let logits = (0..<texts.count).map { t in
      scale * (0..<dim).reduce(Float(0)) { $0 + image[$1] * text[t * dim + $1] }
    }
    let top = logits.max() ?? 0
    let total = logits.reduce(Float(0)) { $0 + Foundation.exp($1 - top) }
    let expected = logits.map { Foundation.exp($0 - top) / total }
    let json = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/labels.json")), as: UTF8.self))
    let ranking = try #require(json.elements?.first?["ranking"]?.elements)
    #expect(ranking.count == texts.count)
    for entry in ranking {
      let label = try #require(entry["label"]?.string)
      let index = try #require(texts.firstIndex(of: label), "unknown label \(label)")
      let probability = Float(try #require(entry["probability"]?.double))
      #expect(abs(probability - expected[index]) <= 1e-5, "\(label): \(probability) vs \(expected[index])")
    }
  }

  @Test func aMissingCheckpointIsAClearError() throws {
    try #require(
      FileManager.default.fileExists(atPath: Self.photo), "missing ../shared/testdata/dog_image.jpg")
    let out = CLI.temporaryFolder("clip-missing")
    let result = try CLI.run([
      "run", "Graphs/clip-image-embedding.json", "--input", "photo=\(Self.photo)", "--set",
      "model=/nonexistent/clip", "--out", out, "--no-cache",
    ])
    #expect(result.code == 1 && result.stderr.contains("/nonexistent/clip"), "\(result.stderr)")
  }
}

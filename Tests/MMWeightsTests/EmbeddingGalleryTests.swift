import Foundation
import MMCore
import Testing

@testable import MMWeights

/// `EmbeddingGallery` (what `mmgraph gallery build` writes and `space.search` reads): a round
/// trip, clear errors for bad manifests, and random mutations of a manifest that never crash.
@Suite struct EmbeddingGalleryTests {
  static func folder() throws -> String {
    let folder = NSTemporaryDirectory() + "mmgraph-gallery-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
  }

  static let sample = EmbeddingGallery(
    files: ["a.txt", "b.md"], space: "minilm", dimension: 3, form: "unit", graph: "/g/embed.json",
    folder: "/docs",
    version: "0.1.0")

  @Test func roundTrip() throws {
    let base = try Self.folder() + "/docs"
    let vectors = Tensor([1, 0, 0, 0, 0.6, 0.8], shape: [2, 3])
    try Self.sample.write(vectors: vectors, to: base)
    #expect(FileManager.default.fileExists(atPath: base + ".npy"))
    for name in [base, base + ".json", base + ".npy"] {
      let (gallery, read) = try EmbeddingGallery.read(name)
      #expect(gallery == Self.sample)
      #expect(read.shape == [2, 3] && read.floats() == vectors.floats())
    }
    // No temporary file is left beside them.
    let left = try FileManager.default.contentsOfDirectory(
      atPath: URL(fileURLWithPath: base).deletingLastPathComponent().path)
    #expect(left.sorted() == ["docs.json", "docs.npy"])
  }

  @Test func badManifestsAndMismatchedVectorsAreClearErrors() throws {
    let base = try Self.folder() + "/g"
    #expect(throws: WeightFileError.self) {
      try Self.sample.write(vectors: Tensor(zeros: [3, 3]), to: base)
    }
    func manifest(_ text: String) throws -> String {
      try Data(text.utf8).write(to: URL(fileURLWithPath: base + ".json"))
      do {
        _ = try EmbeddingGallery.readManifest(base)
        return "accepted"
      } catch { return error.description }
    }
    #expect(try manifest("[]").contains("expected a JSON object"))
    #expect(try manifest("{\"mmgraph_gallery\": 2}").contains("'mmgraph_gallery' is 2, expected 1"))
    #expect(
      try manifest(
        "{\"mmgraph_gallery\": 1, \"space\": \"m\", \"dimension\": 0, \"form\": \"unit\", \"files\": [], \"graph\": \"g\"}"
      ).contains("'dimension' is 0"))
    #expect(
      try manifest(
        "{\"mmgraph_gallery\": 1, \"space\": \"m\", \"dimension\": 2, \"form\": \"unit\", \"files\": [\"a\", 3], \"graph\": \"g\"}"
      ).contains("'files'/1 is number"))
    #expect(
      try manifest(
        "{\"mmgraph_gallery\": 1, \"space\": \"m\", \"dimension\": 2, \"form\": \"big\", \"files\": [], \"graph\": \"g\"}"
      ).contains("'form' is \"big\""))
    #expect(try manifest("{\"mmgraph_gallery\": 1,").contains(base + ".json"))
    // A manifest whose vectors disagree with it.
    try Self.sample.write(vectors: Tensor(zeros: [2, 3]), to: base)
    try NPY.write(Tensor(zeros: [2, 4]), to: base + ".npy")
    do {
      _ = try EmbeddingGallery.read(base)
      Issue.record("mismatched vectors were read")
    } catch {
      #expect(error.description.contains("manifest says [2, 3]"), "\(error)")
    }
    #expect(throws: WeightFileError.self) { try EmbeddingGallery.readManifest(base + "-missing") }
  }

  /// Random byte edits, truncations and token splices of a valid manifest: a gallery or a
  /// `WeightFileError` naming the manifest, never a crash.
  @Test func mutatedManifestsNeverCrash() throws {
    let base = try Self.folder() + "/fuzz"
    try Self.sample.write(vectors: Tensor(zeros: [2, 3]), to: base)
    let valid = Array(try Data(contentsOf: URL(fileURLWithPath: base + ".json")))
    let tokens = [
      "null", "-1", "1e400", "\"\"", "[", "]", "{", "}", ",", ":", "\"files\"", "\"dimension\"", "\u{FFFF}",
    ]
    var rng = SeededRandom(seed: 7)
    func random(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    for iteration in 0..<400 {
      var bytes = valid
      switch random(4) {
      case 0: for _ in 0...random(4) { bytes[random(bytes.count)] = UInt8(random(256)) }
      case 1: bytes = Array(bytes.prefix(random(bytes.count)))
      case 2:
        let token = Array(tokens[random(tokens.count)].utf8)
        let at = random(bytes.count)
        bytes.replaceSubrange(at..<min(at + random(6), bytes.count), with: token)
      default: bytes.insert(contentsOf: Array(tokens[random(tokens.count)].utf8), at: random(bytes.count))
      }
      try Data(bytes).write(to: URL(fileURLWithPath: base + ".json"))
      do {
        let gallery = try EmbeddingGallery.readManifest(base)
        #expect(gallery.dimension > 0, "iteration \(iteration)")
      } catch {
        #expect(error.path == base + ".json", "iteration \(iteration): \(error)")
      }
    }
  }
}

import Foundation
import MMCore
import MMGraph
import MMTestSupport
import MMWeights
import Testing

@testable import SentencePlugin
@testable import SpacePlugin
@testable import TextPlugin

/// `sentence.embed` on the tiny BERT fixture (goldens from sentence-transformers), and the text
/// nodes that feed it: `text.folder`, `text.template`.
@Suite struct SentencePluginTests {
  static let root = packageRoot
  static let tiny = root.appendingPathComponent("Tests/Fixtures/bert/tiny").path

  static func temporaryFolder() throws -> String {
    let folder = NSTemporaryDirectory() + "mmgraph-sentence-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
  }

  static func goldenSentences() throws -> [String] {
    let data = try Data(contentsOf: root.appendingPathComponent("Tests/Goldens/bert/tiny.json"))
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["sentences"] as? [String] ?? []
  }

  @Test func embedsAJSONListAsSentenceTransformersDoes() throws {
    let sentences = try Self.goldenSentences()
    // Strings and {"text": …} objects mixed.
    let items: [JSONValue] = sentences.enumerated().map { index, text in
      index % 2 == 0
        ? .string(text)
        : .object([JSONMember("name", .string("s\(index)")), JSONMember("text", .string(text))])
    }
    let graph = SpacePluginTests.graph(
      "sentence.embed", inputs: [("json", "json")],
      options: "{\"model\": \"\(Self.tiny)\", \"batch_size\": 3}",
      output: "embedding")
    let loaded = try SpacePluginTests.load(graph)
    // The type rule reads the width from config.json and names the space after the folder.
    #expect(loaded.graph?.outputs.first?.type == .embedding(space: "tiny", dimension: 32, form: .unit))
    guard case .embedding(let out) = try SpacePluginTests.run(loaded, ["json": .json(.array(items))]) else {
      Issue.record("no embedding")
      return
    }
    let golden = try openWeightStore(
      path: Self.root.appendingPathComponent("Tests/Goldens/bert/tiny.safetensors").path)
    let expected = try golden.tensor(named: "sentence_embeddings").contiguous().floats()
    #expect(out.vectors.shape == [sentences.count, 32])
    let difference = maxAbsDifference(out.vectors.floats(), expected).value
    #expect(difference <= 1e-4, "max |Δ| \(difference)")
  }

  @Test func oneTextAndTheOptionsOfTheSpace() throws {
    let graph = SpacePluginTests.graph(
      "sentence.embed", inputs: [("text", "text")],
      options: "{\"model\": \"\(Self.tiny)\", \"space\": \"demo\"}",
      output: "embedding")
    let loaded = try SpacePluginTests.load(graph)
    guard
      case .embedding(let out) = try SpacePluginTests.run(
        loaded, ["text": .text("A man is playing a guitar.")])
    else {
      Issue.record("no embedding")
      return
    }
    #expect(out.space == "demo" && out.vectors.shape == [1, 32])
    // Both inputs, or neither: refused at load.
    let both = try SpacePluginTests.load(
      SpacePluginTests.graph(
        "sentence.embed", inputs: [("text", "text"), ("json", "json")], output: "embedding"))
    #expect(SpacePluginTests.errors(both).contains("exactly one"), "\(SpacePluginTests.errors(both))")
  }

  @Test func missingModelNamesTheFetchCommandAndBadJSONItsIndex() throws {
    let folder = try Self.temporaryFolder()
    let graph = SpacePluginTests.graph(
      "sentence.embed", inputs: [("json", "json")], options: "{\"model\": \"\(folder)/minilm\"}",
      output: "embedding")
    let loaded = try SpacePluginTests.load(graph)
    #expect(loaded.errors.isEmpty, "a missing model must not stop `check`")
    do {
      _ = try SpacePluginTests.run(loaded, ["json": .json(.array([.string("hi")]))])
      Issue.record("a missing model ran")
    } catch {
      #expect("\(error)".contains("bash Scripts/fetch-models.sh minilm"), "\(error)")
    }
    let tiny = try SpacePluginTests.load(
      SpacePluginTests.graph(
        "sentence.embed", inputs: [("json", "json")], options: "{\"model\": \"\(Self.tiny)\"}",
        output: "embedding"))
    do {
      _ = try SpacePluginTests.run(tiny, ["json": .json(.array([.string("ok"), .number("3")]))])
      Issue.record("a number was embedded")
    } catch {
      #expect("\(error)".contains("/1: expected a string or an object"), "\(error)")
    }
  }

  @Test func folderReadsSortedTextFilesAndNamesABadOne() throws {
    let folder = try Self.temporaryFolder()
    try Data("second\r\n".utf8).write(to: URL(fileURLWithPath: folder + "/b.txt"))
    try Data("# first\n\n".utf8).write(to: URL(fileURLWithPath: folder + "/a.md"))
    try Data([0, 1, 2]).write(to: URL(fileURLWithPath: folder + "/c.bin"))
    try FileManager.default.createDirectory(atPath: folder + "/sub.txt", withIntermediateDirectories: true)
    let loaded = try SpacePluginTests.load(SpacePluginTests.graph("text.folder", inputs: [("in", "text")]))
    let value = try SpacePluginTests.run(loaded, ["in": .text(folder)])
    #expect(
      value.jsonValue
        == .array([
          .object([JSONMember("name", .string("a.md")), JSONMember("text", .string("# first"))]),
          .object([JSONMember("name", .string("b.txt")), JSONMember("text", .string("second"))]),
        ]))
    try Data([0x61, 0xFF, 0x62]).write(to: URL(fileURLWithPath: folder + "/d.txt"))
    do {
      _ = try SpacePluginTests.run(loaded, ["in": .text(folder)])
      Issue.record("invalid UTF-8 was read")
    } catch {
      #expect("\(error)".contains("d.txt"), "\(error)")
    }
    #expect(throws: (any Error).self) { try SpacePluginTests.run(loaded, ["in": .text(folder + "/nope")]) }
  }

  @Test func templatePutsEachLabelInThePrompt() throws {
    let loaded = try SpacePluginTests.load(
      SpacePluginTests.graph(
        "text.template", inputs: [("labels", "text")], options: "{\"template\": \"a photo of a {}.\"}"))
    let value = try SpacePluginTests.run(loaded, ["labels": .text("dog\ncar\n")])
    #expect(value.jsonValue == .array([.string("a photo of a dog."), .string("a photo of a car.")]))
    let bad = try SpacePluginTests.load(
      SpacePluginTests.graph(
        "text.template", inputs: [("labels", "json")], options: "{\"template\": \"no slot\"}"))
    #expect(SpacePluginTests.errors(bad).contains("{}"), "\(SpacePluginTests.errors(bad))")
  }
}

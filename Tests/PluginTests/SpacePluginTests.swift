import Foundation
import MMCore
import MMGraph
import MMTestSupport
import MMWeights
import Testing

@testable import SentencePlugin
@testable import SpacePlugin
@testable import TextPlugin

/// The `space.*` nodes: values against plain loops, and embeddings of different spaces,
/// dimensions or forms refused when the graph loads.
@Suite struct SpacePluginTests {
  static func registry() throws -> NodeRegistry {
    var registry = NodeRegistry()
    for plugin: any NodePlugin.Type in [TextPlugin.self, SpacePlugin.self, SentencePlugin.self] {
      try plugin.register(into: &registry)
    }
    return registry
  }

  /// Loads a graph from text (in a temporary folder, so relative paths resolve there).
  static func load(_ text: String, inputTypes: [String: PortType] = [:]) throws -> LoadResult {
    let folder = NSTemporaryDirectory() + "mmgraph-space-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/graph.json"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return GraphLoader(registry: try registry()).load(file: path, inputTypes: inputTypes)
  }

  /// A graph of one node `n` of `type` whose inputs are graph inputs of the given types.
  static func graph(
    _ type: String, inputs: [(port: String, type: String)], options: String = "{}", output: String = "out"
  ) -> String {
    let declared = inputs.map { "\"\($0.port)\": \"\($0.type)\"" }.joined(separator: ", ")
    let wired = inputs.map { "\"\($0.port)\": \"$\($0.port)\"" }.joined(separator: ", ")
    return """
      {"mmgraph": 1, "inputs": {\(declared)},
       "nodes": {"n": {"type": "\(type)", "inputs": {\(wired)}, "options": \(options)}},
       "outputs": {"result": "n.\(output)"}}
      """
  }

  /// Runs a loaded graph on batch values; the `result` output.
  static func run(_ result: LoadResult, _ values: [String: Value]) throws -> Value {
    let graph = try #require(result.graph, "\(result.diagnostics.map(\.description))")
    let outputs = try SerialExecutor().run(graph, inputs: values.mapValues { [Packet($0)] })
    return try #require(outputs["result"]?.last?.value)
  }

  static func embedding(_ rows: [[Float]], space: String = "minilm", form: EmbeddingForm = .unit) -> Value {
    .embedding(
      Embedding(
        vectors: Tensor(rows.flatMap { $0 }, shape: [rows.count, rows[0].count]), space: space, form: form))
  }

  static func unit(_ v: [Float]) -> [Float] {
    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / norm }
  }

  static func errors(_ result: LoadResult) -> String {
    result.errors.map(\.description).joined(separator: "\n")
  }

  @Test func registersInItsNamespace() throws {
    let registry = try Self.registry()
    #expect(registry.typeNames.filter { $0.hasPrefix("space.") }.count == SpacePlugin.descriptors.count)
    #expect(
      Set(SpacePlugin.descriptors.map(\.type)) == [
        "space.normalize", "space.similarity", "space.classify", "space.search", "space.add",
      ])
  }

  @Test func clipAndMiniLMEmbeddingsAreRefusedAtLoad() throws {
    let clip = "embedding<clip, 512, unit>"
    let minilm = "embedding<minilm, 384, unit>"
    let cases: [(String, [(port: String, type: String)], String)] = [
      ("space.similarity", [("a", clip), ("b", minilm)], "scores"),
      ("space.search", [("query", minilm), ("gallery", clip), ("names", "json")], "out"),
      ("space.classify", [("query", clip), ("labels", minilm), ("names", "json")], "out"),
      ("space.add", [("a", clip), ("b", minilm)], "out"),
    ]
    for (type, inputs, output) in cases {
      let result = try Self.load(Self.graph(type, inputs: inputs, output: output))
      #expect(result.graph == nil, "\(type) accepted clip and minilm together")
      let text = Self.errors(result)
      #expect(text.contains("embedding<clip, 512, unit>") && text.contains("minilm"), "\(type): \(text)")
    }
    // One space but two widths, and raw vectors where unit ones are compared.
    let widths = try Self.load(
      Self.graph(
        "space.similarity", inputs: [("a", "embedding<minilm, 384>"), ("b", "embedding<minilm, 768>")],
        output: "scores"))
    #expect(Self.errors(widths).contains("768"), "\(Self.errors(widths))")
    let raw = try Self.load(
      Self.graph(
        "space.similarity", inputs: [("a", "embedding<minilm, 384, raw>"), ("b", minilm)], output: "scores"))
    #expect(Self.errors(raw).contains("L2-normalize"), "\(Self.errors(raw))")
    // Unknown (wildcard) spaces load; the values are checked when the node runs.
    let open = try Self.load(
      Self.graph("space.similarity", inputs: [("a", "embedding"), ("b", "embedding")], output: "scores"))
    #expect(open.errors.isEmpty)
    #expect(throws: (any Error).self) {
      try Self.run(open, ["a": Self.embedding([[1, 0]], space: "clip"), "b": Self.embedding([[1, 0]])])
    }
  }

  @Test func similarityIsScaledCosine() throws {
    let a: [[Float]] = [Self.unit([1, 2, 2]), Self.unit([0, 1, 0])]
    let b: [[Float]] = [Self.unit([2, 1, 2]), Self.unit([1, 0, 0]), Self.unit([0, 3, 4])]
    let result = try Self.load(
      Self.graph(
        "space.similarity",
        inputs: [("a", "embedding<minilm, 3, unit>"), ("b", "embedding<minilm, 3, unit>")],
        options: "{\"scale\": 2}", output: "scores"))
    #expect(result.graph?.outputs.first?.type == .tensor(dtype: .f32, shape: [.symbol("n"), .symbol("m")]))
    guard case .tensor(let scores) = try Self.run(result, ["a": Self.embedding(a), "b": Self.embedding(b)])
    else {
      Issue.record("no tensor")
      return
    }
    #expect(scores.shape == [2, 3])
    var expected: [Float] = []
    for x in a { for y in b { expected.append(2 * zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }) } }
    #expect(allClose(scores.floats(), expected, atol: 1e-6))
  }

  @Test func normalizeGivesUnitVectorsOfTheSameSpace() throws {
    let result = try Self.load(Self.graph("space.normalize", inputs: [("in", "embedding<clip, 2, raw>")]))
    #expect(result.graph?.outputs.first?.type == .embedding(space: "clip", dimension: 2, form: .unit))
    guard
      case .embedding(let out) = try Self.run(
        result, ["in": Self.embedding([[3, 4], [0, -2]], space: "clip", form: .raw)])
    else {
      Issue.record("no embedding")
      return
    }
    #expect(out.space == "clip" && out.form == .unit)
    #expect(allClose(out.vectors.floats(), [0.6, 0.8, 0, -1], atol: 1e-7))
  }

  @Test func classifyRanksLabelsBySoftmaxProbability() throws {
    let labels: [[Float]] = [Self.unit([1, 0, 0]), Self.unit([0, 1, 0]), Self.unit([1, 1, 0])]
    let query: [[Float]] = [Self.unit([0.2, 1, 0.1])]
    let result = try Self.load(
      Self.graph(
        "space.classify",
        inputs: [
          ("query", "embedding<minilm, 3, unit>"), ("labels", "embedding<minilm, 3, unit>"),
          ("names", "text"),
        ],
        options: "{\"scale\": 10}"))
    let value = try Self.run(
      result,
      [
        "query": Self.embedding(query), "labels": Self.embedding(labels),
        "names": .text("cat\ndog\n\nbird\n"),
      ])
    guard case .json(let json) = value, let first = json.elements?.first else {
      Issue.record("no json")
      return
    }
    let cos = labels.map { l in Double(zip(l, query[0]).reduce(0) { $0 + $1.0 * $1.1 }) }
    let e = cos.map { exp(10 * $0) }
    let p = e.map { $0 / e.reduce(0, +) }
    let ranking = first["ranking"]?.elements ?? []
    #expect(first["label"]?.string == "dog")
    #expect(ranking.compactMap { $0["label"]?.string } == ["dog", "bird", "cat"])
    let probabilities = ranking.compactMap { $0["probability"]?.double }
    #expect(
      zip(probabilities, [p[1], p[2], p[0]]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(probabilities) \(p)")
    #expect(abs(probabilities.reduce(0, +) - 1) < 1e-9)
    // A logit scale from the model overrides the option; a wrong name count is refused.
    let scaled = try Self.load(
      Self.graph(
        "space.classify",
        inputs: [
          ("query", "embedding<minilm, 3, unit>"), ("labels", "embedding<minilm, 3, unit>"),
          ("names", "json"),
          ("logit_scale", "tensor"),
        ], options: "{\"top_k\": 1}"))
    let top = try Self.run(
      scaled,
      [
        "query": Self.embedding(query), "labels": Self.embedding(labels),
        "names": .json(.array(["cat", "dog", "bird"].map { .string($0) })),
        "logit_scale": .tensor(Tensor([1], shape: [1])),
      ])
    let one = top.jsonValue?.elements?.first?["ranking"]?.elements ?? []
    #expect(one.count == 1)
    let p1 = cos.map { exp($0) }
    #expect(abs((one.first?["probability"]?.double ?? 0) - p1[1] / p1.reduce(0, +)) < 1e-6)
    #expect(throws: (any Error).self) {
      try Self.run(
        result,
        ["query": Self.embedding(query), "labels": Self.embedding(labels), "names": .text("cat\ndog")])
    }
  }

  @Test func searchRanksTheGalleryAndTakesTopK() throws {
    let gallery: [[Float]] = [
      Self.unit([1, 0]), Self.unit([1, 1]), Self.unit([0, 1]), Self.unit([-1, 0]),
    ]
    let names: JSONValue = .array(
      ["a.txt", "b.txt", "c.txt", "d.txt"].map { .object([JSONMember("name", .string($0))]) })
    let result = try Self.load(
      Self.graph(
        "space.search",
        inputs: [
          ("query", "embedding<minilm, 2, unit>"), ("gallery", "embedding<minilm, 2, unit>"),
          ("names", "json"),
        ],
        options: "{\"top_k\": 3}"))
    let one = try Self.run(
      result,
      [
        "query": Self.embedding([Self.unit([1, 0.2])]), "gallery": Self.embedding(gallery),
        "names": .json(names),
      ])
    let ranked = one.jsonValue?.elements ?? []
    #expect(ranked.compactMap { $0["name"]?.string } == ["a.txt", "b.txt", "c.txt"])
    let q = Self.unit([1, 0.2])
    #expect(abs((ranked.first?["score"]?.double ?? 0) - Double(q[0])) < 1e-6)
    // Two query rows: one ranking each.
    let two = try Self.run(
      result,
      [
        "query": Self.embedding([Self.unit([1, 0]), Self.unit([0, 1])]), "gallery": Self.embedding(gallery),
        "names": .json(names),
      ])
    let lists = two.jsonValue?.elements ?? []
    #expect(lists.count == 2)
    #expect(lists.last?.elements?.first?["name"]?.string == "c.txt")
    // Neither a gallery input nor the option: refused at load.
    let missing = try Self.load(Self.graph("space.search", inputs: [("query", "embedding<minilm, 2, unit>")]))
    #expect(Self.errors(missing).contains("gallery"), "\(Self.errors(missing))")
  }

  @Test func searchReadsASavedGalleryAndItsTypeAtLoad() throws {
    let folder = NSTemporaryDirectory() + "mmgraph-gallery-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let rows: [[Float]] = [Self.unit([1, 0, 0]), Self.unit([0, 1, 0]), Self.unit([0, 1, 1])]
    try EmbeddingGallery(
      files: ["x.txt", "y.txt", "z.txt"], space: "minilm", dimension: 3, form: "unit", graph: "g.json",
      folder: folder,
      version: "test"
    ).write(vectors: Tensor(rows.flatMap { $0 }, shape: [3, 3]), to: folder + "/docs")
    let good = try Self.load(
      Self.graph(
        "space.search", inputs: [("query", "embedding")],
        options: "{\"gallery\": \"\(folder)/docs\", \"top_k\": 2}"))
    #expect(good.errors.isEmpty, "\(Self.errors(good))")
    let ranked =
      try Self.run(good, ["query": Self.embedding([Self.unit([0, 1, 0.9])])]).jsonValue?.elements ?? []
    #expect(ranked.compactMap { $0["name"]?.string } == ["z.txt", "y.txt"])
    // The manifest fixes the query type: clip vectors, or another width, are refused at load.
    for type in ["embedding<clip, 3, unit>", "embedding<minilm, 384, unit>"] {
      let bad = try Self.load(
        Self.graph(
          "space.search", inputs: [("query", type)], options: "{\"gallery\": \"\(folder)/docs.json\"}"))
      #expect(
        bad.graph == nil && Self.errors(bad).contains("embedding<minilm, 3, unit>"), "\(Self.errors(bad))")
    }
    let absent = try Self.load(
      Self.graph(
        "space.search", inputs: [("query", "embedding")], options: "{\"gallery\": \"\(folder)/none\"}"))
    #expect(Self.errors(absent).contains("gallery build"), "\(Self.errors(absent))")
  }

  @Test func addComposesWeightedUnitVectors() throws {
    let result = try Self.load(
      Self.graph(
        "space.add",
        inputs: [("a", "embedding<imagebind, 2, unit>"), ("b", "embedding<imagebind, 2, unit>")],
        options: "{\"weights\": [1, 0.5]}"))
    #expect(result.graph?.outputs.first?.type == .embedding(space: "imagebind", dimension: 2, form: .unit))
    let value = try Self.run(
      result,
      [
        "a": Self.embedding([[1, 0], [0, 1]], space: "imagebind"),
        "b": Self.embedding([[0, 1]], space: "imagebind"),  // broadcast over a's rows
      ])
    guard case .embedding(let out) = value else {
      Issue.record("no embedding")
      return
    }
    let expected = Self.unit([1, 0.5]) + Self.unit([0, 1.5])
    #expect(allClose(out.vectors.floats(), expected, atol: 1e-6), "\(out.vectors.floats())")
    let wrongCount = try Self.load(
      Self.graph(
        "space.add",
        inputs: [("a", "embedding<imagebind, 2, unit>"), ("b", "embedding<imagebind, 2, unit>")],
        options: "{\"weights\": [1, 2, 3]}"))
    #expect(Self.errors(wrongCount).contains("2 weights"), "\(Self.errors(wrongCount))")
  }
}

extension Value {
  var jsonValue: JSONValue? {
    if case .json(let json) = self { return json }
    return nil
  }
}

import Foundation
import MMCore
import MMGraph
import Testing

@Suite("GraphLoader: valid graphs") struct LoaderTests {
  static var fixtures: URL { packageRoot().appendingPathComponent("Tests/MMGraphTests/Fixtures") }
  static var pipeline: String { fixtures.appendingPathComponent("pipeline.json").path }

  @Test func expandsSubgraphsAndSortsNodes() throws {
    let loader = GraphLoader(registry: TestNodes.registry)
    let result = loader.load(
      file: Self.pipeline, inputTypes: ["x": try PortType(parsing: "tensor<f32>[3, 4]")])
    #expect(result.diagnostics.isEmpty, "\(result.report)")
    let graph = try #require(result.graph)
    #expect(graph.nodes.map(\.name) == ["sum", "scaled", "inner/first", "inner/second"])
    #expect(graph.doc?.hasPrefix("Adds a tensor") == true)
    #expect(graph.nodes[0].inputs == ["a": .graphInput("x"), "b": .graphInput("x")])
    #expect(graph.nodes[1].inputs == ["x": .node(0, port: "out")])
    #expect(graph.nodes[2].inputs == ["x": .node(1, port: "out")])
    #expect(graph.nodes[3].inputs == ["x": .node(2, port: "out")])
    #expect(graph.outputs.map(\.name) == ["y", "sum"])
    #expect(graph.outputs[0].source == .node(3, port: "out"))
    #expect(graph.outputs[0].type.description == "tensor<f32>[3, 4]")
    #expect(
      graph.nodes[0].outputTypes["out"]?.description == "tensor<f32>[3, 4]", "symbols n, d bound from x")
    #expect(graph.inputs.map(\.name) == ["x"])
    #expect(graph.nodes[0].doc == "x + x")
    let location = try #require(graph.nodes[1].location)
    #expect(
      location.file == Self.pipeline && location.line == 23 && location.column == 5
        && location.pointer == "/nodes/scaled")
    #expect(graph.nodes[2].location?.file.hasSuffix("sub/rescale.json") == true)
  }

  @Test func substitutesGraphOptions() throws {
    let graph = try #require(GraphLoader(registry: TestNodes.registry).load(file: Self.pipeline).graph)
    let scaled = graph.nodes[1].options
    #expect(scaled["factor"] == .number("2.0"), "a whole-string ${scale} keeps the option's type")
    #expect(scaled["label"] == .string("scaled 2.0x, $5"), "inside text the value is spliced; $$ is $")
    #expect(scaled["mode"] == .string("linear"), "defaults fill unset options")
    #expect(graph.nodes[2].options["factor"] == .number("2.0"), "through the subgraph's option")
    #expect(graph.nodes[3].options["mode"] == .string("log"))
    #expect(
      graph.nodes[0].inputTypes["a"]?.description == "tensor<f32>[n, 4]",
      "declared input type without inputTypes")
  }

  @Test func appliesOverrides() throws {
    let loader = GraphLoader(registry: TestNodes.registry)
    let overrides: [OptionOverride] = [
      ("", "scale", .number("3")), ("inner", "factor", .number("5")),
      ("inner/second", "mode", .string("linear")),
    ]
    let result = loader.load(file: Self.pipeline, overrides: overrides)
    let graph = try #require(result.graph, "\(result.report)")
    #expect(graph.nodes[1].options["factor"] == .number("3"))
    #expect(graph.nodes[2].options["factor"] == .number("5"), "a subgraph node's option overrides ${scale}")
    #expect(graph.nodes[3].options["mode"] == .string("linear"))
    let label = loader.load(file: Self.pipeline, overrides: [("scaled", "label", .number("7"))]).graph
    #expect(label?.nodes[1].options["label"] == .string("7"), "numbers given to string options become text")
  }

  @Test func resolvesPathsAgainstTheGraphFile() throws {
    let file = Self.fixtures.appendingPathComponent("paths.json").path
    let result = GraphLoader(registry: TestNodes.registry).load(file: file)
    let graph = try #require(result.graph, "\(result.report)")
    let folder = Self.fixtures.path
    #expect(graph.nodes[0].options["path"] == .string(folder + "/data/a.npy"))
    #expect(
      graph.nodes[0].options["extra"]
        == .array([
          .string(folder + "/b.npy"), .string(Self.fixtures.deletingLastPathComponent().path + "/c.npy"),
        ]))
    let overridden = GraphLoader(registry: TestNodes.registry).load(
      file: file, overrides: [("load", "path", .string("z.npy"))])
    let cwd = FileManager.default.currentDirectoryPath
    #expect(
      overridden.graph?.nodes[0].options["path"]
        == .string(URL(fileURLWithPath: cwd + "/z.npy").standardized.path))
  }

  @Test func loadsInMemoryGraphsWithStreamsAndOptionalInputs() throws {
    let result = load(
      """
      {
        "mmgraph": 1,
        "outputs": { "count": "count.out", "biased": "bias.out", "left": "pair.left" },
        "nodes": {
          "frames": { "type": "test.frames" },
          "count": { "type": "test.count", "inputs": { "frames": "frames.frames" } },
          "source": { "type": "test.source", "options": { "rows": 7 } },
          "pair": { "type": "test.pair", "inputs": { "x": "source" } },
          "bias": { "type": "test.bias", "inputs": { "x": "pair.right" } }
        }
      }
      """)
    let graph = try #require(result.graph, "\(result.report)")
    #expect(graph.nodes.map(\.name) == ["frames", "count", "source", "pair", "bias"])
    #expect(graph.nodes[4].inputs.keys.sorted() == ["x"], "an unconnected optional input is absent")
    #expect(graph.nodes[2].outputTypes["out"]?.description == "tensor<f32>[7, 4]", "from the type rule")
    #expect(graph.outputs.first { $0.name == "count" }?.type == .json)
  }

  @Test func orderIsStableAmongReadyNodes() throws {
    var nodes: [String] = []
    for i in 0..<30 {
      let source = i == 0 ? "" : #", "inputs": { "x": "n\#(i - 1).out" }"#
      nodes.append(
        #""n\#(i)": { "type": "\#(i == 0 ? "test.source" : "test.scale")", "options": { \#(i == 0 ? "" : #""factor": 1"#) }\#(source) }"#
      )
    }
    nodes.reverse()
    let text =
      #"{"mmgraph": 1, "outputs": {"y": "n29.out"}, "nodes": {"# + nodes.joined(separator: ",\n") + "}}"
    let graph = try #require(load(text).graph)
    #expect(graph.nodes.map(\.name) == (0..<30).map { "n\($0)" })
    for (index, node) in graph.nodes.enumerated() {
      for reference in node.inputs.values {
        if case .node(let source, _) = reference { #expect(source < index) }
      }
    }
  }

  @Test func diagnosticJSONCarriesEveryField() throws {
    let result = load(#"{"mmgraph": 1, "outputs": {"y": "a.out"}, "nodes": {"a": {"type": "test.ad"}}}"#)
    let diagnostic = try #require(result.errors.first)
    let json = diagnostic.json
    #expect(json["kind"] == .string("unknown-node-type"))
    #expect(json["file"] == .string("main.json"))
    #expect(json["line"] == .number("1") && json["column"] == .number("67"))
    #expect(json["pointer"] == .string("/nodes/a/type"))
    #expect(json["node"] == .string("a") && json["found"] == .string("test.ad"))
    #expect(json["hint"] == .string("did you mean 'test.add'?"))
    #expect(
      diagnostic.description
        == "main.json:1:67: error: node 'a': unknown node type 'test.ad' (hint: did you mean 'test.add'?) [/nodes/a/type]"
    )
  }
}

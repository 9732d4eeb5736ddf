import Foundation
import MMCore
import MMGraph
import Testing

@Suite("GraphLoader: subgraphs, many errors, fuzz") struct SubgraphAndFuzzTests {
  static let sub = """
    {
      "mmgraph": 1,
      "options": { "factor": { "type": "float" } },
      "inputs": { "x": "tensor<f32>" },
      "outputs": { "out": "s.out" },
      "nodes": { "s": { "type": "test.scale", "options": { "factor": "${factor}" }, "inputs": { "x": "$x" } } }
    }
    """

  @Test func missingSubgraphFile() {
    let text = graph(
      #"    "src": { "type": "test.source" },"# + "\n"
        + #"    "out": { "graph": "parts/nope.json", "inputs": { "x": "src" } }"#)
    let result = load(text)
    #expect(result.errors.map(\.kind) == [.missingFile], "\(result.report)")
    let (line, column) = position(of: #""parts/nope.json""#, in: text)
    #expect(result.errors.first?.location?.line == line && result.errors.first?.location?.column == column)
    #expect(result.errors.first?.message == "cannot read graph file 'parts/nope.json': no such file")
    #expect(result.errors.first?.hint == "subgraph paths are relative to the including file's folder")
  }

  @Test func includeCycle() {
    let a = graph(#"    "out": { "graph": "b.json" }"#)
    let b = #"{"mmgraph": 1, "outputs": {"out": "inner.out"}, "nodes": {"inner": {"graph": "../g/a.json"}}}"#
    let result = MemoryFiles(files: ["g/a.json": a, "g/b.json": b]).load("g/a.json")
    #expect(result.errors.map(\.kind) == [.includeCycle], "\(result.report)")
    #expect(
      result.errors.first?.message.hasSuffix("subgraph include cycle: a.json → b.json → ../g/a.json") == true)
    #expect(result.errors.first?.location?.file == "g/b.json")
    #expect(result.errors.first?.location?.pointer == "/nodes/inner/graph")
  }

  @Test func subgraphProblemsPointIntoTheRightFile() {
    let main = graph(
      #"    "src": { "type": "test.text" },"# + "\n"
        + #"    "out": { "graph": "sub.json", "options": { "factr": 1 }, "inputs": { "x": "src", "z": "src" } }"#
    )
    let result = MemoryFiles(files: ["main.json": main, "sub.json": Self.sub]).load()
    let found = result.errors.map { "\($0.kind.rawValue) \($0.location?.pointer ?? "-")" }
    #expect(
      found == [
        "missing-option /nodes/out", "unknown-option /nodes/out/options/factr",
        "type-mismatch /nodes/out/inputs/x",
        "unknown-port /nodes/out/inputs/z",
      ], "\(result.report)")
    #expect(result.errors[2].message == "node 'out' input 'x': expected tensor<f32>, found text")
  }

  @Test func unconnectedSubgraphInputBlamesTheSubgraphNode() {
    let main = graph(#"    "out": { "graph": "sub.json", "options": { "factor": 2 } }"#)
    let result = MemoryFiles(files: ["main.json": main, "sub.json": Self.sub]).load()
    #expect(result.errors.map(\.kind) == [.unboundInput], "\(result.report)")
    #expect(result.errors.first?.hint == "connect 'x' on node 'out'")
    #expect(result.errors.first?.location?.file == "sub.json")
  }

  @Test func subgraphUsedTwiceExpandsTwice() throws {
    let main = graph(
      #"    "src": { "type": "test.source" },"# + "\n"
        + #"    "one": { "graph": "sub.json", "options": { "factor": 2 }, "inputs": { "x": "src" } },"# + "\n"
        + #"    "out": { "graph": "sub.json", "options": { "factor": 3 }, "inputs": { "x": "one.out" } }"#)
    let result = MemoryFiles(files: ["main.json": main, "sub.json": Self.sub]).load()
    let graph = try #require(result.graph, "\(result.report)")
    #expect(graph.nodes.map(\.name) == ["src", "one/s", "out/s"])
    #expect(graph.nodes.map { $0.options["factor"] } == [nil, .number("2"), .number("3")])
    #expect(graph.outputs.first?.type.description == "tensor<f32>[2, 4]")
  }

  @Test func reportsEveryProblemInOnePass() {
    let text = """
      {
        "mmgraph": 1,
        "inputs": { "x": "tensor<f32>", "spare": "text" },
        "outputs": { "y": "sum.out", "z": "ghost.out" },
        "nodez": {},
        "nodes": {
          "sum": { "type": "test.add", "inputs": { "a": "$x", "b": "txt" } },
          "txt": { "type": "test.text" },
          "bad": { "type": "test.sclae" },
          "scale": { "type": "test.scale", "options": { "factor": "x", "colour": 1 }, "inputs": { "x": "loop.out" } },
          "loop": { "type": "test.bias", "inputs": { "x": "scale.out" } }
        }
      }
      """
    let result = load(text)
    #expect(result.graph == nil)
    let kinds = Set(result.errors.map(\.kind))
    let expected: Set<Diagnostic.Kind> = [
      .danglingReference, .unknownKey, .typeMismatch, .unknownNodeType, .optionType, .unknownOption, .cycle,
    ]
    #expect(kinds == expected, "\(result.report)")
    #expect(Set(result.warnings.map(\.kind)) == [.unusedInput, .unusedNode])
    let lines = result.diagnostics.compactMap { $0.location?.line }
    #expect(lines == lines.sorted(), "diagnostics come in file order")
  }

  /// Seeded random edits of valid graph files: never a crash; either a graph or an error, and
  /// every location inside its file.
  @Test(arguments: [1, 2, 3, 4]) func mutatedGraphsNeverCrash(seed: UInt64) throws {
    let folder = packageRoot().appendingPathComponent("Tests/MMGraphTests/Fixtures")
    let pipeline = try String(contentsOf: folder.appendingPathComponent("pipeline.json"), encoding: .utf8)
    let rescale = try String(contentsOf: folder.appendingPathComponent("sub/rescale.json"), encoding: .utf8)
    var rng = SeededRandom(seed: seed)
    let alphabet = Array(#"{}[]",:$.${}/ 0123456789abcdefxyz\"#.utf8) + [0x0A, 0xC3, 0xFF]
    for _ in 0..<150 {
      var target = Int(rng.next() % 3) == 0 ? Array(rescale.utf8) : Array(pipeline.utf8)
      let edits = 1 + Int(rng.next() % 4)
      for _ in 0..<edits where !target.isEmpty {
        let at = Int(rng.next() % UInt64(target.count))
        switch rng.next() % 5 {
        case 0: target.removeSubrange(at..<min(target.count, at + 1 + Int(rng.next() % 8)))
        case 1: target.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
        case 2: target[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
        case 3: target = Array(target[..<at])
        default:
          let from = Int(rng.next() % UInt64(target.count))
          target.insert(contentsOf: target[from..<min(target.count, from + 12)], at: at)
        }
      }
      let mutated = String(decoding: target, as: UTF8.self)
      let mutatesSub = target.count < rescale.utf8.count + 200 && mutated.contains("second")
      let files = ["main.json": pipeline, "sub/rescale.json": rescale]
      let mutatedPath = mutatesSub ? "sub/rescale.json" : "main.json"
      var bytesByPath = ["main.json": Array(pipeline.utf8), "sub/rescale.json": Array(rescale.utf8)]
      bytesByPath[mutatedPath] = target
      let readable = bytesByPath
      let loader = GraphLoader(registry: TestNodes.registry) { path in
        guard let bytes = readable[path] else { throw MemoryFiles.Missing(path: path) }
        return bytes
      }
      let result = loader.load(file: "main.json", overrides: [("", "scale", .number("2"))])
      #expect((result.graph == nil) == !result.errors.isEmpty, "\(result.report)")
      for diagnostic in result.diagnostics {
        guard let location = diagnostic.location else { continue }
        let bytes =
          location.file == "main.json" && !mutatesSub || location.file == "sub/rescale.json" && mutatesSub
          ? target : Array(files[location.file]!.utf8)
        let lineCount = bytes.filter { $0 == 0x0A }.count + 1
        #expect(location.line >= 1 && location.line <= lineCount, "\(diagnostic)")
        #expect(location.column >= 1, "\(diagnostic)")
        #expect(location.pointer.isEmpty || location.pointer.hasPrefix("/"), "\(diagnostic)")
        #expect(!diagnostic.message.isEmpty)
      }
      if let graph = result.graph {
        for (index, node) in graph.nodes.enumerated() {
          for reference in node.inputs.values {
            if case .node(let source, _) = reference { #expect(source < index, "topological order") }
          }
        }
      }
    }
  }

  @Test func truncationsOfAValidGraphAllFail() throws {
    let text = try String(
      contentsOf: packageRoot().appendingPathComponent("Tests/MMGraphTests/Fixtures/sub/rescale.json"),
      encoding: .utf8)
    let bytes = Array(text.utf8)
    let end = bytes.lastIndex(of: UInt8(ascii: "}"))!
    for length in stride(from: 0, to: end, by: 3) {
      let result = MemoryFiles(files: ["main.json": String(decoding: bytes[..<length], as: UTF8.self)]).load(
        overrides: [("", "factor", .number("1"))])
      #expect(
        result.graph == nil && result.errors.first?.kind == .malformedJSON,
        "length \(length): \(result.report)")
    }
  }
}

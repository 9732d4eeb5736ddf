import Foundation
import MMCore
import Testing

/// Bad input gives a clear message and exit code 2 (1 for a failing node, 130 for Ctrl-C), never
/// a crash, and never a partial output file.
@Suite struct ErrorTests {
  static let arithmetic = ["Graphs/tensor-arithmetic.json", "--input", "a=Tests/Fixtures/a.npy"]

  @Test func malformedGraphJSON() throws {
    let graph = CLI.writeGraph(
      "{\n  \"mmgraph\": 1,\n  \"nodes\": {\n    \"a\": {\"type\": \"tensor.add\",}\n  }\n}\n")
    for command in ["check", "run", "plan", "dot"] {
      let result = try CLI.run(
        [command, graph] + (command == "run" ? ["--out", CLI.temporaryFolder("bad")] : []))
      #expect(result.code == 2, "\(command): \(result.stderr)")
      #expect(result.stderr.contains("graph.json:4:"), "\(command) names the line: \(result.stderr)")
    }
  }

  @Test func unknownNodeTypeHasAHint() throws {
    let graph = CLI.writeGraph(
      """
      {"mmgraph": 1, "inputs": {"x": "tensor"},
       "nodes": {"double": {"type": "tensor.ad", "inputs": {"a": "$x", "b": "$x"}}},
       "outputs": {"y": "double.out"}}
      """)
    let result = try CLI.run(["check", graph])
    #expect(result.code == 2)
    #expect(result.stderr.contains("tensor.ad") && result.stderr.contains("tensor.add"), "\(result.stderr)")
    let json = try CLI.run(["check", graph, "--json"])
    #expect(json.code == 2)
    let report = try CLI.json(json.stdout)
    #expect(report["ok"] == .bool(false))
    let kinds = report["diagnostics"]?.elements?.compactMap { $0["kind"]?.string } ?? []
    #expect(kinds.contains("unknown-node-type"), "\(json.stdout)")
  }

  @Test func typeMismatchOfAnInputFile() throws {
    let result = try CLI.run(
      ["run"] + Self.arithmetic + [
        "--input", "b=Tests/Fixtures/ints.npy", "--out", CLI.temporaryFolder("mismatch"),
      ])
    #expect(result.code == 2)
    #expect(result.stderr.contains("floating-point") && result.stderr.contains("i32"), "\(result.stderr)")
    let shape = try CLI.run(["check"] + Self.arithmetic + ["--input", "b=Tests/Fixtures/wrong-shape.npy"])
    #expect(shape.code == 2, "\(shape.stderr)")
  }

  @Test func missingAndUnsupportedInputs() throws {
    let out = CLI.temporaryFolder("inputs")
    let missing = try CLI.run(
      ["run"] + Self.arithmetic + ["--input", "b=Tests/Fixtures/nope.npy", "--out", out])
    #expect(missing.code == 2 && missing.stderr.contains("no such file"), "\(missing.stderr)")
    let unbound = try CLI.run(["run"] + Self.arithmetic + ["--out", out])
    #expect(unbound.code == 2 && unbound.stderr.contains("--input b=PATH"), "\(unbound.stderr)")
    let media = try CLI.run(["run"] + Self.arithmetic + ["--input", "b=clip.wav", "--out", out])
    #expect(media.code == 2, "\(media.stderr)")
    let wav = CLI.temporaryFolder("wav") + "/clip.wav"
    _ = FileManager.default.createFile(atPath: wav, contents: Data([0]))
    let audio = try CLI.run(["run"] + Self.arithmetic + ["--input", "b=\(wav)", "--out", out])
    #expect(
      audio.code == 2 && audio.stderr.contains("input 'b'") && audio.stderr.contains(wav), "\(audio.stderr)")
    let unknown = CLI.temporaryFolder("unknown") + "/data.xyzzy"
    _ = FileManager.default.createFile(atPath: unknown, contents: Data([0]))
    let unknownType = try CLI.run(["run"] + Self.arithmetic + ["--input", "b=\(unknown)", "--out", out])
    #expect(
      unknownType.code == 2 && unknownType.stderr.contains("unknown file type '.xyzzy'")
        && unknownType.stderr.contains(".wav"), "\(unknownType.stderr)")
    let unknownName = try CLI.run(
      ["run"] + Self.arithmetic + ["--input", "c=Tests/Fixtures/b.npy", "--out", out])
    #expect(unknownName.code == 2 && unknownName.stderr.contains("no input 'c'"), "\(unknownName.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  @Test func badUsage() throws {
    let noOut = try CLI.run(["run"] + Self.arithmetic)
    #expect(noOut.code == 2 && noOut.stderr.contains("--out"), "\(noOut.stderr)")
    let badSet = try CLI.run(["check", "Graphs/tensor-arithmetic.json", "--set", "scale"])
    #expect(badSet.code == 2 && badSet.stderr.contains("NODE.OPTION=VALUE"), "\(badSet.stderr)")
    let unknownNode = try CLI.run(["check", "Graphs/tensor-arithmetic.json", "--set", "scaled.factr=2"])
    #expect(unknownNode.code == 2, "\(unknownNode.stderr)")
    let wrongType = try CLI.run(["check", "Graphs/tensor-arithmetic.json", "--set", "scale=\"big\""])
    #expect(wrongType.code == 2, "\(wrongType.stderr)")
    let unknownOption = try CLI.run(["run", "Graphs/stream-sum.json", "--out", "/tmp/x", "--thread", "2"])
    #expect(unknownOption.code == 2 && unknownOption.stderr.contains("--threads"), "\(unknownOption.stderr)")
    let missingGraph = try CLI.run(["check", "Graphs/nope.json"])
    #expect(missingGraph.code == 2 && missingGraph.stderr.contains("nope.json"), "\(missingGraph.stderr)")
  }

  /// A node that fails at run time: exit 1, a message naming the node, and no output file at
  /// all — not even the outputs that were computed.
  @Test func failingNodeLeavesNoOutputs() throws {
    let graph = CLI.writeGraph(
      """
      {"mmgraph": 1, "inputs": {"m": "tensor"},
       "nodes": {
         "double": {"type": "tensor.add", "inputs": {"a": "$m", "b": "$m"}},
         "save": {"type": "tensor.save", "inputs": {"x": "double.out"}, "options": {"path": "/nonexistent-folder/x.npy"}}},
       "outputs": {"double": "double.out", "saved": "save.path"}}
      """)
    let out = CLI.temporaryFolder("failing")
    let result = try CLI.run([
      "run", graph, "--input", "m=\(CLI.path("Tests/Fixtures/a.npy"))", "--out", out, "--no-cache",
    ])
    #expect(result.code == 1, "\(result.stderr)")
    #expect(
      result.stderr.contains("'save'") && result.stderr.contains("nonexistent-folder"), "\(result.stderr)")
    #expect(CLI.files(in: out).isEmpty, "left behind: \(CLI.files(in: out))")
  }

  /// Ctrl-C during a run: exit 130, no output and no temporary file.
  @Test func interruptLeavesNoOutputs() throws {
    let out = CLI.temporaryFolder("interrupt")
    let start = Date()
    let result = try CLI.run(
      [
        "run", "Graphs/stream-sum.json", "--set", "count=2000", "--set", "delay_ms=5", "--out", out,
        "--no-cache", "--progress", "json",
      ],
      timeout: 60
    ) { process, stderr in
      // Wait until the source has produced a few packets, then interrupt.
      var seen = Data()
      while process.isRunning, !String(decoding: seen, as: UTF8.self).contains("\"done\":3,") {
        let chunk = stderr.availableData
        if chunk.isEmpty { break }
        seen.append(chunk)
      }
      kill(process.processIdentifier, SIGINT)
    }
    #expect(result.code == 130, "\(result.stderr.suffix(400))")
    #expect(Date().timeIntervalSince(start) < 10, "the run stopped promptly")
    #expect(CLI.files(in: out).isEmpty, "left behind: \(CLI.files(in: out))")
  }
}

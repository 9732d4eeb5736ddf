import Foundation
import MMCore
import Testing

/// The CLI's summaries, cache, catalog, plan, dot, trace and help.
@Suite struct CommandTests {
  static let arithmetic = [
    "Graphs/tensor-arithmetic.json", "--input", "a=Tests/Fixtures/a.npy", "--input", "b=Tests/Fixtures/b.npy",
  ]

  @Test func jsonSummaryAndCacheHitOnSecondRun() throws {
    let cache = CLI.temporaryFolder("cache")
    let first = CLI.temporaryFolder("first")
    let run1 = try CLI.run(["run"] + Self.arithmetic + ["--out", first, "--json", "--cache", cache])
    #expect(run1.code == 0, "\(run1.stderr)")
    let summary = try CLI.json(run1.stdout)
    #expect(summary["ok"] == .bool(true))
    #expect(summary["outputs"]?["sum"]?["path"]?.string == first + "/sum.npy")
    #expect(summary["outputs"]?["sum"]?["dtype"]?.string == "f32")
    #expect(summary["outputs"]?["sum"]?["shape"] == .array([JSONValue(2), JSONValue(3)]))
    #expect(summary["outputs"]?["product"]?["shape"] == .array([JSONValue(2), JSONValue(2)]))
    #expect(summary["cache"]?["hits"]?.int == 0)
    #expect(summary["cache"]?["stored"]?.int == 4)
    #expect(summary["nodes"]?.elements?.count == 4)

    // A second process: both outputs come from the cache; upstream nodes do not run at all.
    let second = CLI.temporaryFolder("second")
    let run2 = try CLI.run(["run"] + Self.arithmetic + ["--out", second, "--json", "--cache", cache])
    #expect(run2.code == 0, "\(run2.stderr)")
    let again = try CLI.json(run2.stdout)
    #expect(again["cache"]?["hits"]?.int == 2, "\(run2.stdout)")
    let ran = again["nodes"]?.elements?.compactMap { $0["name"]?.string } ?? []
    #expect(Set(ran) == ["sum", "scaled"], "only the output nodes are served: \(ran)")
    for name in ["sum.npy", "product.npy"] {
      #expect(
        FileManager.default.contents(atPath: first + "/" + name)
          == FileManager.default.contents(atPath: second + "/" + name))
    }

    // A changed option misses for the nodes it affects.
    let third = try CLI.run(
      ["run"] + Self.arithmetic + ["--out", second, "--json", "--cache", cache, "--set", "scale=3"])
    let outcomes = Dictionary(
      (try CLI.json(third.stdout)["nodes"]?.elements ?? []).map {
        ($0["name"]!.string!, $0["cache"]!.string!)
      },
      uniquingKeysWith: { a, _ in a })
    #expect(outcomes["scaled"] == "stored" && outcomes["product"] == "hit", "\(outcomes)")

    // The plan predicts the hits.
    let plan = try CLI.run(["plan"] + Self.arithmetic + ["--json", "--cache", cache])
    #expect(plan.code == 0, "\(plan.stderr)")
    let planned = try CLI.json(plan.stdout)["nodes"]?.elements ?? []
    #expect(planned.map { $0["cache"]?.string } == ["hit", "hit"], "\(plan.stdout)")

    // --no-cache neither reads nor writes.
    let off = try CLI.run(["run"] + Self.arithmetic + ["--out", second, "--json", "--no-cache"])
    #expect(try CLI.json(off.stdout)["cache"] == .null)
  }

  @Test func cacheEvictsPastTheSizeLimit() throws {
    let cache = CLI.temporaryFolder("small-cache")
    let out = CLI.temporaryFolder("small-out")
    let result = try CLI.run(
      ["run"] + Self.arithmetic + ["--out", out, "--cache", cache, "--cache-limit", "400"])
    #expect(result.code == 0, "\(result.stderr)")
    var total = 0
    let enumerator = FileManager.default.enumerator(atPath: cache + "/v1/entries")
    while let name = enumerator?.nextObject() as? String {
      guard name.hasSuffix(".entry") else { continue }
      total +=
        (try FileManager.default.attributesOfItem(atPath: cache + "/v1/entries/" + name)[.size] as? Int) ?? 0
    }
    #expect(total > 0 && total <= 400, "entries take \(total) bytes; limit 400")
  }

  @Test func planShowsOrderShapesAndFlops() throws {
    let result = try CLI.run([
      "plan", "Graphs/two-branches.json", "--input", "Tests/Fixtures/x.npy", "--no-cache", "--json",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let nodes = try CLI.json(result.stdout)["nodes"]?.elements ?? []
    #expect(nodes.count == 8)
    let left = nodes.first { $0["name"]?.string == "left" }
    #expect(left?["outputs"]?["out"]?.string == "tensor<f32>[3, 5]")
    #expect(left?["flops"]?.double == Double(2 * 3 * 4 * 5))
    #expect(left?["wave"]?.int == 1)
    let text = try CLI.run(["plan", "Graphs/two-branches.json", "--no-cache"])
    #expect(text.code == 0 && text.stdout.contains("tensor.matmul"), "\(text.stdout)\(text.stderr)")
  }

  @Test func dotListsNodesAndEdges() throws {
    let result = try CLI.run(["dot", "Graphs/mlp.json"])
    #expect(result.code == 0, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("digraph"))
    #expect(result.stdout.contains("cluster_layer1") && result.stdout.contains("layer2/mm\\ntensor.matmul"))
    #expect(result.stdout.contains("\"out:y\""))
  }

  @Test func catalogListsEveryNodeWithOptions() throws {
    let result = try CLI.run(["nodes", "--json"])
    #expect(result.code == 0, "\(result.stderr)")
    let nodes = try CLI.json(result.stdout)["nodes"]?.elements ?? []
    let types = nodes.compactMap { $0["type"]?.string }
    for expected in [
      "tensor.load", "tensor.add", "tensor.matmul", "tensor.concat", "tensor.range_stream",
      "tensor.stream_sum",
    ] {
      #expect(types.contains(expected), "\(expected) missing from \(types)")
    }
    let scale = nodes.first { $0["type"]?.string == "tensor.scale" }
    #expect(scale?["plugin"]?.string == "tensor")
    let factor = scale?["options"]?.elements?.first
    #expect(
      factor?["name"]?.string == "factor" && factor?["default"] != nil
        && factor?["doc"]?.string?.isEmpty == false)
    for node in nodes {
      let example = node["example"]?.string ?? ""
      #expect(
        (try? JSONParser.parse(example, file: "example")) != nil,
        "example of \(node["type"]!) is not JSON: \(example)")
    }
    let text = try CLI.run(["nodes", "tensor.matmul"])
    #expect(text.stdout.contains("a: tensor[m, k]") && text.stdout.contains("out: tensor<f32>[m, n]"))
    let unknown = try CLI.run(["nodes", "tensor.matmull"])
    #expect(unknown.code == 2 && unknown.stderr.contains("did you mean 'tensor.matmul'"), "\(unknown.stderr)")
  }

  @Test(arguments: ["run", "check", "plan", "dot", "nodes"])
  func helpForEveryCommand(command: String) throws {
    let result = try CLI.run([command, "--help"])
    #expect(result.code == 0)
    #expect(result.stdout.contains("USAGE: mmgraph \(command)"))
  }

  @Test func traceIsChromeTraceJSON() throws {
    let out = CLI.temporaryFolder("trace")
    let trace = out + "/trace.json"
    let result = try CLI.run([
      "run", "Graphs/two-branches.json", "--input", "Tests/Fixtures/x.npy", "--out", out + "/o", "--no-cache",
      "--trace", trace,
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let events =
      try JSONParser.parse([UInt8](FileManager.default.contents(atPath: trace) ?? Data()), file: trace).root[
        "traceEvents"]?.elements ?? []
    let calls = events.filter { $0["ph"]?.string == "X" }
    #expect(calls.count >= 8, "\(calls.count) node calls in the trace")
    #expect(calls.allSatisfy { $0["ts"] != nil && $0["dur"] != nil && $0["name"] != nil })
    let names = Set(calls.compactMap { $0["name"]?.string })
    #expect(names.isSuperset(of: ["left", "right", "joined", "total"]), "\(names)")
  }

  @Test func progressJSONLines() throws {
    let out = CLI.temporaryFolder("progress")
    let result = try CLI.run([
      "run", "Graphs/stream-sum.json", "--set", "count=5", "--out", out, "--no-cache", "--progress", "json",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let events = result.stderr.split(separator: "\n").compactMap { try? CLI.json(String($0)) }
    let progress = events.filter { $0["event"]?.string == "progress" && $0["node"]?.string == "ticks" }
    #expect(progress.count == 5, "\(result.stderr)")
    #expect(progress.last?["done"]?.int == 5 && progress.last?["total"]?.int == 5)
    #expect(
      events.contains { $0["event"]?.string == "run_finished" && $0["error"] == .null }, "\(result.stderr)")
  }
}

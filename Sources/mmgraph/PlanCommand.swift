import Foundation
import MMBuiltins
import MMCore
import MMGraph
import MMRuntime

/// `mmgraph plan GRAPH`: what a run would do, without running it — the nodes the outputs need
/// in execution order (with their wave: nodes of one wave can run in parallel), each output's
/// static type, estimated FLOPs and output memory where known, and which nodes the cache serves.
enum PlanCommand {
  static let help = """
    USAGE: mmgraph plan GRAPH [--input [NAME=]PATH …] [--set NODE.OPTION=VALUE …] [--json]
                        [--cache DIR | --no-cache] [--plugin PATH …]

    Shows the execution plan: the nodes the graph outputs need, in order, with their wave
    (nodes of one wave do not depend on each other and may run in parallel), output types with
    static shapes, estimated FLOPs and output bytes (where shapes are known), and the cache's
    prediction per node: hit (served, its ancestors skipped), miss (runs, then stored), after
    upstream (known once upstream nodes ran), not cached. Given --input files, symbolic shapes
    are resolved and cache keys of nodes reading graph inputs can be computed. Then the notes
    of nodes that check themselves before a run (llm.chat: the soft tokens of each medium and
    the prompt's length); a failing check fails the plan as it would fail the run.

    OPTIONS:
      --json                     print the plan as one JSON object
      --input, --set, --plugin   as for `mmgraph run`
      --cache DIR, --no-cache    the cache to predict hits from (default as for run)

    """

  struct Step {
    var index: Int
    var wave: Int
    var flops: Double?
    var bytes: Int?
    var cache: CachePrediction?
    /// The node's own account of what it will do (`NodeDescriptor.preflight`).
    var notes: [String] = []
  }

  static func run(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      print(help, terminator: "")
      return
    }
    let args = try Arguments(
      arguments, valueOptions: CommandSupport.graphValueOptions.union(["cache", "cache-limit"]),
      flagOptions: ["json", "no-cache"])
    guard args.positionals.count == 1, let path = args.positionals.first else {
      throw UsageError("plan takes one graph file, found \(args.positionals.count) arguments")
    }
    let loaded = try CommandSupport.loadGraph(path, args)
    let graph = loaded.graph
    let cache = try RunCommand.openCache(args)
    let predictions = cache?.predict(graph, inputs: loaded.inputs)
    // With the cache, hits cut their ancestors out of the run.
    var pruned = graph
    for (index, prediction) in (predictions ?? []).enumerated() where prediction == .hit {
      pruned.nodes[index].inputs = [:]
    }
    let order = pruned.neededNodes()
    var waves: [Int: Int] = [:]
    var steps: [Step] = []
    for index in order {
      let node = pruned.nodes[index]
      let wave =
        node.inputs.values.compactMap { reference -> Int? in
          if case .node(let source, _) = reference { return waves[source] } else { return nil }
        }.max().map { $0 + 1 } ?? 0
      waves[index] = wave
      let hit = predictions?[index] == .hit
      let flops = hit ? 0 : Builtins.flopEstimates[node.descriptor.type]?(node.inputTypes, node.outputTypes)
      let sizes = node.outputTypes.values.map(bytes)
      let total = sizes.contains(where: { $0 == nil }) ? nil : sizes.compactMap { $0 }.reduce(0, +)
      steps.append(Step(index: index, wave: wave, flops: flops, bytes: total, cache: predictions?[index]))
    }
    // The checks a run makes before it starts, with the given inputs: their notes (soft tokens per
    // medium, prompt length) join the plan, a failure fails it.
    let notes = try graph.preflight(nodes: order, inputs: loaded.inputs)
    for i in steps.indices { steps[i].notes = notes[steps[i].index] ?? [] }
    if args.flag("json") {
      print(json(path: path, graph: graph, steps: steps, cache: cache).encoded(pretty: true))
    } else {
      print(text(path: path, graph: graph, steps: steps, cache: cache), terminator: "")
    }
  }

  /// Bytes of a tensor type with a known dtype and fixed shape.
  static func bytes(_ type: PortType) -> Int? {
    guard case .tensor(let dtype?, let shape?) = type else { return nil }
    var count = 1
    for dimension in shape {
      guard case .fixed(let n) = dimension else { return nil }
      count *= n
    }
    return count * dtype.byteSize
  }

  static func text(path: String, graph: Graph, steps: [Step], cache: NodeCache?) -> String {
    var out =
      "\(path): \(steps.count) node\(steps.count == 1 ? "" : "s") to run for \(graph.outputs.count) output\(graph.outputs.count == 1 ? "" : "s")\n\n"
    var rows = [["wave", "node", "type", "outputs", "FLOPs", "memory", "cache"]]
    for step in steps {
      let node = graph.nodes[step.index]
      let outputs = node.outputTypes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(
        separator: ", ")
      rows.append([
        String(step.wave), node.name, node.descriptor.type, outputs, step.flops.map(quantity) ?? "-",
        step.bytes.map { quantity(Double($0)) + "B" } ?? "-", step.cache?.label ?? "off",
      ])
    }
    let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
    for row in rows {
      out +=
        row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
    }
    let flops = steps.compactMap(\.flops).reduce(0, +)
    let memory = steps.compactMap(\.bytes).reduce(0, +)
    let unknown = steps.filter { $0.flops == nil }.count
    out +=
      "\ntotal: \(quantity(flops))FLOPs\(unknown > 0 ? " (+\(unknown) node\(unknown == 1 ? "" : "s") unknown)" : "")"
    out += ", \(quantity(Double(memory)))B of node outputs"
    if let cache {
      let hits = steps.filter { $0.cache == .hit }.count
      out += "; cache \(cache.directory): \(hits) hit\(hits == 1 ? "" : "s")"
    } else {
      out += "; cache off"
    }
    let noted = steps.filter { !$0.notes.isEmpty }
    if !noted.isEmpty { out += "\n" }
    for step in noted {
      out += "\(graph.nodes[step.index].name):\n" + step.notes.map { "  \($0)\n" }.joined()
    }
    out += "\noutputs: " + graph.outputs.map { "\($0.name): \($0.type)" }.joined(separator: ", ") + "\n"
    return out
  }

  static func json(path: String, graph: Graph, steps: [Step], cache: NodeCache?) -> JSONValue {
    let nodes = steps.map { step -> JSONValue in
      let node = graph.nodes[step.index]
      var members = [
        JSONMember("name", .string(node.name)), JSONMember("type", .string(node.descriptor.type)),
        JSONMember("wave", JSONValue(step.wave)),
        JSONMember(
          "outputs",
          .object(
            node.outputTypes.sorted { $0.key < $1.key }.map {
              JSONMember($0.key, .string($0.value.description))
            })),
      ]
      members.append(JSONMember("flops", step.flops.map { JSONValue($0) } ?? .null))
      members.append(JSONMember("bytes", step.bytes.map { JSONValue($0) } ?? .null))
      members.append(JSONMember("notes", .array(step.notes.map { .string($0) })))
      members.append(
        JSONMember(
          "cache",
          .string(
            step.cache.map {
              $0 == .unknown ? "after-upstream" : $0.label.replacingOccurrences(of: " ", with: "-")
            } ?? "off")))
      return .object(members)
    }
    return .object([
      JSONMember("graph", .string(path)), JSONMember("cache", cache.map { .string($0.directory) } ?? .null),
      JSONMember("nodes", .array(nodes)),
      JSONMember("outputs", .object(graph.outputs.map { JSONMember($0.name, .string($0.type.description)) })),
    ])
  }

  /// 1.5k, 2.3M, 4.1G (decimal).
  static func quantity(_ value: Double) -> String {
    for (limit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where value >= limit {
      return String(format: "%.1f %@", value / limit, suffix)
    }
    return String(format: "%.0f ", value)
  }
}

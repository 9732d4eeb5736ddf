import Foundation
import MMCore
import MMGraph

/// `mmgraph check GRAPH`: validates a graph without running it and reports every problem at
/// once (file:line:column, JSON pointer, node, port, expected/found, hint). Exit 2 on errors.
enum CheckCommand {
  static let help = """
    USAGE: mmgraph check GRAPH [--json] [--input [NAME=]PATH …] [--set NODE.OPTION=VALUE …] [--plugin PATH …]

    Validates GRAPH (the JSON graph language, Documentation/GraphLanguage.md): syntax, version,
    node types, options, edges, port types, cycles, subgraphs. Every problem is reported in one
    pass; warnings (unused nodes or inputs) do not fail the check. With --input, the given files'
    types are checked against the graph's inputs too, and the nodes' checks before a run
    (preflight: an LLM prompt's media placeholders and its length against the context).

    OPTIONS:
      --json                     print {"ok", "errors", "warnings", "diagnostics": […]} on stdout
      --input [NAME=]PATH        a graph input's file (.npy, .txt, .json) to check its type
      --set NODE.OPTION=VALUE    override a node option (OPTION=VALUE: a graph option)
      --plugin PATH              load an out-of-tree plugin (.so); repeatable

    EXIT CODES: 0 valid (warnings allowed), 2 errors or bad usage

    """

  static func run(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      print(help, terminator: "")
      return
    }
    let args = try Arguments(arguments, valueOptions: CommandSupport.graphValueOptions, flagOptions: ["json"])
    guard args.positionals.count == 1, let path = args.positionals.first else {
      throw UsageError("check takes one graph file, found \(args.positionals.count) arguments")
    }
    let json = args.flag("json")
    let loaded = try CommandSupport.loadGraph(path, args, jsonDiagnostics: json)
    var diagnostics = loaded.diagnostics
    do {
      _ = try loaded.graph.preflight(nodes: loaded.graph.neededNodes(), inputs: loaded.inputs)
    } catch {
      let node = loaded.graph.nodes.first { $0.name == error.node }
      diagnostics.append(
        Diagnostic(
          .error, .preflight, error.underlying.map { "\($0)" } ?? error.description, location: node?.location,
          node: error.node))
      throw ValidationFailure(CommandSupport.report(diagnostics, file: path, json: json))
    }
    if json {
      print(CommandSupport.checkJSON(diagnostics, file: path, graph: loaded.graph).encoded(pretty: true))
      return
    }
    let warnings = loaded.diagnostics.count
    let graph = loaded.graph
    print(
      "\(path): ok — \(graph.nodes.count) node\(graph.nodes.count == 1 ? "" : "s"), "
        + "\(graph.outputs.count) output\(graph.outputs.count == 1 ? "" : "s")"
        + (warnings > 0 ? ", \(warnings) warning\(warnings == 1 ? "" : "s")" : ""))
  }
}

import Foundation
import MMCore
import MMGraph

/// `mmgraph dot GRAPH`: the loaded graph (subgraphs expanded) as Graphviz dot, edges labeled
/// with their port types. `mmgraph dot g.json | dot -Tsvg > g.svg`.
enum DotCommand {
  static let help = """
    USAGE: mmgraph dot GRAPH [--set NODE.OPTION=VALUE …] [--plugin PATH …]

    Prints GRAPH as a Graphviz digraph: graph inputs (ellipses), nodes (boxes with their type),
    outputs (double octagons); every edge is labeled with its port names and type. Subgraphs are
    expanded and grouped in clusters. Render with `mmgraph dot g.json | dot -Tsvg > g.svg`.

    """

  static func run(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      print(help, terminator: "")
      return
    }
    let args = try Arguments(arguments, valueOptions: CommandSupport.graphValueOptions, flagOptions: [])
    guard args.positionals.count == 1, let path = args.positionals.first else {
      throw UsageError("dot takes one graph file, found \(args.positionals.count) arguments")
    }
    print(dot(try CommandSupport.loadGraph(path, args).graph), terminator: "")
  }

  static func quoted(_ text: String) -> String {
    "\""
      + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n") + "\""
  }

  static func endpoint(_ reference: PortReference) -> (id: String, port: String?) {
    switch reference {
    case .graphInput(let name): return ("in:" + name, nil)
    case .node(let index, let port): return ("n\(index)", port)
    }
  }

  static func dot(_ graph: Graph) -> String {
    let title = URL(fileURLWithPath: graph.file).deletingPathExtension().lastPathComponent
    var out = "digraph \(quoted(title)) {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n"
    out += "  edge [fontname=\"Helvetica\", fontsize=9];\n"
    for input in graph.inputs {
      out +=
        "  \(quoted("in:" + input.name)) [shape=ellipse, label=\(quoted("$" + input.name + "\n" + input.type.description))];\n"
    }
    // Nodes of an expanded subgraph (`outer/inner`) sit in a cluster named by their prefix.
    var clusters: [String: [Int]] = [:]
    for (index, node) in graph.nodes.enumerated() {
      let prefix = node.name.split(separator: "/").dropLast().joined(separator: "/")
      clusters[prefix, default: []].append(index)
    }
    for (prefix, members) in clusters.sorted(by: { $0.key < $1.key }) {
      let indent = prefix.isEmpty ? "  " : "    "
      if !prefix.isEmpty {
        out +=
          "  subgraph \(quoted("cluster_" + prefix)) {\n    label=\(quoted(prefix));\n    style=dashed;\n"
      }
      for index in members {
        let node = graph.nodes[index]
        out +=
          "\(indent)n\(index) [shape=box, style=rounded, label=\(quoted(node.name + "\n" + node.descriptor.type))];\n"
      }
      if !prefix.isEmpty { out += "  }\n" }
    }
    for (index, node) in graph.nodes.enumerated() {
      for (port, source) in node.inputs.sorted(by: { $0.key < $1.key }) {
        let from = endpoint(source)
        let type = node.inputTypes[port]?.description ?? ""
        let label = (from.port.map { $0 + " → " } ?? "") + port + "\n" + type
        out += "  \(quoted(from.id)) -> n\(index) [label=\(quoted(label))];\n"
      }
    }
    for output in graph.outputs {
      let from = endpoint(output.source)
      out +=
        "  \(quoted("out:" + output.name)) [shape=doubleoctagon, label=\(quoted(output.name + "\n" + output.type.description))];\n"
      out +=
        "  \(quoted(from.id)) -> \(quoted("out:" + output.name))\(from.port.map { " [label=\(quoted($0))]" } ?? "");\n"
    }
    return out + "}\n"
  }
}

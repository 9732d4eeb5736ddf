import Foundation
import MMCore
import MMGraph

/// `mmgraph nodes [--json] [TYPE…]`: the node catalog — every registered node type (built-in
/// and from plugins) with its ports, types, options (defaults and docs), an example and the
/// plugin that registered it.
enum NodesCommand {
  static let help = """
    USAGE: mmgraph nodes [TYPE …] [--json] [--plugin PATH …]

    Prints the node catalog: every node type with its ports and their types, its options with
    defaults and docs, an example graph node, and the plugin that registered it. Names given as
    TYPE (or a namespace such as `tensor.`) narrow the list.

    OPTIONS:
      --json            print the catalog as one JSON object (for tools)
      --plugin PATH     load an out-of-tree plugin (.so); repeatable. Also every *.so in the
                        folders of MMGRAPH_PLUGIN_PATH (colon-separated)

    """

  static func run(_ arguments: [String]) throws {
    if arguments.contains("--help") {
      print(help, terminator: "")
      return
    }
    let args = try Arguments(arguments, valueOptions: ["plugin"], flagOptions: ["json"])
    let registry = try CommandSupport.registry(plugins: args.all("plugin"))
    var names = registry.typeNames
    if !args.positionals.isEmpty {
      for wanted in args.positionals where !names.contains(where: { $0 == wanted || $0.hasPrefix(wanted) }) {
        let hint = nearest(wanted, in: names).map { " (did you mean '\($0)'?)" } ?? ""
        throw UsageError("unknown node type '\(wanted)'\(hint)")
      }
      names = names.filter { name in args.positionals.contains { name == $0 || name.hasPrefix($0) } }
    }
    let readers = args.positionals.isEmpty ? registry.fileReaders : []
    if args.flag("json") {
      let nodes = names.map { catalogEntry(registry[$0]!, plugin: registry.origins[$0] ?? "") }
      let files = readers.map { entry -> JSONValue in
        .object([
          JSONMember("name", .string(entry.reader.name)), JSONMember("plugin", .string(entry.plugin)),
          JSONMember("extensions", .array(entry.reader.extensions.map { .string($0) })),
          JSONMember("type", .string(entry.reader.type.description)),
          JSONMember("doc", .string(entry.reader.doc)),
        ])
      }
      print(
        JSONValue.object([JSONMember("nodes", .array(nodes)), JSONMember("file_types", .array(files))])
          .encoded(pretty: true))
    } else {
      print(
        names.map { text(registry[$0]!, plugin: registry.origins[$0] ?? "") }.joined(separator: "\n"),
        terminator: "")
      if !readers.isEmpty {
        print("\nfile types read by --input (the graph input's declared type picks among shared extensions):")
        for (reader, plugin) in readers {
          let extensions = reader.extensions.map { "." + $0 }.joined(separator: " ")
          print("  \(reader.type)  \(extensions)  [plugin \(plugin)] — \(reader.doc)")
        }
      }
    }
  }

  /// One node type as JSON: type, plugin, doc, pure, inputs, outputs, options, example.
  static func catalogEntry(_ d: NodeDescriptor, plugin: String) -> JSONValue {
    func port(_ p: PortSpec) -> JSONValue {
      var members = [
        JSONMember("name", .string(p.name)), JSONMember("type", .string(p.type.description)),
        JSONMember("doc", .string(p.doc)),
      ]
      if p.optional { members.append(JSONMember("optional", .bool(true))) }
      return .object(members)
    }
    let options = d.options.map { o -> JSONValue in
      var members = [JSONMember("name", .string(o.name)), JSONMember("type", .string(o.type.description))]
      members.append(JSONMember("required", .bool(o.defaultValue == nil)))
      if let value = o.defaultValue { members.append(JSONMember("default", value)) }
      members.append(JSONMember("doc", .string(o.doc)))
      return .object(members)
    }
    return .object([
      JSONMember("type", .string(d.type)), JSONMember("plugin", .string(plugin)),
      JSONMember("doc", .string(d.doc)), JSONMember("pure", .bool(d.isPure)),
      JSONMember("inputs", .array(d.inputs.map(port))), JSONMember("outputs", .array(d.outputs.map(port))),
      JSONMember("options", .array(options)), JSONMember("example", .string(d.example)),
    ])
  }

  /// One node type as an indented text block.
  static func text(_ d: NodeDescriptor, plugin: String) -> String {
    var out = "\(d.type)  [plugin \(plugin)\(d.isPure ? "" : ", not cached")]\n  \(d.doc)\n"
    func ports(_ title: String, _ list: [PortSpec]) {
      guard !list.isEmpty else { return }
      out += "  \(title):\n"
      for p in list {
        out += "    \(p.name): \(p.type)\(p.optional ? " (optional)" : "") — \(p.doc)\n"
      }
    }
    ports("inputs", d.inputs)
    ports("outputs", d.outputs)
    if !d.options.isEmpty {
      out += "  options:\n"
      for o in d.options {
        let value = o.defaultValue.map { " = \($0.encoded())" } ?? " (required)"
        out += "    \(o.name): \(o.type)\(value) — \(o.doc)\n"
      }
    }
    out += "  example: \(d.example)\n"
    return out
  }
}

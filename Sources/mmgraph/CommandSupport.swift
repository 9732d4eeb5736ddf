import Foundation
import MMBuiltins
import MMCore
import MMGraph
import MMRuntime

/// A run that failed (exit code 1): a node failed, an output could not be written.
struct RunFailure: Error, CustomStringConvertible {
  let description: String
  init(_ message: String) { description = message }
}

/// The graph, an input or a plugin is invalid (exit code 2). `description` may hold several
/// diagnostics, one per line.
struct ValidationFailure: Error, CustomStringConvertible {
  let description: String
  init(_ message: String) { description = message }
}

/// Ctrl-C stopped the run (exit code 130, like a shell).
struct Interrupted: Error, CustomStringConvertible {
  var description: String { "interrupted" }
}

/// Pieces shared by the graph commands (run, check, plan, dot, nodes).
enum CommandSupport {
  /// The built-in node types plus the plugins from `--plugin` and `MMGRAPH_PLUGIN_PATH`.
  static func registry(plugins: [String]) throws -> NodeRegistry {
    var registry: NodeRegistry
    do { registry = try Builtins.registry() } catch {
      throw RunFailure("built-in plugins conflict: \(error)")
    }
    do { try PluginLoader.loadAll(explicit: plugins, into: &registry) } catch {
      throw ValidationFailure("\(error)")
    }
    return registry
  }

  /// Writes `text` to standard error.
  static func printError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// Whether standard error is a terminal (progress bars) — and not disabled by NO_COLOR/TERM=dumb.
  static var standardErrorIsTerminal: Bool {
    isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
  }

  /// A graph loaded and validated, with the values of its `--input` files.
  struct LoadedGraph {
    var graph: Graph
    var registry: NodeRegistry
    var inputs: [String: Value]
    var diagnostics: [Diagnostic]
  }

  /// Loads GRAPH with the `--plugin`, `--set` and `--input` options of `args`. Diagnostics go to
  /// standard error (or into the thrown failure's JSON with `jsonDiagnostics`); any error throws
  /// `ValidationFailure` (exit 2).
  static func loadGraph(_ path: String, _ args: Arguments, jsonDiagnostics: Bool = false) throws
    -> LoadedGraph
  {
    let registry = try registry(plugins: args.all("plugin"))
    let overrides = try GraphInputs.overrides(args.all("set"))
    let loader = GraphLoader(registry: registry)
    var result = loader.load(file: path, overrides: overrides)
    var inputs: [String: Value] = [:]
    let bindings = GraphInputs.bindings(args.all("input"))
    if let graph = result.graph, !bindings.isEmpty {
      let assigned = try GraphInputs.assign(bindings, to: graph.inputs.map(\.name))
      for (name, file) in assigned {
        let declared = graph.inputs.first { $0.name == name }?.type ?? .any
        inputs[name] = try GraphInputs.read(file, for: name, declared: declared, registry: registry)
      }
      result = loader.load(file: path, overrides: overrides, inputTypes: inputs.mapValues(\.portType))
    }
    guard let graph = result.graph, result.errors.isEmpty else {
      throw ValidationFailure(report(result.diagnostics, file: path, json: jsonDiagnostics))
    }
    if !jsonDiagnostics {
      for warning in result.warnings { printError("\(warning)\n") }
    }
    return LoadedGraph(graph: graph, registry: registry, inputs: inputs, diagnostics: result.diagnostics)
  }

  /// Prints the diagnostics (to standard error, or as `check --json`'s object on standard
  /// output) and returns the one-line failure summary.
  static func report(_ diagnostics: [Diagnostic], file: String, json: Bool) -> String {
    let errors = diagnostics.filter { $0.severity == .error }.count
    if json {
      print(checkJSON(diagnostics, file: file, graph: nil).encoded(pretty: true))
    } else {
      for diagnostic in diagnostics { printError("\(diagnostic)\n") }
    }
    return "\(file): \(errors) error\(errors == 1 ? "" : "s"); nothing ran"
  }

  /// `mmgraph check --json`'s object.
  static func checkJSON(_ diagnostics: [Diagnostic], file: String, graph: Graph?) -> JSONValue {
    let errors = diagnostics.filter { $0.severity == .error }.count
    var members = [
      JSONMember("file", .string(file)), JSONMember("ok", .bool(errors == 0)),
      JSONMember("errors", JSONValue(errors)), JSONMember("warnings", JSONValue(diagnostics.count - errors)),
    ]
    if let graph {
      members.append(JSONMember("nodes", JSONValue(graph.nodes.count)))
      members.append(
        JSONMember("inputs", .object(graph.inputs.map { JSONMember($0.name, .string($0.type.description)) })))
      members.append(
        JSONMember(
          "outputs", .object(graph.outputs.map { JSONMember($0.name, .string($0.type.description)) })))
    }
    members.append(JSONMember("diagnostics", .array(diagnostics.map(\.json))))
    return .object(members)
  }

  /// The value options shared by the graph commands.
  static let graphValueOptions: Set<String> = ["plugin", "set", "input"]
}

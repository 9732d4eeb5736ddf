import Foundation
import MMCore

/// What loading a graph file gave: the graph (nil iff any diagnostic is an error) and every
/// problem found, in file order.
public struct LoadResult: Sendable {
  public var graph: Graph?
  public var diagnostics: [Diagnostic]

  public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
  public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// `--set NODE.OPTION=VALUE`: `node` is a node name (`scaled`, `inner/norm`, or a subgraph node
/// `inner`, whose options are its subgraph's options) or `""` for an option of the top graph.
public typealias OptionOverride = (node: String, option: String, value: JSONValue)

/// Loads graph files (Documentation/GraphLanguage.md) into a validated `Graph`: parses the JSON,
/// expands subgraphs, substitutes graph options, applies overrides, checks every option and edge
/// against the node registry and every port type, and sorts the nodes. It never stops at the first
/// problem: one pass reports them all.
///
///     let result = GraphLoader(registry: registry).load(file: "Graphs/clip-search.json")
///     for diagnostic in result.diagnostics { print(diagnostic) }
public struct GraphLoader: Sendable {
  public var registry: NodeRegistry
  /// Reads a file's bytes (tests substitute an in-memory file system).
  public var readFile: @Sendable (String) throws -> [UInt8]

  public init(
    registry: NodeRegistry,
    readFile: @escaping @Sendable (String) throws -> [UInt8] = GraphLoader.readFromDisk
  ) {
    self.registry = registry
    self.readFile = readFile
  }

  public static let readFromDisk: @Sendable (String) throws -> [UInt8] = { path in
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// Loads `file`. `inputTypes` are the types of the values that will be given (from the input
  /// files' headers); they must fit the declared input types and refine them for checking.
  public func load(
    file: String, overrides: [OptionOverride] = [], inputTypes: [String: PortType] = [:]
  ) -> LoadResult {
    let expansion = GraphExpansion(loader: self, overrides: overrides)
    expansion.expandTop(path: file)
    return expansion.finish(inputTypes: inputTypes)
  }
}

/// A node output or a graph input, named in the scope of one expanded file: `prefix` is `""` for
/// the top file and `outer/` inside the subgraph node `outer`.
enum Endpoint: Hashable {
  case input(scope: String, name: String)
  case output(node: String, port: String)
}

/// A name that stands for another endpoint: a subgraph's input (bound by the subgraph node) or
/// a subgraph node's output (an output of the subgraph).
struct Alias {
  var target: Endpoint?
  /// The declared type of a subgraph input, checked at the boundary.
  var declaredType: PortType?
  var location: SourceLocation
  var node: String
  var port: String
}

/// One node after subgraph expansion, before sorting.
struct FlatNode {
  var name: String
  var descriptor: NodeDescriptor?
  /// nil when an option had an error (already reported).
  var options: NodeOptions?
  var inputs: [(port: String, endpoint: Endpoint, location: SourceLocation)]
  var location: SourceLocation
  var doc: String?
}

/// The state of one `load` call.
final class GraphExpansion {
  let loader: GraphLoader
  let overrides: [OptionOverride]
  var usedOverrides = Set<Int>()
  var diagnostics: [Diagnostic] = []
  /// Parsed files by canonical path (nil: unreadable or malformed, already reported).
  var files: [String: GraphFile?] = [:]
  var fileOrder: [String] = []
  var top: GraphFile?
  var nodes: [FlatNode] = []
  var nodeIndex: [String: Int] = [:]
  /// Every node name, subgraph nodes included (for `--set` targets and hints).
  var allNodeNames: [String] = []
  var aliases: [Endpoint: Alias] = [:]
  var outputs: [(name: String, endpoint: Endpoint?, location: SourceLocation)] = []

  init(loader: GraphLoader, overrides: [OptionOverride]) {
    self.loader = loader
    self.overrides = overrides
  }

  func report(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

  /// The absolute, lexically normalized path: the identity of a file for caching and include cycles.
  static func canonical(_ path: String) -> String {
    normalized(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
  }

  /// `a/./b/../c` → `a/c`; leading `..` of a relative path are kept.
  static func normalized(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
      switch part {
      case ".": continue
      case "..":
        if let last = parts.last, last != ".." {
          parts.removeLast()
        } else if !path.hasPrefix("/") {
          parts.append(part)
        }
      default: parts.append(part)
      }
    }
    let joined = parts.joined(separator: "/")
    return path.hasPrefix("/") ? "/" + joined : joined
  }

  /// Reads and checks the file at `path`; `reference` is where it was named (for a missing file).
  func file(at path: String, namedAt reference: SourceLocation?) -> GraphFile? {
    let key = Self.canonical(path)
    if let cached = files[key] { return cached }
    let parsed = parseFile(path, namedAt: reference)
    files[key] = parsed
    fileOrder.append(path)
    return parsed
  }

  private func parseFile(_ path: String, namedAt reference: SourceLocation?) -> GraphFile? {
    let bytes: [UInt8]
    do {
      bytes = try loader.readFile(path)
    } catch {
      let reason = (error as? LocalizedError)?.errorDescription ?? "\(error)"
      report(
        Diagnostic(
          .error, .missingFile, "cannot read graph file '\(path)': \(reason)", location: reference,
          expected: "a readable graph file", found: path,
          hint: reference == nil ? nil : "subgraph paths are relative to the including file's folder"))
      return nil
    }
    let document: JSONDocument
    do {
      document = try JSONParser.parse(bytes, file: path, duplicateKeys: .record)
    } catch {
      report(
        Diagnostic(
          .error, .malformedJSON, "malformed JSON: \(error.message)",
          location: SourceLocation(
            file: path, line: error.line, column: error.column, pointer: error.pointer),
          expected: error.expected, found: error.found))
      return nil
    }
    var reader = GraphFileReader(path: path, document: document)
    reader.read()
    diagnostics += reader.diagnostics
    return reader.file
  }

  func expandTop(path: String) {
    guard let file = file(at: path, namedAt: nil) else { return }
    top = file
    let slots = file.options.map(OptionSlot.init)
    let given = overrides.indices.filter { overrides[$0].node == "" }
    let values = optionValues(
      slots, given: [], in: file, nodePointer: "", node: "", overrideIndices: given, what: "graph option")
    expand(file, prefix: "", values: values.values, stack: [Self.canonical(path)])
  }

  /// Adds the nodes of `file` (its node names prefixed with `prefix`) and its outputs.
  func expand(_ file: GraphFile, prefix: String, values: [String: JSONValue], stack: [String]) {
    let context = ScopeContext(file: file, prefix: prefix, values: values)
    // Pass 1: what each node is and which outputs it has (subgraph files are read here).
    for node in file.nodes {
      let fullName = prefix + node.name
      allNodeNames.append(fullName)
      switch node.kind {
      case .type(let type)?:
        if let descriptor = loader.registry[type] {
          context.ports[node.name] = descriptor.outputs.map(\.name)
        } else {
          report(
            Diagnostic(
              .error, .unknownNodeType, "node '\(fullName)': unknown node type '\(type)'",
              location: file.location(node.pointer + "/type"), node: fullName,
              expected: "a registered node type",
              found: type,
              hint: Diagnostic.didYouMean(type, among: loader.registry.typeNames)
                ?? "`mmgraph nodes` lists the node types"))
        }
      case .graph(let relative)?:
        let path = Self.join(file.path, relative)
        let location = file.location(node.pointer + "/graph")
        if let index = stack.firstIndex(of: Self.canonical(path)) {
          let chain = (stack[index...].map { URL(fileURLWithPath: $0).lastPathComponent } + [relative])
          report(
            Diagnostic(
              .error, .includeCycle,
              "node '\(fullName)': subgraph include cycle: " + chain.joined(separator: " → "),
              location: location, node: fullName, found: relative, hint: "a graph cannot contain itself"))
        } else if let sub = self.file(at: path, namedAt: location) {
          context.subgraphs[node.name] = (sub, path)
          context.ports[node.name] = sub.outputs.map(\.name)
        }
      case nil: break
      }
    }
    // Pass 2: options, inputs and nested expansion, in file order.
    for node in file.nodes {
      switch node.kind {
      case .type(let type)?: addNode(node, type: type, context)
      case .graph?:
        if let (sub, path) = context.subgraphs[node.name] {
          addSubgraph(node, sub, path: path, context, stack: stack)
        }
      case nil: break
      }
    }
    for output in file.outputs {
      let endpoint = reference(.string(output.reference), at: output.pointer, context)
      let location = file.location(output.pointer)
      if prefix.isEmpty {
        outputs.append((output.name, endpoint, location))
      } else {
        aliases[.output(node: String(prefix.dropLast()), port: output.name)] = Alias(
          target: endpoint, location: location, node: String(prefix.dropLast()), port: output.name)
      }
    }
    for input in file.inputs where !context.usedInputs.contains(input.name) {
      report(
        Diagnostic(
          .warning, .unusedInput, "graph input '\(input.name)' is never used",
          location: file.keyLocation(input.pointer), port: input.name,
          hint: "connect it with \"$\(input.name)\" or remove it"))
    }
  }

  /// `dir-of(including)/relative`, kept relative when the including path is.
  static func join(_ including: String, _ relative: String) -> String {
    if relative.hasPrefix("/") { return relative }
    let directory = including.split(separator: "/", omittingEmptySubsequences: false).dropLast()
      .joined(separator: "/")
    return normalized(directory.isEmpty && !including.hasPrefix("/") ? relative : directory + "/" + relative)
  }

  func addNode(_ node: GraphFile.NodeDecl, type: String, _ context: ScopeContext) {
    let file = context.file
    let fullName = context.prefix + node.name
    let descriptor = loader.registry[type]
    var options: NodeOptions?
    if let descriptor {
      let result = optionValues(
        descriptor.options.map(OptionSlot.init), given: node.options, in: file, nodePointer: node.pointer,
        node: fullName, overrideIndices: overrideIndices(for: fullName), what: "option", scopeValues: context)
      options = result.ok ? NodeOptions(result.values) : nil
    } else {
      markOverridesUsed(for: fullName)
    }
    var inputs: [(port: String, endpoint: Endpoint, location: SourceLocation)] = []
    for (port, value) in node.inputs {
      let pointer = JSONPointer.appending(port, to: node.pointer + "/inputs")
      if let descriptor, !descriptor.inputs.contains(where: { $0.name == port }) {
        let names = descriptor.inputs.map(\.name)
        report(
          Diagnostic(
            .error, .unknownPort, "node '\(fullName)' (\(type)) has no input '\(port)'",
            location: file.keyLocation(pointer), node: fullName, port: port,
            expected: names.isEmpty ? "no inputs" : "one of " + names.joined(separator: ", "), found: port,
            hint: Diagnostic.didYouMean(port, among: names)))
        continue
      }
      if let endpoint = reference(value, at: pointer, context) {
        inputs.append((port, endpoint, file.location(pointer)))
      }
    }
    for spec in descriptor?.inputs ?? []
    where !spec.optional && !node.inputs.contains(where: { $0.port == spec.name }) {
      report(
        Diagnostic(
          .error, .unboundInput, "node '\(fullName)' input '\(spec.name)' (\(spec.type)) is not connected",
          location: file.keyLocation(node.pointer), node: fullName, port: spec.name, expected: "\(spec.type)",
          found: "nothing", hint: "add \"inputs\": { \"\(spec.name)\": \"node.port\" } or \"$input\""))
    }
    nodeIndex[fullName] = nodes.count
    nodes.append(
      FlatNode(
        name: fullName, descriptor: descriptor, options: options, inputs: inputs,
        location: file.keyLocation(node.pointer), doc: node.doc))
  }

  func addSubgraph(
    _ node: GraphFile.NodeDecl, _ sub: GraphFile, path: String, _ context: ScopeContext, stack: [String]
  ) {
    let file = context.file
    let fullName = context.prefix + node.name
    let result = optionValues(
      sub.options.map(OptionSlot.init), given: node.options, in: file, nodePointer: node.pointer,
      node: fullName,
      overrideIndices: overrideIndices(for: fullName), what: "option", scopeValues: context)
    let scope = fullName + "/"
    var bound = Set<String>()
    for (port, value) in node.inputs {
      let pointer = JSONPointer.appending(port, to: node.pointer + "/inputs")
      guard let input = sub.inputs.first(where: { $0.name == port }) else {
        let names = sub.inputs.map(\.name)
        report(
          Diagnostic(
            .error, .unknownPort, "node '\(fullName)' (subgraph \(sub.path)) has no input '\(port)'",
            location: file.keyLocation(pointer), node: fullName, port: port,
            expected: names.isEmpty ? "no inputs" : "one of " + names.joined(separator: ", "), found: port,
            hint: Diagnostic.didYouMean(port, among: names)))
        continue
      }
      bound.insert(port)
      aliases[.input(scope: scope, name: port)] = Alias(
        target: reference(value, at: pointer, context), declaredType: input.type,
        location: file.location(pointer), node: fullName, port: port)
    }
    for input in sub.inputs where !bound.contains(input.name) {
      aliases[.input(scope: scope, name: input.name)] = Alias(
        target: nil, declaredType: input.type, location: file.keyLocation(node.pointer), node: fullName,
        port: input.name)
    }
    expand(sub, prefix: scope, values: result.values, stack: stack + [Self.canonical(path)])
  }

  /// Resolves an input reference (`"$x"`, `"node.port"`, `"node"`) in `context`'s scope.
  func reference(_ value: JSONValue, at pointer: String, _ context: ScopeContext) -> Endpoint? {
    let file = context.file
    let location = file.location(pointer)
    let form = "\"$input\", \"node.port\" or \"node\""
    guard case .string(let text) = value, !text.isEmpty else {
      report(
        Diagnostic(
          .error, .badReference, "a reference must be a non-empty string", location: location, expected: form,
          found: value.encoded()))
      return nil
    }
    if text.hasPrefix("$") {
      let name = String(text.dropFirst())
      guard file.inputs.contains(where: { $0.name == name }) else {
        report(
          Diagnostic(
            .error, .danglingReference, "'\(text)' names no graph input", location: location,
            expected: "one of " + file.inputs.map { "$" + $0.name }.joined(separator: ", "), found: text,
            hint: Diagnostic.nearest(to: name, among: file.inputs.map(\.name)).map {
              "did you mean '$\($0)'?"
            }
              ?? "declare it under \"inputs\""))
        return nil
      }
      context.usedInputs.insert(name)
      return .input(scope: context.prefix, name: name)
    }
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let nodeName = parts[0]
    guard file.nodes.contains(where: { $0.name == nodeName }) else {
      report(
        Diagnostic(
          .error, .danglingReference, "'\(text)' names no node", location: location,
          expected: "a node of this graph", found: nodeName,
          hint: Diagnostic.didYouMean(nodeName, among: file.nodes.map(\.name))
            ?? "graph inputs are written \"$\(nodeName)\""))
      return nil
    }
    guard let ports = context.ports[nodeName] else { return nil }  // its node type is unknown: reported
    let fullName = context.prefix + nodeName
    if parts.count == 1 {
      guard ports.count == 1 else {
        report(
          Diagnostic(
            .error, .badReference, "node '\(nodeName)' has \(ports.count) outputs: name one",
            location: location,
            expected: ports.map { "\(nodeName).\($0)" }.joined(separator: ", "), found: text))
        return nil
      }
      return .output(node: fullName, port: ports[0])
    }
    guard ports.contains(parts[1]) else {
      report(
        Diagnostic(
          .error, .unknownPort, "node '\(nodeName)' has no output '\(parts[1])'", location: location,
          node: fullName, port: parts[1], expected: "one of " + ports.joined(separator: ", "),
          found: parts[1],
          hint: Diagnostic.didYouMean(parts[1], among: ports)))
      return nil
    }
    return .output(node: fullName, port: parts[1])
  }
}

/// One file's expansion scope: its file, name prefix, graph option values, and what pass 1 found.
final class ScopeContext {
  let file: GraphFile
  let prefix: String
  let values: [String: JSONValue]
  var ports: [String: [String]] = [:]
  var subgraphs: [String: (GraphFile, String)] = [:]
  var usedInputs = Set<String>()

  init(file: GraphFile, prefix: String, values: [String: JSONValue]) {
    self.file = file
    self.prefix = prefix
    self.values = values
  }
}

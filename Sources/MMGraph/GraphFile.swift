import Foundation
import MMCore

/// One graph file as written, checked for shape but not yet resolved against the registry or
/// other files: the syntax layer of the loader. See Documentation/GraphLanguage.md.
struct GraphFile {
  struct Option {
    var name: String
    var type: OptionType
    var defaultValue: JSONValue?
    var doc: String?
    var pointer: String
  }

  struct Input {
    var name: String
    /// nil when the written type did not parse (already reported).
    var type: PortType?
    var doc: String?
    var pointer: String
  }

  struct Output {
    var name: String
    var reference: String
    /// Pointer of the reference string.
    var pointer: String
  }

  enum NodeKind {
    case type(String)
    case graph(String)
  }

  struct NodeDecl {
    var name: String
    /// nil when neither or both of `type` and `graph` were given (already reported).
    var kind: NodeKind?
    var doc: String?
    var options: [JSONMember]
    var inputs: [(port: String, reference: JSONValue)]
    var pointer: String
  }

  /// The path used in messages (as given, or joined to the including file's folder).
  var path: String
  var document: JSONDocument
  var doc: String?
  var options: [Option] = []
  var inputs: [Input] = []
  var outputs: [Output] = []
  var nodes: [NodeDecl] = []

  static let version = 1
  static let topLevelKeys = ["mmgraph", "doc", "options", "inputs", "outputs", "nodes"]
  static let nodeKeys = ["type", "graph", "doc", "options", "inputs"]
  static let optionKeys = ["type", "default", "doc"]
  static let inputKeys = ["type", "doc"]
  static let outputKeys = ["from", "doc"]

  /// Where the value at `pointer` is written.
  func location(_ pointer: String) -> SourceLocation {
    let (line, column) = document.location(of: pointer) ?? (1, 1)
    return SourceLocation(file: path, line: line, column: column, pointer: pointer)
  }

  /// Where the key of the member at `pointer` is written (the value's location for the root).
  func keyLocation(_ pointer: String) -> SourceLocation {
    guard let (line, column) = document.keyLocation(of: pointer) else { return location(pointer) }
    return SourceLocation(file: path, line: line, column: column, pointer: pointer)
  }

  /// The folder relative paths in this file resolve against.
  var directory: URL { URL(fileURLWithPath: path).deletingLastPathComponent() }

  /// Names of nodes, inputs, options and ports: a letter or `_`, then letters, digits, `_` or `-`.
  static func isValidName(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else {
      return false
    }
    return name.unicodeScalars.allSatisfy {
      $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
    }
  }
}

/// Reads a parsed document into a `GraphFile`, reporting every structural problem.
struct GraphFileReader {
  var file: GraphFile
  var diagnostics: [Diagnostic] = []

  init(path: String, document: JSONDocument) {
    file = GraphFile(path: path, document: document)
  }

  mutating func error(
    _ kind: Diagnostic.Kind, _ message: String, at location: SourceLocation, expected: String? = nil,
    found: String? = nil, hint: String? = nil, node: String? = nil
  ) {
    diagnostics.append(
      Diagnostic(
        .error, kind, message, location: location, node: node, expected: expected, found: found, hint: hint))
  }

  /// The members of an object at `pointer`, reporting unknown keys (`//…` keys are comments).
  mutating func members(
    _ value: JSONValue, at pointer: String, what: String, known: [String]? = nil
  ) -> [JSONMember]? {
    guard case .object(let members) = value else {
      error(
        .wrongJSONType, "\(what) must be an object", at: file.location(pointer), expected: "object",
        found: value.typeName)
      return nil
    }
    let kept = members.filter { !$0.key.hasPrefix("//") }
    guard let known else { return kept }
    for member in kept where !known.contains(member.key) {
      error(
        .unknownKey, "unknown key '\(member.key)' in \(what)",
        at: file.keyLocation(JSONPointer.appending(member.key, to: pointer)),
        expected: "one of " + known.joined(separator: ", "), found: member.key,
        hint: Diagnostic.didYouMean(member.key, among: known) ?? "keys starting with // are comments")
    }
    return kept.filter { known.contains($0.key) }
  }

  mutating func string(_ value: JSONValue, at pointer: String, what: String) -> String? {
    guard case .string(let text) = value else {
      error(
        .wrongJSONType, "\(what) must be a string", at: file.location(pointer), expected: "string",
        found: value.typeName)
      return nil
    }
    return text
  }

  mutating func checkName(_ name: String, at pointer: String, what: String) {
    guard !GraphFile.isValidName(name) else { return }
    error(
      .invalidName, "\(what) name '\(name)' is not a valid name", at: file.keyLocation(pointer),
      expected: "a letter or _, then letters, digits, _ or -", found: name,
      hint: "'.' separates node and port, '/' separates subgraph and node, '$' marks graph inputs")
  }

  mutating func read() {
    let document = file.document
    for duplicate in document.duplicateKeys {
      let parent = JSONPointer.tokens(duplicate.pointer).dropLast()
      let what = parent == ["nodes"] ? "node name" : "key"
      diagnostics.append(
        Diagnostic(
          .error, .duplicateName,
          "duplicate \(what) '\(duplicate.key)' (first written at line \(duplicate.first.line), column \(duplicate.first.column))",
          location: SourceLocation(
            file: file.path, line: duplicate.duplicate.line, column: duplicate.duplicate.column,
            pointer: duplicate.pointer), found: duplicate.key,
          hint: "names in one object must be unique: rename one"))
    }
    guard let top = members(document.root, at: "", what: "a graph file", known: GraphFile.topLevelKeys) else {
      return
    }
    readVersion(document.root)
    for member in top {
      let pointer = "/" + member.key
      switch member.key {
      case "doc": file.doc = string(member.value, at: pointer, what: "'doc'")
      case "options": readOptions(member.value, at: pointer)
      case "inputs": readInputs(member.value, at: pointer)
      case "outputs": readOutputs(member.value, at: pointer)
      case "nodes": readNodes(member.value, at: pointer)
      default: break
      }
    }
    if document.root["nodes"] == nil && document.root["outputs"] == nil {
      error(
        .wrongJSONType, "a graph needs 'nodes' and 'outputs'", at: file.location(""),
        expected: "\"nodes\": {…}, \"outputs\": {…}", found: "neither")
    }
  }

  mutating func readVersion(_ root: JSONValue) {
    let supported = "\"mmgraph\": \(GraphFile.version)"
    guard let version = root["mmgraph"] else {
      error(
        .version, "missing the language version \(supported)", at: file.location(""), expected: supported,
        found: "no \"mmgraph\" key", hint: "start the file with { \(supported), …")
      return
    }
    guard version.int != GraphFile.version else { return }
    error(
      .version, "unsupported graph language version \(version.encoded())", at: file.location("/mmgraph"),
      expected: "\(GraphFile.version)", found: version.encoded(),
      hint: version.int.map {
        $0 > GraphFile.version ? "this mmgraph reads version 1: upgrade mmgraph" : "write 1"
      }
        ?? "write \(supported)")
  }

  mutating func readOptions(_ value: JSONValue, at pointer: String) {
    guard let options = members(value, at: pointer, what: "'options'") else { return }
    for member in options {
      let optionPointer = JSONPointer.appending(member.key, to: pointer)
      checkName(member.key, at: optionPointer, what: "option")
      guard
        let fields = members(
          member.value, at: optionPointer, what: "option '\(member.key)'", known: GraphFile.optionKeys)
      else { continue }
      var option = GraphFile.Option(name: member.key, type: .json, pointer: optionPointer)
      for field in fields {
        let fieldPointer = optionPointer + "/" + field.key
        switch field.key {
        case "type":
          guard let text = string(field.value, at: fieldPointer, what: "an option type") else { continue }
          do throws(TypeSyntaxError) {
            option.type = try OptionType(parsing: text)
          } catch {
            typeSyntax(error, at: fieldPointer, what: "option '\(member.key)'")
          }
        case "default": option.defaultValue = field.value
        case "doc": option.doc = string(field.value, at: fieldPointer, what: "'doc'")
        default: break
        }
      }
      if member.value["type"] == nil {
        error(
          .wrongJSONType, "option '\(member.key)' needs a \"type\"", at: file.location(optionPointer),
          expected: "\"type\": \"float\" (bool, int, float, string, path, json, choice<…>, list<…>)",
          found: "no type")
      }
      file.options.append(option)
    }
  }

  mutating func typeSyntax(_ error: TypeSyntaxError, at pointer: String, what: String) {
    self.error(
      .typeSyntax, "\(what): \(error.description)", at: file.location(pointer), expected: error.expected,
      found: error.found)
  }

  mutating func readInputs(_ value: JSONValue, at pointer: String) {
    guard let inputs = members(value, at: pointer, what: "'inputs'") else { return }
    for member in inputs {
      let inputPointer = JSONPointer.appending(member.key, to: pointer)
      checkName(member.key, at: inputPointer, what: "input")
      var input = GraphFile.Input(name: member.key, type: nil, pointer: inputPointer)
      var typePointer = inputPointer
      var typeText: String?
      if case .string(let text) = member.value {
        typeText = text
      } else if let fields = members(
        member.value, at: inputPointer, what: "input '\(member.key)'", known: GraphFile.inputKeys)
      {
        typePointer = inputPointer + "/type"
        for field in fields where field.key == "doc" {
          input.doc = string(field.value, at: inputPointer + "/doc", what: "'doc'")
        }
        if let type = member.value["type"] {
          typeText = string(type, at: typePointer, what: "an input type")
        } else {
          input.type = .any
        }
      }
      if let typeText {
        do throws(TypeSyntaxError) {
          input.type = try PortType(parsing: typeText)
        } catch {
          typeSyntax(error, at: typePointer, what: "input '\(member.key)'")
        }
      }
      file.inputs.append(input)
    }
  }

  mutating func readOutputs(_ value: JSONValue, at pointer: String) {
    guard let outputs = members(value, at: pointer, what: "'outputs'") else { return }
    for member in outputs {
      let outputPointer = JSONPointer.appending(member.key, to: pointer)
      checkName(member.key, at: outputPointer, what: "output")
      if case .string(let reference) = member.value {
        file.outputs.append(GraphFile.Output(name: member.key, reference: reference, pointer: outputPointer))
        continue
      }
      guard
        let fields = members(
          member.value, at: outputPointer, what: "output '\(member.key)'", known: GraphFile.outputKeys)
      else { continue }
      for field in fields where field.key == "doc" {
        _ = string(field.value, at: outputPointer + "/doc", what: "'doc'")
      }
      guard let from = member.value["from"] else {
        error(
          .badReference, "output '\(member.key)' needs \"from\"", at: file.location(outputPointer),
          expected: "\"from\": \"node.port\"", found: "no \"from\"")
        continue
      }
      if let reference = string(from, at: outputPointer + "/from", what: "an output reference") {
        file.outputs.append(
          GraphFile.Output(name: member.key, reference: reference, pointer: outputPointer + "/from"))
      }
    }
  }

  mutating func readNodes(_ value: JSONValue, at pointer: String) {
    guard let nodes = members(value, at: pointer, what: "'nodes'") else { return }
    for member in nodes {
      let nodePointer = JSONPointer.appending(member.key, to: pointer)
      checkName(member.key, at: nodePointer, what: "node")
      guard
        let fields = members(
          member.value, at: nodePointer, what: "node '\(member.key)'", known: GraphFile.nodeKeys)
      else { continue }
      var node = GraphFile.NodeDecl(name: member.key, options: [], inputs: [], pointer: nodePointer)
      for field in fields {
        let fieldPointer = nodePointer + "/" + field.key
        switch field.key {
        case "type":
          string(field.value, at: fieldPointer, what: "a node type").map { node.kind = .type($0) }
        case "graph":
          string(field.value, at: fieldPointer, what: "a subgraph path").map { node.kind = .graph($0) }
        case "doc": node.doc = string(field.value, at: fieldPointer, what: "'doc'")
        case "options":
          node.options =
            members(field.value, at: fieldPointer, what: "the options of node '\(member.key)'") ?? []
        case "inputs":
          let inputs =
            members(field.value, at: fieldPointer, what: "the inputs of node '\(member.key)'") ?? []
          node.inputs = inputs.map { ($0.key, $0.value) }
        default: break
        }
      }
      let hasType = member.value["type"] != nil
      let hasGraph = member.value["graph"] != nil
      if hasType == hasGraph {
        node.kind = nil
        error(
          .wrongJSONType,
          hasType
            ? "node '\(member.key)' has both \"type\" and \"graph\"" : "node '\(member.key)' has no \"type\"",
          at: file.keyLocation(nodePointer),
          expected: "exactly one of \"type\" (a node type) or \"graph\" (a file)",
          found: hasType ? "both" : "neither", node: member.key)
      }
      file.nodes.append(node)
    }
  }
}

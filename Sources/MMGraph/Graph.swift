import MMCore

/// Where a node input comes from: a graph input, or an output port of an earlier node.
public enum PortReference: Hashable, Sendable, CustomStringConvertible {
  case graphInput(String)
  /// `node` indexes `Graph.nodes`.
  case node(Int, port: String)

  public var description: String {
    switch self {
    case .graphInput(let name): return "$\(name)"
    case .node(let index, let port): return "#\(index).\(port)"
    }
  }
}

/// A position in a graph file, for messages: `file:line:column` and the JSON pointer.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int
  /// RFC 6901 JSON pointer (`/nodes/resize/options/size`).
  public var pointer: String

  public init(file: String, line: Int, column: Int, pointer: String) {
    self.file = file
    self.line = line
    self.column = column
    self.pointer = pointer
  }

  public var description: String { "\(file):\(line):\(column) (\(pointer.isEmpty ? "/" : pointer))" }
}

/// One node of a loaded graph: its type's descriptor, validated options, where each input comes
/// from, and the port types resolved at load time.
public struct GraphNode: Sendable {
  /// Unique in the graph; nodes of an expanded subgraph are named `outer/inner`.
  public var name: String
  public var descriptor: NodeDescriptor
  public var options: NodeOptions
  /// Connected inputs (unconnected optional inputs are absent).
  public var inputs: [String: PortReference]
  public var inputTypes: [String: PortType]
  public var outputTypes: [String: PortType]
  public var doc: String?
  public var location: SourceLocation?

  public init(
    name: String, descriptor: NodeDescriptor, options: NodeOptions, inputs: [String: PortReference],
    inputTypes: [String: PortType], outputTypes: [String: PortType], doc: String? = nil,
    location: SourceLocation? = nil
  ) {
    self.name = name
    self.descriptor = descriptor
    self.options = options
    self.inputs = inputs
    self.inputTypes = inputTypes
    self.outputTypes = outputTypes
    self.doc = doc
    self.location = location
  }
}

/// A named graph output.
public struct GraphOutput: Sendable {
  public var name: String
  public var source: PortReference
  public var type: PortType
  public init(name: String, source: PortReference, type: PortType) {
    self.name = name
    self.source = source
    self.type = type
  }
}

/// A validated graph, ready to run: subgraphs expanded, options substituted, every edge typed,
/// nodes in a topological order (each node's inputs come from graph inputs or earlier nodes).
/// Both executors (serial and parallel) take this; the loader makes it.
public struct Graph: Sendable {
  /// The graph file it was loaded from.
  public var file: String
  public var doc: String?
  public var inputs: [(name: String, type: PortType)]
  public var outputs: [GraphOutput]
  public var nodes: [GraphNode]

  public init(
    file: String, doc: String? = nil, inputs: [(name: String, type: PortType)], outputs: [GraphOutput],
    nodes: [GraphNode]
  ) {
    self.file = file
    self.doc = doc
    self.inputs = inputs
    self.outputs = outputs
    self.nodes = nodes
  }

  /// Indices of the nodes that the named outputs need (all outputs when `outputs` is nil), in
  /// topological order: only these run.
  public func neededNodes(for outputs: [String]? = nil) -> [Int] {
    var needed = Set<Int>()
    var stack: [Int] = []
    for output in self.outputs where outputs?.contains(output.name) ?? true {
      if case .node(let index, _) = output.source { stack.append(index) }
    }
    while let index = stack.popLast() {
      guard needed.insert(index).inserted else { continue }
      for reference in nodes[index].inputs.values {
        if case .node(let source, _) = reference { stack.append(source) }
      }
    }
    return needed.sorted()
  }
}

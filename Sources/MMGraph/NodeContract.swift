import MMCore

/// One named input or output of a node type.
public struct PortSpec: Sendable {
  public var name: String
  public var type: PortType
  public var doc: String
  /// An optional input may be left unconnected (the node sees nil).
  public var optional: Bool

  public init(_ name: String, _ type: PortType, doc: String, optional: Bool = false) {
    self.name = name
    self.type = type
    self.doc = doc
    self.optional = optional
  }
}

/// The type of a node option, checked at load time.
public indirect enum OptionType: Hashable, Sendable {
  case bool
  case int(range: ClosedRange<Int>?)
  case float
  case string
  /// A file path, resolved against the graph file's folder; its content is part of cache keys.
  case path
  case choice([String])
  case list(OptionType)
  /// Any JSON (for structured options such as prompt templates).
  case json
}

/// One option of a node type, with its default (nil: required) and documentation.
public struct OptionSpec: Sendable {
  public var name: String
  public var type: OptionType
  public var defaultValue: JSONValue?
  public var doc: String

  public init(_ name: String, _ type: OptionType, default defaultValue: JSONValue? = nil, doc: String) {
    self.name = name
    self.type = type
    self.defaultValue = defaultValue
    self.doc = doc
  }
}

/// Validated option values of one node: every declared option is present (given or default),
/// with the declared type; paths are absolute.
public struct NodeOptions: Sendable {
  public var values: [String: JSONValue]
  public init(_ values: [String: JSONValue]) { self.values = values }

  public subscript(name: String) -> JSONValue? { values[name] }
  public func int(_ name: String) -> Int { values[name]?.int ?? 0 }
  public func double(_ name: String) -> Double { values[name]?.double ?? 0 }
  public func bool(_ name: String) -> Bool { values[name]?.bool ?? false }
  public func string(_ name: String) -> String { values[name]?.string ?? "" }
}

/// Output types of a node given its input types and options: the node's type rule, run at load
/// time. Throwing `TypeRuleError` reports a mismatch against the named port.
public typealias TypeRule =
  @Sendable (_ inputs: [String: PortType], _ options: NodeOptions) throws(TypeRuleError) -> [String: PortType]

/// A type rule's complaint: which port, what was expected, what was found.
public struct TypeRuleError: Error, Sendable {
  public var port: String
  public var expected: String
  public var found: String
  public init(port: String, expected: String, found: String) {
    self.port = port
    self.expected = expected
    self.found = found
  }
}

/// Everything the graph core knows of a node type: its name, ports, options, docs, type rule
/// and how to make an instance. Registered by plugins into a `NodeRegistry`.
public struct NodeDescriptor: Sendable {
  /// Namespaced: `tensor.add`, `audio.fbank`, `vision.vit`.
  public var type: String
  public var doc: String
  /// One example graph node (JSON text) for the catalog.
  public var example: String
  public var inputs: [PortSpec]
  public var outputs: [PortSpec]
  public var options: [OptionSpec]
  /// Output types from input types (nil: the declared output types as they are).
  public var typeRule: TypeRule?
  /// Outputs depend only on inputs and options (false for clocks, random sources): cacheable.
  public var isPure: Bool
  /// Files the node reads (model weights) — their content hashes join the cache key.
  public var filesRead: @Sendable (NodeOptions) -> [String]
  /// A check before the run starts, with the inputs known by then (nil: none).
  public var preflight: Preflight?
  public var make: @Sendable (NodeOptions) throws -> any Node

  public init(
    type: String, doc: String, example: String, inputs: [PortSpec], outputs: [PortSpec],
    options: [OptionSpec] = [], typeRule: TypeRule? = nil, isPure: Bool = true,
    filesRead: @escaping @Sendable (NodeOptions) -> [String] = { _ in [] },
    preflight: Preflight? = nil,
    make: @escaping @Sendable (NodeOptions) throws -> any Node
  ) {
    self.type = type
    self.doc = doc
    self.example = example
    self.inputs = inputs
    self.outputs = outputs
    self.options = options
    self.typeRule = typeRule
    self.isPure = isPure
    self.filesRead = filesRead
    self.preflight = preflight
    self.make = make
  }
}

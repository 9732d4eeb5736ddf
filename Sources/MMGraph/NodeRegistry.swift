/// The catalog of node types, keyed by namespaced type name. Plugins add their descriptors;
/// the graph loader and the CLI (`mmgraph nodes`) read it.
public struct NodeRegistry: Sendable {
  public private(set) var descriptors: [String: NodeDescriptor] = [:]

  public init() {}

  /// Adds a node type; a second registration of the same name is an error naming both.
  public mutating func register(_ descriptor: NodeDescriptor, from plugin: String) throws(RegistryError) {
    if let existing = origins[descriptor.type] {
      throw RegistryError(
        message:
          "node type '\(descriptor.type)' from plugin '\(plugin)' is already registered by '\(existing)'")
    }
    descriptors[descriptor.type] = descriptor
    origins[descriptor.type] = plugin
  }

  /// Which plugin registered each node type.
  public private(set) var origins: [String: String] = [:]

  /// File readers by extension, with the plugin that registered each (`FileReader.swift`).
  var readers: [String: [(reader: FileReader, plugin: String)]] = [:]

  public subscript(type: String) -> NodeDescriptor? { descriptors[type] }

  public var typeNames: [String] { descriptors.keys.sorted() }
}

public struct RegistryError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public var description: String { message }
}

/// A set of node types that registers as one unit: a modality plugin (in-tree under `Plugins/`,
/// or a shared library loaded with `--plugin`).
public protocol NodePlugin {
  /// Short name for messages and `mmgraph nodes` (`tensor`, `audio`, `vision`).
  static var name: String { get }
  /// The node types of the plugin; the default `register` registers each under `name`.
  static var descriptors: [NodeDescriptor] { get }
  /// Registers the node types (and anything else: file readers); by default `descriptors`.
  static func register(into registry: inout NodeRegistry) throws(RegistryError)
}

extension NodePlugin {
  public static var descriptors: [NodeDescriptor] { [] }

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
  }
}

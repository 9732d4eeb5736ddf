import MMCore

/// What a node may check before a run starts — after the graph loaded and its types checked,
/// before any node is opened or runs: its options, its input types (with the static shapes the
/// type rules found) and the values already known (graph inputs given to the run). A language
/// model node checks there that its prompt has as many media placeholders as media inputs and
/// fits the context once the media's soft tokens are added, so a mistake is reported before an
/// encoder spends a minute on the images.
public struct PreflightContext: Sendable {
  public var nodeName: String
  public var options: NodeOptions
  public var inputTypes: [String: PortType]
  /// Inputs whose value is known before the run: batch graph inputs given to it.
  public var known: [String: Value]

  public init(nodeName: String, options: NodeOptions, inputTypes: [String: PortType], known: [String: Value])
  {
    self.nodeName = nodeName
    self.options = options
    self.inputTypes = inputTypes
    self.known = known
  }

  /// The text on `port` when it is known before the run.
  public func text(_ port: String) -> String? {
    if case .text(let text)? = known[port] { return text }
    return nil
  }
}

/// A node type's check before a run (see `PreflightContext`). Returns lines for `mmgraph plan`
/// (what the node will do: soft tokens per medium, prompt length); throws to stop the run.
public typealias Preflight = @Sendable (PreflightContext) throws -> [String]

extension Graph {
  /// Runs the preflight check of each node in `nodes` (indices into `nodes`, in order) with the
  /// batch graph inputs in `inputs`; returns each node's plan lines. The first failure is a
  /// `RunError.nodeFailed` in phase `preflight`.
  public func preflight(nodes order: [Int], inputs: [String: Value]) throws(RunError) -> [Int: [String]] {
    var notes: [Int: [String]] = [:]
    for index in order {
      let node = nodes[index]
      guard let check = node.descriptor.preflight else { continue }
      var known: [String: Value] = [:]
      for (port, reference) in node.inputs {
        if case .graphInput(let name) = reference, let value = inputs[name] { known[port] = value }
      }
      let context = PreflightContext(
        nodeName: node.name, options: node.options, inputTypes: node.inputTypes, known: known)
      do {
        let lines = try check(context)
        if !lines.isEmpty { notes[index] = lines }
      } catch {
        throw .nodeFailed(node: node.name, phase: .preflight, inputs: "", underlying: error)
      }
    }
    return notes
  }
}

import MMCore

// Small helpers of the public plugin API, shared by every plugin: a node made of one closure,
// a failure naming the node, typed access to input values, and the catalog's example text.

/// A node whose one `process` call computes its outputs from its batch inputs.
public final class FunctionNode: Node {
  let body: (NodeContext) throws -> Void
  public init(_ body: @escaping (NodeContext) throws -> Void) { self.body = body }
  public func process(_ context: NodeContext) throws -> ProcessResult {
    try body(context)
    return .done
  }
}

/// A node failed on its input: the message names the node, what was expected and what was found.
public struct NodeFailure: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ message: String) { description = message }
}

extension NodeContext {
  /// The value on input `port`; an unconnected port is an error naming the node.
  public func required(_ port: String) throws -> Value {
    guard let value = input(port) else { throw NodeFailure("\(nodeName): input '\(port)' is not connected") }
    return value
  }

  /// The tensor on input `port` (image and point-cloud values are tensors too).
  public func tensor(_ port: String) throws -> Tensor {
    switch try required(port) {
    case .tensor(let t), .image(let t), .pointCloud(let t): return t
    case let other: throw mismatch(port, expected: "a tensor", found: other)
    }
  }

  /// The audio on input `port`.
  public func audio(_ port: String) throws -> Audio {
    guard case .audio(let audio) = try required(port) else {
      throw mismatch(port, expected: "audio", found: try required(port))
    }
    return audio
  }

  /// The image `[height, width, channels]` on input `port`.
  public func image(_ port: String) throws -> Tensor {
    guard case .image(let pixels) = try required(port) else {
      throw mismatch(port, expected: "an image", found: try required(port))
    }
    return pixels
  }

  /// The text on input `port`.
  public func text(_ port: String) throws -> String {
    guard case .text(let text) = try required(port) else {
      throw mismatch(port, expected: "text", found: try required(port))
    }
    return text
  }

  /// Runs `body`, turning a library error (a model's, a kernel's, a file reader's) into a
  /// `NodeFailure` whose message starts with this node's name; a `NodeFailure` passes unchanged.
  public func named<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as NodeFailure { throw error } catch {
      throw NodeFailure("\(nodeName): \(error)")
    }
  }

  private func mismatch(_ port: String, expected: String, found: Value) -> NodeFailure {
    NodeFailure("\(nodeName): input '\(port)' expected \(expected), found \(found.kindName)")
  }
}

extension Value {
  /// `tensor`, `text`, `point cloud`, … for messages.
  public var kindName: String {
    switch self {
    case .tensor: return "tensor"
    case .audio: return "audio"
    case .image: return "image"
    case .video: return "video"
    case .pointCloud: return "point cloud"
    case .text: return "text"
    case .tokens: return "tokens"
    case .embedding: return "embedding"
    case .json: return "json"
    }
  }
}

/// The example graph node shown in `mmgraph nodes`: `{"type": …, "inputs": {…}, "options": {…}}`.
/// Option values are JSON text (`"\"a.npy\""`, `"3"`).
public func exampleNode(
  _ type: String, inputs: [(String, String)] = [], options: [(String, String)] = []
) -> String {
  var parts = ["\"type\": \"\(type)\""]
  if !inputs.isEmpty {
    parts.append("\"inputs\": {" + inputs.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}")
  }
  if !options.isEmpty {
    parts.append("\"options\": {" + options.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
  }
  return "{" + parts.joined(separator: ", ") + "}"
}

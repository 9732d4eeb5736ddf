import MMCore
import MMGraph

/// General-purpose tensor nodes (`tensor.*`): load and save `.npy`, broadcasting arithmetic,
/// matmul, concat, reductions, activations, and a small stream source and aggregate for tests and
/// demos. Registered through `MMBuiltins`.
public enum TensorPlugin: NodePlugin {
  public static let name = "tensor"

  /// Every node type of this plugin, in catalog order.
  public static let descriptors: [NodeDescriptor] =
    [loadDescriptor, saveDescriptor]
    + BinaryNodes.descriptors
    + [scaleDescriptor, reluDescriptor, softmaxDescriptor, matmulDescriptor, concatDescriptor, sumDescriptor]
    + [rangeStreamDescriptor, streamSumDescriptor]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
  }
}

/// A node whose one `process` call computes its outputs from its batch inputs.
final class FunctionNode: Node {
  let body: (NodeContext) throws -> Void
  init(_ body: @escaping (NodeContext) throws -> Void) { self.body = body }
  func process(_ context: NodeContext) throws -> ProcessResult {
    try body(context)
    return .done
  }
}

/// A node failed on its input: names the node, what was expected and what was found.
struct TensorNodeError: Error, CustomStringConvertible {
  let description: String
  init(_ message: String) { description = message }
}

extension NodeContext {
  /// The tensor on input `port` (also accepts image and point-cloud tensors).
  func tensor(_ port: String) throws -> Tensor {
    switch input(port) {
    case .tensor(let t)?, .image(let t)?, .pointCloud(let t)?: return t
    case nil: throw TensorNodeError("\(nodeName): input '\(port)' is not connected")
    case let other?:
      throw TensorNodeError("\(nodeName): input '\(port)' expected a tensor, found \(other.kindName)")
    }
  }
}

extension Value {
  /// `tensor`, `text`, … for messages.
  var kindName: String {
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
func exampleNode(_ type: String, inputs: [(String, String)] = [], options: [(String, String)] = []) -> String
{
  var parts = ["\"type\": \"\(type)\""]
  if !inputs.isEmpty {
    parts.append("\"inputs\": {" + inputs.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ") + "}")
  }
  if !options.isEmpty {
    parts.append("\"options\": {" + options.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
  }
  return "{" + parts.joined(separator: ", ") + "}"
}

/// Estimated floating-point operations of one node from its port types (nil: unknown), for
/// `mmgraph plan`. Keyed by node type.
public typealias FlopEstimate =
  @Sendable (_ inputs: [String: PortType], _ outputs: [String: PortType]) -> Double?

extension TensorPlugin {
  public static let flopEstimates: [String: FlopEstimate] = [
    "tensor.load": { _, _ in 0 }, "tensor.concat": { _, _ in 0 },
    "tensor.add": elementwise, "tensor.sub": elementwise, "tensor.mul": elementwise,
    "tensor.scale": elementwise, "tensor.relu": elementwise,
    "tensor.softmax": { _, outputs in elements(outputs["out"]).map { 5 * $0 } },
    "tensor.sum": { inputs, _ in elements(inputs["x"]) },
    "tensor.matmul": { inputs, _ in
      guard case .tensor(_, let a?)? = inputs["a"], case .tensor(_, let b?)? = inputs["b"], a.count == 2,
        b.count == 2,
        case .fixed(let m) = a[0], case .fixed(let k) = a[1], case .fixed(let n) = b[1]
      else { return nil }
      return 2 * Double(m) * Double(k) * Double(n)
    },
  ]

  /// One operation per output element.
  static let elementwise: FlopEstimate = { _, outputs in elements(outputs["out"]) }

  /// The element count of a tensor type whose every dimension is fixed.
  static func elements(_ type: PortType?) -> Double? {
    guard case .tensor(_, let shape?)? = type else { return nil }
    var count = 1.0
    for dimension in shape {
      guard case .fixed(let n) = dimension else { return nil }
      count *= Double(n)
    }
    return count
  }
}

import MMCore
import MMGraph
import MMWeights

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
    try registry.register(reader: npyReader, from: name)
  }

  /// `--input x.npy`: a NumPy array as a tensor, in its stored dtype and shape.
  static let npyReader = FileReader(
    name: "tensor", extensions: ["npy"], type: TensorTypes.anyTensor,
    doc: "a NumPy .npy array (any dtype, byte order or Fortran order)",
    read: { path in .tensor(try NPY.read(contentsOf: path)) })
}

/// Tensor nodes report failures as the plugin API's `NodeFailure`.
typealias TensorNodeError = NodeFailure

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

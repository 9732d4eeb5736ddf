import MMCore
import MMGraph
import MMKernels

/// `tensor.add`, `tensor.sub`, `tensor.mul`: elementwise with NumPy broadcasting.
/// a: [..., d] ∘ b: [..., d] (broadcast) → out: f32 of the broadcast shape.
enum BinaryNodes {
  static let descriptors: [NodeDescriptor] = [
    descriptor("add", "a + b", MMKernels.add),
    descriptor("sub", "a − b", MMKernels.sub),
    descriptor("mul", "a · b (elementwise)", MMKernels.mul),
  ]

  static func descriptor(
    _ name: String, _ formula: String,
    _ op: @escaping @Sendable (Tensor, Tensor) throws(TensorError) -> Tensor
  ) -> NodeDescriptor {
    NodeDescriptor(
      type: "tensor.\(name)",
      doc: "out = \(formula), elementwise with NumPy broadcasting; floating inputs, f32 result.",
      example: exampleNode("tensor.\(name)", inputs: [("a", "$x"), ("b", "bias.out")]),
      inputs: [
        PortSpec("a", TensorTypes.anyTensor, doc: "left operand"),
        PortSpec("b", TensorTypes.anyTensor, doc: "right operand (broadcast against a)"),
      ],
      outputs: [PortSpec("out", TensorTypes.f32Tensor, doc: "the result, f32, broadcast shape")],
      typeRule: { (inputs, _) throws(TypeRuleError) in
        let a = try TensorTypes.parts(inputs, "a")
        let b = try TensorTypes.parts(inputs, "b")
        try TensorTypes.requireFloat(a.dtype, port: "a")
        try TensorTypes.requireFloat(b.dtype, port: "b")
        return ["out": .tensor(dtype: .f32, shape: try TensorTypes.broadcast(a.shape, b.shape, port: "b"))]
      },
      make: { _ in
        FunctionNode { context in
          context.emit("out", .tensor(try op(try context.tensor("a"), try context.tensor("b"))))
        }
      })
  }
}

/// Type rule of one-input nodes that keep the shape and give f32.
private let sameShapeF32: TypeRule = { (inputs, _) throws(TypeRuleError) in
  let x = try TensorTypes.parts(inputs, "x")
  try TensorTypes.requireFloat(x.dtype, port: "x")
  return ["out": .tensor(dtype: .f32, shape: x.shape)]
}

/// x: [...] → out: [...] f32, x · factor.
let scaleDescriptor = NodeDescriptor(
  type: "tensor.scale",
  doc: "out = x · factor (a constant), f32.",
  example: exampleNode("tensor.scale", inputs: [("x", "logits.out")], options: [("factor", "0.5")]),
  inputs: [PortSpec("x", TensorTypes.anyTensor, doc: "a floating-point tensor")],
  outputs: [PortSpec("out", TensorTypes.f32Tensor, doc: "x · factor")],
  options: [OptionSpec("factor", .float, default: .number("1.0"), doc: "the multiplier")],
  typeRule: sameShapeF32,
  make: { options in
    let factor = Float(options.double("factor"))
    return FunctionNode { context in context.emit("out", .tensor(try mul(try context.tensor("x"), factor))) }
  })

/// x: [...] → out: [...] f32, max(x, 0).
let reluDescriptor = NodeDescriptor(
  type: "tensor.relu",
  doc: "out = max(x, 0) elementwise, f32.",
  example: exampleNode("tensor.relu", inputs: [("x", "hidden.out")]),
  inputs: [PortSpec("x", TensorTypes.anyTensor, doc: "a floating-point tensor")],
  outputs: [PortSpec("out", TensorTypes.f32Tensor, doc: "max(x, 0)")],
  typeRule: sameShapeF32,
  make: { _ in
    FunctionNode { context in
      let x = try f32Copy(try context.tensor("x"), node: context.nodeName)
      applyActivation(.relu, x.pointer(Float.self), into: x.pointer(Float.self), count: x.count)
      context.emit("out", .tensor(x))
    }
  })

/// x: [rows, cols] (any rank; the last axis is the row) → out: same shape, each row sums to 1.
let softmaxDescriptor = NodeDescriptor(
  type: "tensor.softmax",
  doc: "Softmax over the last axis (numerically stable), f32.",
  example: exampleNode("tensor.softmax", inputs: [("x", "scores.out")]),
  inputs: [PortSpec("x", TensorTypes.anyTensor, doc: "scores; the last axis is normalized")],
  outputs: [PortSpec("out", TensorTypes.f32Tensor, doc: "probabilities along the last axis")],
  typeRule: sameShapeF32,
  make: { _ in
    FunctionNode { context in
      let x = try f32Copy(try context.tensor("x"), node: context.nodeName)
      let cols = x.shape.last ?? 1
      let rows = cols == 0 ? 0 : x.count / cols
      softmaxRows(UnsafePointer(x.pointer(Float.self)), x.pointer(Float.self), rows: rows, cols: cols)
      context.emit("out", .tensor(x))
    }
  })

/// A fresh contiguous f32 copy of a floating tensor (integer inputs are refused).
func f32Copy(_ x: Tensor, node: String) throws -> Tensor {
  guard x.dtype.isFloatingPoint else {
    throw TensorNodeError("\(node): expected a floating-point tensor, found \(x.dtype.name)")
  }
  if x.dtype != .f32 { return x.converted(to: .f32) }
  let copy = Tensor(zeros: x.shape)
  let dense = x.contiguous()
  copy.baseAddress.copyMemory(from: dense.baseAddress, byteCount: dense.byteCount)
  return copy
}

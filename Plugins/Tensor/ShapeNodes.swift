import MMCore
import MMGraph
import MMKernels

/// a: [m, k] · b: [k, n] → out: [m, n] f32 (b may stay f16/bf16: GEMM widens it while packing).
let matmulDescriptor = NodeDescriptor(
  type: "tensor.matmul",
  doc: "Matrix product out[m, n] = a[m, k] · b[k, n] (GEMM); f32 result.",
  example: exampleNode("tensor.matmul", inputs: [("a", "$x"), ("b", "weight.out")]),
  inputs: [
    PortSpec("a", .tensor(dtype: nil, shape: [.symbol("m"), .symbol("k")]), doc: "[m, k]"),
    PortSpec("b", .tensor(dtype: nil, shape: [.symbol("k"), .symbol("n")]), doc: "[k, n]"),
  ],
  outputs: [PortSpec("out", .tensor(dtype: .f32, shape: [.symbol("m"), .symbol("n")]), doc: "[m, n]")],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    let a = try TensorTypes.parts(inputs, "a")
    let b = try TensorTypes.parts(inputs, "b")
    try TensorTypes.requireFloat(a.dtype, port: "a")
    try TensorTypes.requireFloat(b.dtype, port: "b")
    let aShape = a.shape ?? [.symbol("m"), .symbol("k")]
    let bShape = b.shape ?? [.symbol("k"), .symbol("n")]
    guard aShape.count == 2 else {
      throw TypeRuleError(port: "a", expected: "a matrix [m, k]", found: TensorTypes.shapeText(aShape))
    }
    guard bShape.count == 2 else {
      throw TypeRuleError(port: "b", expected: "a matrix [k, n]", found: TensorTypes.shapeText(bShape))
    }
    if case .fixed(let k) = aShape[1], case .fixed(let rows) = bShape[0], k != rows {
      throw TypeRuleError(
        port: "b", expected: "[\(k), n] (b's rows must equal a's \(k) columns)",
        found: TensorTypes.shapeText(bShape))
    }
    return ["out": .tensor(dtype: .f32, shape: [aShape[0], bShape[1]])]
  },
  make: { _ in
    FunctionNode { context in
      context.emit("out", .tensor(try matmul(try context.tensor("a"), try context.tensor("b"))))
    }
  })

/// out[m, n] = a[m, k] · b[k, n] via `gemm`.
func matmul(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
  guard a.rank == 2, b.rank == 2, a.shape[1] == b.shape[0] else {
    throw .shapeMismatch(
      op: "matmul", expected: "[m, k] and [k, n]", found: "\(shapeText(a.shape)) and \(shapeText(b.shape))")
  }
  guard a.dtype.isFloatingPoint else { throw .dtypeMismatch(op: "matmul", expected: .f32, found: a.dtype) }
  guard b.dtype.isFloatingPoint else { throw .dtypeMismatch(op: "matmul", expected: .f32, found: b.dtype) }
  let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
  let left = a.dtype == .f32 ? a.contiguous() : a.converted(to: .f32)
  let right = [.f32, .f16, .bf16].contains(b.dtype) ? b.contiguous() : b.converted(to: .f32)
  let out = Tensor(zeros: [m, n])
  gemm(
    m: m, n: n, k: k, a: MatrixOperand(UnsafePointer(left.pointer(Float.self)), ld: k),
    b: MatrixOperand(raw: right.baseAddress, dtype: right.dtype, ld: n), c: out.pointer(Float.self), ldc: n)
  return out
}

/// a, b[, c, d]: same dtype and rank, equal except along `axis` → out: sizes along `axis` added.
let concatDescriptor = NodeDescriptor(
  type: "tensor.concat",
  doc: "Joins two to four tensors along an axis; they agree in dtype, rank and every other dimension.",
  example: exampleNode(
    "tensor.concat", inputs: [("a", "left.out"), ("b", "right.out")], options: [("axis", "-1")]),
  inputs: ["a", "b", "c", "d"].enumerated().map { index, name in
    PortSpec(name, TensorTypes.anyTensor, doc: "part \(index + 1)", optional: index >= 2)
  },
  outputs: [PortSpec("out", TensorTypes.anyTensor, doc: "the parts joined in port order")],
  options: [
    OptionSpec(
      "axis", .int(range: nil), default: .number("0"),
      doc: "the axis to join along (negative counts from the end)")
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    let ports = ["a", "b", "c", "d"].filter { inputs[$0] != nil }
    var dtype: DType?
    var shapes: [(port: String, shape: [Dimension])] = []
    for port in ports {
      let part = try TensorTypes.parts(inputs, port)
      if let d = part.dtype {
        if let known = dtype, known != d {
          throw TypeRuleError(
            port: port, expected: "tensor<\(known.name)> like the first part", found: "tensor<\(d.name)>")
        }
        dtype = d
      }
      if let shape = part.shape { shapes.append((port, shape)) }
    }
    guard shapes.count == ports.count, let first = shapes.first else {
      return ["out": .tensor(dtype: dtype, shape: nil)]
    }
    let rank = first.shape.count
    let axis = options.int("axis") < 0 ? options.int("axis") + rank : options.int("axis")
    guard axis >= 0 && axis < rank else {
      throw TypeRuleError(
        port: first.port, expected: "rank > axis \(options.int("axis"))",
        found: TensorTypes.shapeText(first.shape))
    }
    var joined: [Dimension] = []
    for (port, shape) in shapes {
      guard shape.count == rank else {
        throw TypeRuleError(
          port: port, expected: "rank \(rank) like port \(first.port)", found: TensorTypes.shapeText(shape))
      }
      for i in 0..<rank where i != axis {
        if case .fixed(let p) = shape[i], case .fixed(let q) = first.shape[i], p != q {
          throw TypeRuleError(
            port: port, expected: "dimension \(i) = \(q) like port \(first.port)",
            found: TensorTypes.shapeText(shape))
        }
      }
      joined.append(shape[axis])
    }
    let sizes = joined.compactMap { if case .fixed(let n) = $0 { return n } else { return nil } }
    var out = first.shape
    out[axis] =
      sizes.count == joined.count
      ? .fixed(sizes.reduce(0, +)) : .symbol(joined.map(\.description).joined(separator: "+"))
    return ["out": .tensor(dtype: dtype, shape: out)]
  },
  make: { options in
    FunctionNode { context in
      let parts = try ["a", "b", "c", "d"].filter { context.input($0) != nil }.map { try context.tensor($0) }
      context.emit("out", .tensor(try concat(parts, axis: options.int("axis"))))
    }
  })

/// Joins tensors of one dtype along `axis`, copying bytes (any dtype).
func concat(_ parts: [Tensor], axis: Int) throws(TensorError) -> Tensor {
  guard let first = parts.first else { throw .invalidArgument(op: "concat", message: "no inputs") }
  let a = try first.axis(axis, op: "concat")
  for part in parts {
    guard part.dtype == first.dtype else {
      throw .dtypeMismatch(op: "concat", expected: first.dtype, found: part.dtype)
    }
    guard part.rank == first.rank,
      part.shape.indices.allSatisfy({ $0 == a || part.shape[$0] == first.shape[$0] })
    else {
      throw .shapeMismatch(
        op: "concat", expected: "shapes equal except axis \(a), like \(shapeText(first.shape))",
        found: shapeText(part.shape))
    }
  }
  var shape = first.shape
  shape[a] = parts.reduce(0) { $0 + $1.shape[a] }
  let out = Tensor(zeros: shape, dtype: first.dtype)
  let outer = shape[..<a].reduce(1, *)
  let inner = shape[(a + 1)...].reduce(1, *) * first.dtype.byteSize
  var column = 0
  for part in parts.map({ $0.contiguous() }) {
    let width = part.shape[a] * inner
    for row in 0..<outer {
      (out.baseAddress + row * shape[a] * inner + column).copyMemory(
        from: part.baseAddress + row * width, byteCount: width)
    }
    column += width
  }
  return out
}

/// x: [..., d, ...] → out: x summed along `axis` (or over everything with `all`), f32.
let sumDescriptor = NodeDescriptor(
  type: "tensor.sum",
  doc: "Sum along one axis (dropped unless keep_dims), or of all elements (shape []) with all: true.",
  example: exampleNode("tensor.sum", inputs: [("x", "scores.out")], options: [("axis", "-1")]),
  inputs: [PortSpec("x", TensorTypes.anyTensor, doc: "a floating-point tensor")],
  outputs: [PortSpec("out", TensorTypes.f32Tensor, doc: "the sums, f32")],
  options: [
    OptionSpec(
      "axis", .int(range: nil), default: .number("-1"),
      doc: "the axis to reduce (negative counts from the end)"),
    OptionSpec("keep_dims", .bool, default: .bool(false), doc: "keep the reduced axis with size 1"),
    OptionSpec("all", .bool, default: .bool(false), doc: "sum every element into a scalar (ignores axis)"),
  ],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    let x = try TensorTypes.parts(inputs, "x")
    try TensorTypes.requireFloat(x.dtype, port: "x")
    if options.bool("all") { return ["out": .tensor(dtype: .f32, shape: [])] }
    guard var shape = x.shape else { return ["out": TensorTypes.f32Tensor] }
    let axis = options.int("axis") < 0 ? options.int("axis") + shape.count : options.int("axis")
    guard axis >= 0 && axis < shape.count else {
      throw TypeRuleError(
        port: "x", expected: "rank > axis \(options.int("axis"))", found: TensorTypes.shapeText(shape))
    }
    if options.bool("keep_dims") { shape[axis] = .fixed(1) } else { shape.remove(at: axis) }
    return ["out": .tensor(dtype: .f32, shape: shape)]
  },
  make: { options in
    FunctionNode { context in
      let x = try context.tensor("x")
      let out =
        options.bool("all")
        ? try reduceSum(try x.contiguous().reshaped([x.count]), axis: 0)
        : try reduceSum(x, axis: options.int("axis"), keepDims: options.bool("keep_dims"))
      context.emit("out", .tensor(out))
    }
  })

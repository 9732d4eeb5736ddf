import MMCore

/// Elementwise binary arithmetic on tensors with NumPy broadcasting. Operands of any floating
/// dtype are widened to f32 (integer and bool operands throw `dtypeMismatch`); the result is a
/// new contiguous f32 tensor of the broadcast shape. Fast paths: same-shape contiguous
/// operands, a scalar operand, and a row vector (bias) against a contiguous matrix; everything
/// else walks strided views. `maximum`/`minimum` propagate NaN like NumPy and PyTorch.
public enum BinaryOperation: String, Sendable, CaseIterable, Codable {
  case add, sub, mul, div, maximum, minimum

  @inline(__always) public func apply(_ a: Float, _ b: Float) -> Float {
    switch self {
    case .add: return a + b
    case .sub: return a - b
    case .mul: return a * b
    case .div: return a / b
    case .maximum: return a.isNaN || b.isNaN ? .nan : (a > b ? a : b)
    case .minimum: return a.isNaN || b.isNaN ? .nan : (a < b ? a : b)
    }
  }

  @inline(__always) public func apply(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    switch self {
    case .add: return a + b
    case .sub: return a - b
    case .mul: return a * b
    case .div: return a / b
    case .maximum:
      return b.replacing(with: a, where: a .> b).replacing(with: a + b, where: a .!= a .| b .!= b)
    case .minimum:
      return b.replacing(with: a, where: a .< b).replacing(with: a + b, where: a .!= a .| b .!= b)
    }
  }
}

/// out = a ∘ b with NumPy broadcasting. Throws `shapeMismatch` naming both shapes.
public func elementwise(
  _ op: BinaryOperation, _ a: Tensor, _ b: Tensor, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  let name = op.rawValue
  let a = try floatOperand(a, op: name), b = try floatOperand(b, op: name)
  guard let shape = Tensor.broadcastShape(a.shape, b.shape) else {
    throw .shapeMismatch(
      op: name, expected: "shapes that broadcast together",
      found: "\(shapeText(a.shape)) and \(shapeText(b.shape))")
  }
  let out = Tensor(zeros: shape)
  let n = out.count
  if n == 0 { return out }
  let o = out.pointer(Float.self)
  let last = shape.last ?? 1
  if a.shape == b.shape && a.isContiguous && b.isContiguous {
    binarySpans(op, a.pointer(Float.self), b.pointer(Float.self), o, count: n, pool: pool)
  } else if b.count == 1 && a.shape == shape && a.isContiguous {
    let s = b.pointer(Float.self)[0]
    scalarSpans(op, a.pointer(Float.self), s, scalarFirst: false, o, count: n, pool: pool)
  } else if a.count == 1 && b.shape == shape && b.isContiguous {
    let s = a.pointer(Float.self)[0]
    scalarSpans(op, b.pointer(Float.self), s, scalarFirst: true, o, count: n, pool: pool)
  } else if a.shape == shape && a.isContiguous && isRowVector(b, length: last) {
    rowBroadcast(
      op, matrix: a.pointer(Float.self), row: b, rowFirst: false, o, rows: n / last, cols: last, pool: pool)
  } else if b.shape == shape && b.isContiguous && isRowVector(a, length: last) {
    rowBroadcast(
      op, matrix: b.pointer(Float.self), row: a, rowFirst: true, o, rows: n / last, cols: last, pool: pool)
  } else {
    try stridedBroadcast(op, a.broadcast(to: shape), b.broadcast(to: shape), o, pool: pool)
  }
  return out
}

/// out = a ∘ s (or s ∘ a when `scalarFirst`), a of any floating dtype → f32.
public func elementwise(
  _ op: BinaryOperation, _ a: Tensor, scalar s: Float, scalarFirst: Bool = false,
  pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  let a = try floatOperand(a, op: op.rawValue).contiguous()
  let out = Tensor(zeros: a.shape)
  scalarSpans(
    op, a.pointer(Float.self), s, scalarFirst: scalarFirst, out.pointer(Float.self), count: a.count,
    pool: pool)
  return out
}

public func add(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.add, a, b) }
public func sub(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.sub, a, b) }
public func mul(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.mul, a, b) }
public func div(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor { try elementwise(.div, a, b) }
public func maximum(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
  try elementwise(.maximum, a, b)
}
public func minimum(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
  try elementwise(.minimum, a, b)
}
public func add(_ a: Tensor, _ s: Float) throws(TensorError) -> Tensor { try elementwise(.add, a, scalar: s) }
public func sub(_ a: Tensor, _ s: Float) throws(TensorError) -> Tensor { try elementwise(.sub, a, scalar: s) }
public func mul(_ a: Tensor, _ s: Float) throws(TensorError) -> Tensor { try elementwise(.mul, a, scalar: s) }
public func div(_ a: Tensor, _ s: Float) throws(TensorError) -> Tensor { try elementwise(.div, a, scalar: s) }
public func maximum(_ a: Tensor, _ s: Float) throws(TensorError) -> Tensor {
  try elementwise(.maximum, a, scalar: s)
}
public func minimum(_ a: Tensor, _ s: Float) throws(TensorError) -> Tensor {
  try elementwise(.minimum, a, scalar: s)
}

// MARK: - Operands and loops

/// f32 as is; other floating dtypes widened; integers and bool rejected.
func floatOperand(_ t: Tensor, op: String) throws(TensorError) -> Tensor {
  if t.dtype == .f32 { return t }
  guard t.dtype.isFloatingPoint else { throw .dtypeMismatch(op: op, expected: .f32, found: t.dtype) }
  return t.converted(to: .f32)
}

/// True when t is `[…, 1, length]` with a unit stride on its last axis.
private func isRowVector(_ t: Tensor, length: Int) -> Bool {
  t.count == length && t.shape.last == length && (length == 1 || t.strides.last == 1)
    && t.shape.dropLast().allSatisfy { $0 == 1 }
}

/// o[i] = a[i] ∘ b[i], split over the pool.
private func binarySpans(
  _ op: BinaryOperation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
  _ o: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool
) {
  pool.parallelRanges(count, grain: 32_768) { r in
    binaryRow(op, a + r.lowerBound, b + r.lowerBound, o + r.lowerBound, r.count)
  }
}

@inline(__always)
private func binaryRow(
  _ op: BinaryOperation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
  _ o: UnsafeMutablePointer<Float>, _ n: Int
) {
  var i = 0
  while i + 8 <= n {
    store8(op.apply(load8(a + i), load8(b + i)), o + i)
    i += 8
  }
  while i < n {
    o[i] = op.apply(a[i], b[i])
    i += 1
  }
}

private func scalarSpans(
  _ op: BinaryOperation, _ a: UnsafePointer<Float>, _ s: Float, scalarFirst: Bool,
  _ o: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool
) {
  let sv = SIMD8<Float>(repeating: s)
  pool.parallelRanges(count, grain: 32_768) { r in
    var i = r.lowerBound
    while i + 8 <= r.upperBound {
      let x = load8(a + i)
      store8(scalarFirst ? op.apply(sv, x) : op.apply(x, sv), o + i)
      i += 8
    }
    while i < r.upperBound {
      o[i] = scalarFirst ? op.apply(s, a[i]) : op.apply(a[i], s)
      i += 1
    }
  }
}

/// o[r, :] = matrix[r, :] ∘ row (or row ∘ matrix[r, :] when `rowFirst`).
private func rowBroadcast(
  _ op: BinaryOperation, matrix: UnsafePointer<Float>, row: Tensor, rowFirst: Bool,
  _ o: UnsafeMutablePointer<Float>, rows: Int, cols: Int, pool: ThreadPool
) {
  let v = UnsafePointer(row.pointer(Float.self))
  pool.parallelRanges(rows, grain: max(1, 16_384 / max(cols, 1))) { range in
    for r in range {
      let m = matrix + r * cols
      if rowFirst { binaryRow(op, v, m, o + r * cols, cols) } else { binaryRow(op, m, v, o + r * cols, cols) }
    }
  }
}

/// The general case: both views already broadcast to the output shape (stride 0 on repeats).
private func stridedBroadcast(
  _ op: BinaryOperation, _ a: Tensor, _ b: Tensor, _ o: UnsafeMutablePointer<Float>,
  pool: ThreadPool
) {
  let shape = a.shape
  let rank = shape.count
  let cols = rank == 0 ? 1 : shape[rank - 1]
  let rows = a.count / max(cols, 1)
  let (sa, sb) = (rank == 0 ? 0 : a.strides[rank - 1], rank == 0 ? 0 : b.strides[rank - 1])
  let pa = UnsafePointer(a.pointer(Float.self)), pb = UnsafePointer(b.pointer(Float.self))
  pool.parallelRanges(rows, grain: max(1, 8192 / max(cols, 1))) { range in
    for r in range {
      var rest = r, offA = 0, offB = 0
      for axis in stride(from: rank - 2, through: 0, by: -1) {
        let i = rest % shape[axis]
        rest /= shape[axis]
        offA += i * a.strides[axis]
        offB += i * b.strides[axis]
      }
      let dst = o + r * cols
      if sa == 1 && sb == 1 {
        binaryRow(op, pa + offA, pb + offB, dst, cols)
      } else {
        for c in 0..<cols { dst[c] = op.apply(pa[offA + c * sa], pb[offB + c * sb]) }
      }
    }
  }
}

import MMCore

/// Reductions of a tensor along one axis. x of any floating dtype (widened to f32); the result
/// drops the axis (or keeps it with size 1 when `keepDims`). Values come back as f32, indices
/// (argmax/argmin) as i64. NaN propagates through sum/mean/max/min/variance and is the winner
/// of argmax/argmin (as in NumPy and PyTorch); ties go to the lowest index. Reducing an empty
/// axis throws for max/min/argmax/argmin, gives 0 for sum and NaN for mean and variance.
public enum Reduction: String, Sendable, CaseIterable, Codable {
  case sum, mean, max, min, argmax, argmin, variance
}

/// x reduced along `axis` (negative counts from the end). `correction` is the variance's
/// divisor offset: 0 → population variance (NumPy default, LayerNorm), 1 → sample (torch.var).
public func reduce(
  _ x: Tensor, _ reduction: Reduction, axis: Int, keepDims: Bool = false, correction: Int = 0,
  pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  let op = reduction.rawValue
  let x = try floatOperand(x, op: op).contiguous()
  let a = try x.axis(axis, op: op)
  let n = x.shape[a]
  let outer = x.shape[..<a].reduce(1, *)
  let inner = x.shape[(a + 1)...].reduce(1, *)
  let isIndex = reduction == .argmax || reduction == .argmin
  if n == 0 && (isIndex || reduction == .max || reduction == .min) {
    throw .invalidArgument(op: op, message: "cannot reduce axis \(a) of size 0 in \(shapeText(x.shape))")
  }
  var shape = x.shape
  if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
  let out = Tensor(zeros: shape, dtype: isIndex ? .i64 : .f32)
  let src = UnsafePointer(x.pointer(Float.self))
  let columnChunk = 512
  let chunks = (inner + columnChunk - 1) / columnChunk
  pool.parallelFor(outer * chunks) { task in
    let o = task / chunks
    let c0 = (task % chunks) * columnChunk
    let columns = c0..<min(inner, c0 + columnChunk)
    let base = src + o * n * inner
    if isIndex {
      let dst = out.pointer(Int64.self) + o * inner
      for c in columns {
        dst[c] = Int64(argExtreme(base + c, n, stride: inner, largest: reduction == .argmax))
      }
      return
    }
    let dst = out.pointer(Float.self) + o * inner
    if inner == 1 {
      dst[0] = reduceRow(base, n, reduction, correction: correction)
    } else {
      reduceColumns(base, n, inner: inner, columns, dst, reduction, correction: correction)
    }
  }
  return out
}

public func reduceSum(_ x: Tensor, axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
  try reduce(x, .sum, axis: axis, keepDims: keepDims)
}
public func reduceMean(_ x: Tensor, axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
  try reduce(x, .mean, axis: axis, keepDims: keepDims)
}
public func reduceMax(_ x: Tensor, axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
  try reduce(x, .max, axis: axis, keepDims: keepDims)
}
public func reduceMin(_ x: Tensor, axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
  try reduce(x, .min, axis: axis, keepDims: keepDims)
}
public func argmax(_ x: Tensor, axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
  try reduce(x, .argmax, axis: axis, keepDims: keepDims)
}
public func argmin(_ x: Tensor, axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
  try reduce(x, .argmin, axis: axis, keepDims: keepDims)
}
public func variance(_ x: Tensor, axis: Int, correction: Int = 0, keepDims: Bool = false) throws(TensorError)
  -> Tensor
{
  try reduce(x, .variance, axis: axis, keepDims: keepDims, correction: correction)
}

// MARK: - Loops

/// One contiguous row of n values → a scalar.
private func reduceRow(_ x: UnsafePointer<Float>, _ n: Int, _ r: Reduction, correction: Int) -> Float {
  switch r {
  case .sum: return rowSum(x, n)
  case .mean: return rowSum(x, n) / Float(n)
  case .max: return rowMax(x, n)
  case .min:
    var best = Float.infinity
    for i in 0..<n {
      if x[i].isNaN { return .nan }
      if x[i] < best { best = x[i] }
    }
    return best
  case .variance:
    let mean = rowSum(x, n) / Float(n)
    return rowSquaredDeviation(x, n, mean: mean) / Float(n - correction)
  case .argmax, .argmin: preconditionFailure("index reductions go through argExtreme")
  }
}

/// dst[c] = reduction over j of x[j·inner + c], for c in `columns`, vectorized across columns.
private func reduceColumns(
  _ x: UnsafePointer<Float>, _ n: Int, inner: Int, _ columns: Range<Int>,
  _ dst: UnsafeMutablePointer<Float>, _ r: Reduction, correction: Int
) {
  var c = columns.lowerBound
  while c < columns.upperBound {
    let w = min(8, columns.upperBound - c)
    let load = { (j: Int) in w == 8 ? load8(x + j * inner + c) : loadPartial(x + j * inner + c, w) }
    var acc: SIMD8<Float>
    switch r {
    case .sum, .mean, .variance:
      acc = SIMD8()
      for j in 0..<n { acc += load(j) }
      if r != .sum { acc /= Float(n) }
      if r == .variance {
        let mean = acc
        acc = SIMD8()
        for j in 0..<n {
          let d = load(j) - mean
          acc = acc.addingProduct(d, d)
        }
        acc /= Float(n - correction)
      }
    case .max, .min:
      acc = load(0)
      for j in 1..<max(n, 1) {
        let v = load(j)
        acc = acc.replacing(with: v, where: (r == .max ? v .> acc : v .< acc) .| v .!= v)
      }
    case .argmax, .argmin: preconditionFailure("index reductions go through argExtreme")
    }
    if w == 8 { store8(acc, dst + c) } else { storePartial(acc, dst + c, w) }
    c += 8
  }
}

/// Index of the largest (or smallest) of x[0], x[stride], …; the first NaN wins; ties → lowest.
private func argExtreme(_ x: UnsafePointer<Float>, _ n: Int, stride: Int, largest: Bool) -> Int {
  var best = 0
  var value = x[0]
  if value.isNaN { return 0 }
  for j in 1..<max(n, 1) {
    let v = x[j * stride]
    if v.isNaN { return j }
    if largest ? v > value : v < value {
      value = v
      best = j
    }
  }
  return best
}

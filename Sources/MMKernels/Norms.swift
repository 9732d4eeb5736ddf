import MMCore

/// Row normalizations: LayerNorm and RMSNorm. x: [rows, dim] → out: [rows, dim], rows contiguous
/// (row r starts at r·dim). `out` may equal `x`. Statistics are accumulated in eight float lanes
/// with the mean taken first and the variance from the deviations (two passes, no cancellation).
/// Parallel over rows.

/// LayerNorm: out = (x − mean) / √(var + eps) · gamma + beta, with the biased variance
/// (PyTorch `layer_norm`). gamma, beta: [dim] or nil (1 and 0).
public func layerNorm(
  _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
  gamma: UnsafePointer<Float>? = nil, beta: UnsafePointer<Float>? = nil, eps: Float = 1e-5,
  pool: ThreadPool = .shared
) {
  precondition(dim > 0 || rows == 0, "layerNorm: dim must be positive")
  pool.parallelRanges(rows, grain: max(1, 8192 / max(dim, 1))) { range in
    for r in range {
      let row = x + r * dim
      let dst = out + r * dim
      let mean = rowSum(row, dim) / Float(dim)
      let variance = rowSquaredDeviation(row, dim, mean: mean) / Float(dim)
      let inv = 1 / (variance + eps).squareRoot()
      let m = SIMD8<Float>(repeating: mean)
      let s = SIMD8<Float>(repeating: inv)
      var i = 0
      while i < dim {
        let n = min(8, dim - i)
        var v = n == 8 ? load8(row + i) : loadPartial(row + i, n)
        v = (v - m) * s
        if let gamma { v *= n == 8 ? load8(gamma + i) : loadPartial(gamma + i, n) }
        if let beta { v += n == 8 ? load8(beta + i) : loadPartial(beta + i, n) }
        if n == 8 { store8(v, dst + i) } else { storePartial(v, dst + i, n) }
        i += 8
      }
    }
  }
}

/// RMSNorm: out = x / √(mean(x²) + eps) · w (HF `LlamaRMSNorm`), or · (1 + w) when
/// `addUnitOffset` (Gemma's `GemmaRMSNorm`, whose checkpoints store w − 1). weight: [dim] or nil (no scaling,
/// for either variant).
public func rmsNorm(
  _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
  weight: UnsafePointer<Float>?, eps: Float = 1e-6, addUnitOffset: Bool = false,
  pool: ThreadPool = .shared
) {
  precondition(dim > 0 || rows == 0, "rmsNorm: dim must be positive")
  pool.parallelRanges(rows, grain: max(1, 8192 / max(dim, 1))) { range in
    for r in range {
      let row = x + r * dim
      let dst = out + r * dim
      let meanSquare = rowSquaredDeviation(row, dim, mean: 0) / Float(dim)
      let s = SIMD8<Float>(repeating: 1 / (meanSquare + eps).squareRoot())
      let offset: Float = addUnitOffset ? 1 : 0
      var i = 0
      while i < dim {
        let n = min(8, dim - i)
        var v = (n == 8 ? load8(row + i) : loadPartial(row + i, n)) * s
        if let weight { v *= offset + (n == 8 ? load8(weight + i) : loadPartial(weight + i, n)) }
        if n == 8 { store8(v, dst + i) } else { storePartial(v, dst + i, n) }
        i += 8
      }
    }
  }
}

// MARK: - Row statistics

/// Σ x[i], in eight float lanes.
@inline(__always)
func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
  var i = 0
  while i + 16 <= n {
    a0 += load8(x + i)
    a1 += load8(x + i + 8)
    i += 16
  }
  while i + 8 <= n {
    a0 += load8(x + i)
    i += 8
  }
  if i < n { a1 += loadPartial(x + i, n - i) }
  return (a0 + a1).sum()
}

/// Σ (x[i] − mean)², in eight float lanes.
@inline(__always)
func rowSquaredDeviation(_ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> Float {
  let m = SIMD8<Float>(repeating: mean)
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
  var i = 0
  while i + 16 <= n {
    let d0 = load8(x + i) - m
    let d1 = load8(x + i + 8) - m
    a0 = a0.addingProduct(d0, d0)
    a1 = a1.addingProduct(d1, d1)
    i += 16
  }
  while i + 8 <= n {
    let d = load8(x + i) - m
    a0 = a0.addingProduct(d, d)
    i += 8
  }
  if i < n {
    let d = loadPartial(x + i, n - i, fill: mean) - m
    a1 = a1.addingProduct(d, d)
  }
  return (a0 + a1).sum()
}

/// The largest x[i] (NaN if any is NaN), in eight lanes.
@inline(__always)
func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
  var best = SIMD8<Float>(repeating: -.infinity)
  var nan = SIMDMask<SIMD8<Int32>>()
  var i = 0
  while i + 8 <= n {
    let v = load8(x + i)
    best = best.replacing(with: v, where: v .> best)
    nan .|= v .!= v
    i += 8
  }
  if i < n {
    let v = loadPartial(x + i, n - i, fill: -.infinity)
    best = best.replacing(with: v, where: v .> best)
    nan .|= v .!= v
  }
  return any(nan) ? .nan : best.max()
}

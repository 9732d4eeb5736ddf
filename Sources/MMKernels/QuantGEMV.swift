import MMCore

/// y[n] = act(alpha · W[n, k]·x[k] + beta·y + bias) with W in a `QuantFormat` — the decoding
/// matrix-vector product (`y = x·Wᵀ` for a Linear weight), on the blocks directly.
///
/// Rows are independent: blocks of four rows are spread over `pool`, and each row's sum runs
/// over its blocks in a fixed order, so results are bit-identical for any thread count. Block
/// formats widen their quants to f32 in registers (`QuantDot`); F32, F16 and BF16 use `gemv`.
///
/// x: [k] → y: [n], where n = w.rows and k = w.columns.
public func quantizedGEMV(
  _ w: QuantizedMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
  epilogue: GEMMEpilogue = GEMMEpilogue(), pool: ThreadPool = .shared
) {
  let n = w.rows
  let k = w.columns
  if n == 0 { return }
  if let dtype = w.format.dtype {
    precondition(w.rowStride % dtype.byteSize == 0, "quantizedGEMV: row stride not a multiple of \(dtype)")
    let b = MatrixOperand(raw: w.base, dtype: dtype, ld: w.rowStride / dtype.byteSize, transposed: true)
    gemv(n: n, k: k, x: MatrixOperand(x, ld: k), b: b, y: y, epilogue: epilogue, pool: pool)
    return
  }
  switch w.format {
  case .q4_0: quantizedGEMV(DotQ4_0.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .q4_1: quantizedGEMV(DotQ4_1.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .q8_0: quantizedGEMV(DotQ8_0.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .q4_K: quantizedGEMV(DotQ4_K.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .q5_K: quantizedGEMV(DotQ5_K.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .q6_K: quantizedGEMV(DotQ6_K.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .q8_K: quantizedGEMV(DotQ8_K.self, w, x: x, y: y, epilogue: epilogue, pool: pool)
  case .f32, .f16, .bf16: preconditionFailure("plain formats are handled above")
  }
}

private func quantizedGEMV<K: QuantDot>(
  _ kernel: K.Type, _ w: QuantizedMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
  epilogue: GEMMEpilogue, pool: ThreadPool
) {
  let n = w.rows
  let k = w.columns
  let sums = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k / 32))
  defer { sums.deallocate() }
  if K.usesXSums { blockSums32(x, count: k, into: sums) }
  let alpha = epilogue.alpha
  let beta = epilogue.beta
  let blocks = (n + 3) / 4
  pool.parallelRanges(blocks, grain: max(1, 16_384 / max(k, 1))) { range in
    for block in range {
      let j0 = block * 4
      let rows = min(4, n - j0)
      let dots = quantDotRows(K.self, w, first: j0, rows: rows, x: x, xSums: sums)
      for r in 0..<rows {
        y[j0 + r] = alpha * dots[r] + (beta == 0 ? 0 : beta * y[j0 + r])
      }
    }
  }
  if epilogue.bias != nil || epilogue.activation != .identity {
    finishRow(y, count: n, bias: epilogue.bias, epilogue.activation)
  }
}

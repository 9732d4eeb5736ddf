import MMCore

extension MatrixOperand {
  /// The same matrix layout `elements` further on (the next matrix of a batch).
  public func advanced(by elements: Int) -> MatrixOperand {
    MatrixOperand(raw: base + elements * dtype.byteSize, dtype: dtype, ld: ld, transposed: transposed)
  }
}

/// C[i] = act(alpha · op(A[i]) · op(B[i]) + beta·C[i] + bias) for i in 0..<batch, where matrix i of
/// each operand starts `stride` elements after matrix i − 1 (stride 0 shares one matrix, e.g. one
/// weight for every batch item).
///
/// a: [batch][m×k], b: [batch][k×n], c: [batch][m×ldc]. Small products run one per task across the
/// pool; large ones run one after another, each spread over the pool.
public func gemmBatched(
  batch: Int, m: Int, n: Int, k: Int, a: MatrixOperand, strideA: Int, b: MatrixOperand, strideB: Int,
  c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int, epilogue: GEMMEpilogue = GEMMEpilogue(),
  pool: ThreadPool = .shared
) {
  let work = Double(m) * Double(n) * Double(k)
  let runOne = { (i: Int) in
    gemm(
      m: m, n: n, k: k, a: a.advanced(by: i * strideA), b: b.advanced(by: i * strideB),
      c: c + i * strideC, ldc: ldc, epilogue: epilogue, pool: pool)
  }
  if batch >= pool.threadCount && work < 4e6 {
    // Inside a busy pool each inner gemm runs inline on its task's thread.
    pool.parallelFor(batch) { i in runOne(i) }
  } else {
    for i in 0..<batch { runOne(i) }
  }
}

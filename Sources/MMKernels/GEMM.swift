import MMCore

/// C[m×n] = act(alpha · op(A)[m×k] · op(B)[k×n] + beta·C + bias[n])
///
/// A: f32; B: f32, f16 or bf16; C: f32 row-major with leading dimension `ldc`.
/// Multi-threaded over `pool`.
public func gemm(
  m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
  c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue = GEMMEpilogue(),
  pool: ThreadPool = .shared
) {
  // TEMPORARY: replaced by the packed kernel in this session.
  Reference.gemm(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, epilogue: epilogue)
}

/// The register-blocked 6×16 f32 micro-kernel: 12 AVX2 accumulators (6 rows × 2 SIMD8), one
/// broadcast of A and two loads of B per depth step — 24 FMAs per 3 loads.
///
/// a: packed [kc][6], b: packed [kc][16] → acc: [6][16] (returned through `store`).
@inline(__always)
func microKernel6x16(
  kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
  c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
) {
  var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
  var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
  var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
  var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
  var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
  var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
  var pa = a
  var pb = UnsafeRawPointer(b)
  for _ in 0..<kc {
    let b0 = pb.load(as: SIMD8<Float>.self)
    let b1 = pb.load(fromByteOffset: 32, as: SIMD8<Float>.self)
    var x = SIMD8<Float>(repeating: pa[0])
    c00 = c00.addingProduct(x, b0)
    c01 = c01.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: pa[1])
    c10 = c10.addingProduct(x, b0)
    c11 = c11.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: pa[2])
    c20 = c20.addingProduct(x, b0)
    c21 = c21.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: pa[3])
    c30 = c30.addingProduct(x, b0)
    c31 = c31.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: pa[4])
    c40 = c40.addingProduct(x, b0)
    c41 = c41.addingProduct(x, b1)
    x = SIMD8<Float>(repeating: pa[5])
    c50 = c50.addingProduct(x, b0)
    c51 = c51.addingProduct(x, b1)
    pa += 6
    pb += 64
  }
  storeRow(c + 0 * ldc, c00, c01, alpha, beta)
  storeRow(c + 1 * ldc, c10, c11, alpha, beta)
  storeRow(c + 2 * ldc, c20, c21, alpha, beta)
  storeRow(c + 3 * ldc, c30, c31, alpha, beta)
  storeRow(c + 4 * ldc, c40, c41, alpha, beta)
  storeRow(c + 5 * ldc, c50, c51, alpha, beta)
}

/// row[0..<16] = alpha·(lo, hi) + beta·row (beta 0: overwrite, row may hold garbage).
@inline(__always)
private func storeRow(
  _ row: UnsafeMutablePointer<Float>, _ lo: SIMD8<Float>, _ hi: SIMD8<Float>, _ alpha: Float,
  _ beta: Float
) {
  let raw = UnsafeMutableRawPointer(row)
  var outLo = lo * alpha
  var outHi = hi * alpha
  if beta != 0 {
    outLo = outLo.addingProduct(raw.loadUnaligned(as: SIMD8<Float>.self), SIMD8(repeating: beta))
    outHi = outHi.addingProduct(
      raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), SIMD8(repeating: beta))
  }
  raw.storeBytes(of: outLo, as: SIMD8<Float>.self)
  raw.storeBytes(of: outHi, toByteOffset: 32, as: SIMD8<Float>.self)
}

import MMCore

/// Y[m, n] = act(alpha · X[m, k]·Wᵀ + beta·Y + bias[n]) with W[n, k] in a `QuantFormat` — the
/// prompt-processing product of a Linear layer whose weight stays quantized.
///
/// Three ways, chosen by m (`QuantizedGEMMStrategy`; crossovers measured on AVX2):
/// - m < 4: `quantizedGEMV` per row of X (W decoded in registers, nothing written).
/// - m < 32: each W row is dequantized once into an f32 buffer (L1/L2-resident) and dotted
///   with the rows of X four at a time.
/// - m ≥ 32 (prompt processing): X is packed once into the 6-row panels of the f32 GEMM
///   micro-kernel; each task owns a block of W rows (output columns) and, per depth block of
///   256, dequantizes that W slice into cache-resident packed panels (16 columns × 256, the
///   `PackedB` layout) and sweeps every X panel over them with the 6×16 micro-kernel. The
///   dequantization is amortized over all m rows; W is never expanded whole.
///
/// Every Y element is summed by one task in a fixed order: results do not depend on the thread
/// count. F32, F16 and BF16 weights use `gemm`. `activations` applies to the GEMV rows only
/// (`.int8`: 8-bit x and integer dot products, see `QuantizedActivations`).
///
/// x: [m, k] with leading dimension `ldx` → y: [m, n] with leading dimension `ldy`.
public func quantizedGEMM(
  m: Int, x: UnsafePointer<Float>, ldx: Int, w: QuantizedMatrix, y: UnsafeMutablePointer<Float>, ldy: Int,
  epilogue: GEMMEpilogue = GEMMEpilogue(), strategy: QuantizedGEMMStrategy = .automatic,
  activations: QuantizedActivations = .float32, pool: ThreadPool = .shared
) {
  precondition(m >= 0, "quantizedGEMM: negative m")
  let n = w.rows
  let k = w.columns
  if m == 0 || n == 0 { return }
  if let dtype = w.format.dtype {
    precondition(w.rowStride % dtype.byteSize == 0, "quantizedGEMM: row stride not a multiple of \(dtype)")
    let b = MatrixOperand(raw: w.base, dtype: dtype, ld: w.rowStride / dtype.byteSize, transposed: true)
    gemm(m: m, n: n, k: k, a: MatrixOperand(x, ld: ldx), b: b, c: y, ldc: ldy, epilogue: epilogue, pool: pool)
    return
  }
  if k == 0 {
    for i in 0..<m {
      let row = y + i * ldy
      for j in 0..<n { row[j] = epilogue.beta == 0 ? 0 : epilogue.beta * row[j] }
      finishRow(row, count: n, bias: epilogue.bias, epilogue.activation)
    }
    return
  }
  switch strategy == .automatic ? QuantizedGEMMStrategy.choice(m: m) : strategy {
  case .vectorPerRow, .automatic:
    for i in 0..<m {
      quantizedGEMV(
        w, x: x + i * ldx, y: y + i * ldy, epilogue: epilogue, activations: activations, pool: pool)
    }
  case .dequantizedRows:
    rowwiseGEMM(m: m, x: x, ldx: ldx, w: w, y: y, ldy: ldy, epilogue: epilogue, pool: pool)
  case .dequantizedPanels:
    dequantizingGEMM(m: m, x: x, ldx: ldx, w: w, y: y, ldy: ldy, epilogue: epilogue, pool: pool)
  }
}

/// How `quantizedGEMM` computes a block format. All are deterministic and agree within f32
/// rounding; they differ in speed (Documentation/Kernels.md has the measurements).
public enum QuantizedGEMMStrategy: Sendable, CaseIterable {
  /// `.vectorPerRow` for m < 4, `.dequantizedRows` for m < 32, else `.dequantizedPanels`
  /// (the measured crossovers on AVX2).
  case automatic
  /// One `quantizedGEMV` per row of X: W is decoded in registers again for every row.
  case vectorPerRow
  /// Each W row dequantized once into an f32 buffer and dotted with every row of X.
  case dequantizedRows
  /// W dequantized in 16 × 256 panels for the f32 GEMM micro-kernel (6×16 tiles).
  case dequantizedPanels

  /// The strategy `.automatic` uses for m rows of X.
  public static func choice(m: Int) -> QuantizedGEMMStrategy {
    m < 4 ? .vectorPerRow : m < 32 ? .dequantizedRows : .dequantizedPanels
  }
}

/// `.dequantizedRows`: each task takes a range of W rows; each W row is
/// dequantized once into an f32 buffer (L1/L2-resident) and dotted with the rows of X four
/// at a time (SIMD8 FMAs, the row's loads shared by the four). Every Y element is one dot
/// product in a fixed order.
private func rowwiseGEMM(
  m: Int, x: UnsafePointer<Float>, ldx: Int, w: QuantizedMatrix, y: UnsafeMutablePointer<Float>, ldy: Int,
  epilogue: GEMMEpilogue, pool: ThreadPool
) {
  let n = w.rows
  let k = w.columns
  let (alpha, beta) = (epilogue.alpha, epilogue.beta)
  pool.parallelRanges(n, grain: max(1, 32_768 / max(k * m, 1))) { range in
    let row = UnsafeMutablePointer<Float>.allocate(capacity: k)
    defer { row.deallocate() }
    for j in range {
      dequantizeRow(w.format, w.row(j), count: k, into: row)
      var i = 0
      while i < m {
        let rows = min(4, m - i)
        let dots = dotRows(row, x: x + i * ldx, ldx: ldx, rows: rows, k: k)
        for r in 0..<rows {
          let out = y + (i + r) * ldy + j
          out.pointee = alpha * dots[r] + (beta == 0 ? 0 : beta * out.pointee)
        }
        i += 4
      }
    }
  }
  if epilogue.bias != nil || epilogue.activation != .identity {
    for i in 0..<m { finishRow(y + i * ldy, count: n, bias: epilogue.bias, epilogue.activation) }
  }
}

/// dots[r] = Σ_p w[p]·x[r·ldx + p] for r < rows (≤ 4; missing rows repeat the last).
@inline(__always)
private func dotRows(
  _ w: UnsafePointer<Float>, x: UnsafePointer<Float>, ldx: Int, rows: Int, k: Int
) -> SIMD4<Float> {
  let x0 = UnsafeRawPointer(x)
  let x1 = UnsafeRawPointer(x + min(1, rows - 1) * ldx)
  let x2 = UnsafeRawPointer(x + min(2, rows - 1) * ldx)
  let x3 = UnsafeRawPointer(x + min(3, rows - 1) * ldx)
  let wr = UnsafeRawPointer(w)
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var p = 0
  while p + 8 <= k {
    let v = wr.loadUnaligned(fromByteOffset: 4 * p, as: SIMD8<Float>.self)
    a0 = a0.addingProduct(v, x0.loadUnaligned(fromByteOffset: 4 * p, as: SIMD8<Float>.self))
    a1 = a1.addingProduct(v, x1.loadUnaligned(fromByteOffset: 4 * p, as: SIMD8<Float>.self))
    a2 = a2.addingProduct(v, x2.loadUnaligned(fromByteOffset: 4 * p, as: SIMD8<Float>.self))
    a3 = a3.addingProduct(v, x3.loadUnaligned(fromByteOffset: 4 * p, as: SIMD8<Float>.self))
    p += 8
  }
  // k is a whole number of blocks (≥ 32 elements each for block formats), so nothing is left.
  return SIMD4(a0.sum(), a1.sum(), a2.sum(), a3.sum())
}

/// `.dequantizedPanels` (k > 0).
private func dequantizingGEMM(
  m: Int, x: UnsafePointer<Float>, ldx: Int, w: QuantizedMatrix, y: UnsafeMutablePointer<Float>, ldy: Int,
  epilogue: GEMMEpilogue, pool: ThreadPool
) {
  let n = w.rows
  let k = w.columns
  let (mr, nr) = (GEMMTile.mr, GEMMTile.nr)
  // 256 is a whole number of blocks of every format and the micro-kernel's usual depth.
  let kcMax = 256
  let rowPanels = (m + mr - 1) / mr
  let depthBlocks = (k + kcMax - 1) / kcMax
  let a = MatrixOperand(x, ld: ldx)
  // packedA[depth block][row panel] = [kc][mr], as in gemmStreamingB.
  let packedA = UnsafeMutablePointer<Float>.allocate(capacity: rowPanels * mr * k)
  defer { packedA.deallocate() }
  pool.parallelFor(depthBlocks * rowPanels) { task in
    let depth = (task / rowPanels) * kcMax
    let panel = task % rowPanels
    let kc = min(kcMax, k - depth)
    packABlock(
      a, m: m, row: panel * mr, mc: min(mr, m - panel * mr), depth: depth, kc: kc,
      into: packedA + depth * rowPanels * mr + panel * kc * mr)
  }
  // Column blocks of up to 128 W rows, narrower until every thread has about four (X is packed
  // once and shared, so a narrower block only costs a task).
  var nc = 128
  while nc > nr && (n + nc - 1) / nc < 4 * pool.threadCount { nc /= 2 }
  let columnBlocks = (n + nc - 1) / nc
  let panelsPerRowBlock = GEMMTile.mcMax / mr
  let format = w.format
  pool.parallelFor(columnBlocks) { block in
    let column0 = block * nc
    let width = min(nc, n - column0)
    let panels = (width + nr - 1) / nr
    let bBlock = UnsafeMutablePointer<Float>.allocate(capacity: panels * kcMax * nr)
    defer { bBlock.deallocate() }
    // One panel's rows, dequantized contiguously (16 × 256 floats: L1-resident), then
    // transposed into the packed panel with sequential stores.
    let rows = UnsafeMutablePointer<Float>.allocate(capacity: nr * kcMax)
    defer { rows.deallocate() }
    let edge = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr)
    defer { edge.deallocate() }
    for d in 0..<depthBlocks {
      let depth = d * kcMax
      let kc = min(kcMax, k - depth)
      let byteOffset = format.rowByteCount(depth)
      for q in 0..<panels {
        for j in 0..<nr {
          let column = q * nr + j
          if column < width {
            dequantizeRow(format, w.row(column0 + column) + byteOffset, count: kc, into: rows + j * kc)
          } else {
            (rows + j * kc).initialize(repeating: 0, count: kc)
          }
        }
        let out = bBlock + q * kc * nr
        for p in stride(from: 0, to: kc, by: 8) {
          transpose8x8(rows + p, kc, into: out + p * nr, nr)
          transpose8x8(rows + 8 * kc + p, kc, into: out + p * nr + 8, nr)
        }
      }
      let beta: Float = d == 0 ? epilogue.beta : 1
      let aBlock = packedA + depth * rowPanels * mr
      for firstPanel in stride(from: 0, to: rowPanels, by: panelsPerRowBlock) {
        for q in 0..<panels {
          for panel in firstPanel..<min(rowPanels, firstPanel + panelsPerRowBlock) {
            let r0 = panel * mr
            let column = column0 + q * nr
            quantRunTile(
              kc: kc, a: aBlock + panel * kc * mr, b: bBlock + q * kc * nr, c: y + r0 * ldy + column,
              ldc: ldy,
              height: min(mr, m - r0), width: min(nr, n - column), alpha: epilogue.alpha, beta: beta,
              scratch: edge)
          }
        }
      }
    }
    if epilogue.bias != nil || epilogue.activation != .identity {
      for r in 0..<m {
        finishRow(
          y + r * ldy + column0, count: width, bias: epilogue.bias.map { $0 + column0 }, epilogue.activation)
      }
    }
  }
}

/// One micro-kernel call on the Y tile [height ≤ 6][width ≤ 16]; edge tiles go through
/// `scratch` so nothing past the matrix is touched.
@inline(__always)
private func quantRunTile(
  kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
  height: Int, width: Int, alpha: Float, beta: Float, scratch: UnsafeMutablePointer<Float>
) {
  let (mr, nr) = (GEMMTile.mr, GEMMTile.nr)
  if height == mr && width == nr {
    microKernel6x16(kc: kc, a: a, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta)
    return
  }
  for r in 0..<height {
    for j in 0..<width { scratch[r * nr + j] = c[r * ldc + j] }
  }
  microKernel6x16(kc: kc, a: a, b: b, c: scratch, ldc: nr, alpha: alpha, beta: beta)
  for r in 0..<height {
    for j in 0..<width { c[r * ldc + j] = scratch[r * nr + j] }
  }
}

/// dst[c·ldd + r] = src[r·lds + c] for an 8×8 block: three perfect unshuffles of the eight rows
/// (each rotates the 6-bit element index right by one bit; three of them swap row and column),
/// which LLVM lowers to 24 vshufps + 24 vpermpd.
@inline(__always)
private func transpose8x8(
  _ src: UnsafePointer<Float>, _ lds: Int, into dst: UnsafeMutablePointer<Float>, _ ldd: Int
) {
  @inline(__always) func row(_ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(src + i * lds).loadUnaligned(as: SIMD8<Float>.self)
  }
  @inline(__always) func even(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    SIMD8(a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6])
  }
  @inline(__always) func odd(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    SIMD8(a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7])
  }
  var (v0, v1, v2, v3) = (row(0), row(1), row(2), row(3))
  var (v4, v5, v6, v7) = (row(4), row(5), row(6), row(7))
  for _ in 0..<3 {
    (v0, v1, v2, v3, v4, v5, v6, v7) = (
      even(v0, v1), even(v2, v3), even(v4, v5), even(v6, v7), odd(v0, v1), odd(v2, v3), odd(v4, v5),
      odd(v6, v7)
    )
  }
  @inline(__always) func store(_ v: SIMD8<Float>, _ i: Int) {
    UnsafeMutableRawPointer(dst + i * ldd).storeBytes(of: v, as: SIMD8<Float>.self)
  }
  store(v0, 0)
  store(v1, 1)
  store(v2, 2)
  store(v3, 3)
  store(v4, 4)
  store(v5, 5)
  store(v6, 6)
  store(v7, 7)
}

import MMCore

/// C[m×n] = act(alpha · op(A)[m×k] · op(B)[k×n] + beta·C + bias[n])
///
/// A: f32; B: f32, f16 or bf16 (widened while packing); C: f32 row-major, leading dimension
/// `ldc`. m == 1 goes to `gemv`. Otherwise B is packed once into 16-column panels, and tasks of
/// (a block of rows) × (a range of panels) run on `pool`; each task packs its rows of A in
/// `GEMMTile.kc`-deep blocks and runs the 6×16 micro-kernel. Every C element is written by one
/// task with a fixed summation order, so results do not depend on the thread count.
public func gemm(
  m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
  c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue = GEMMEpilogue(),
  pool: ThreadPool = .shared
) {
  precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
  precondition(a.dtype == .f32, "gemm: A must be f32")
  if m == 0 || n == 0 { return }
  if k == 0 {
    scaleRows(m: m, n: n, c: c, ldc: ldc, epilogue: epilogue)
    return
  }
  if m == 1 {
    gemv(n: n, k: k, x: a, b: b, y: c, epilogue: epilogue, pool: pool)
    return
  }
  if n >= 2 * GEMMTile.ncStream * pool.threadCount {
    gemmStreamingB(m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, epilogue: epilogue, pool: pool)
  } else {
    let packed = PackedB(k: k, n: n, b: b, pool: pool)
    gemm(m: m, a: a, packedB: packed, c: c, ldc: ldc, epilogue: epilogue, pool: pool)
  }
}

/// The GEMM for a B that is used once (wide enough to split by columns): A is packed whole up
/// front; each task owns a block of `ncStream` columns and, per depth block, packs that slice of
/// B into an L2-resident buffer and sweeps every row panel of A over it. B is read from memory
/// exactly once and never written back out.
func gemmStreamingB(
  m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand, c: UnsafeMutablePointer<Float>,
  ldc: Int, epilogue: GEMMEpilogue, pool: ThreadPool
) {
  let (mr, nr, kcMax, nc) = (GEMMTile.mr, GEMMTile.nr, GEMMTile.kc, GEMMTile.ncStream)
  let rowPanels = (m + mr - 1) / mr
  let depthBlocks = (k + kcMax - 1) / kcMax
  let packedA = packAWhole(a, m: m, k: k, pool: pool)
  defer { packedA.deallocate() }
  let columnBlocks = (n + nc - 1) / nc
  let panelsPerRowBlock = GEMMTile.mcMax / mr
  pool.parallelFor(columnBlocks) { block in
    let column0 = block * nc
    let width = min(nc, n - column0)
    let panels = (width + nr - 1) / nr
    let bBlock = UnsafeMutablePointer<Float>.allocate(capacity: panels * kcMax * nr)
    defer { bBlock.deallocate() }
    let edge = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr)
    defer { edge.deallocate() }
    for d in 0..<depthBlocks {
      let depth = d * kcMax
      let kc = min(kcMax, k - depth)
      packBSlice(b, depth: depth, kc: kc, column: column0, width: width, into: bBlock)
      let beta: Float = d == 0 ? epilogue.beta : 1
      let aBlock = packedA + depth * rowPanels * mr
      // Row blocks keep their A panels in L2 while each B micro-panel is reused from L1.
      for firstPanel in stride(from: 0, to: rowPanels, by: panelsPerRowBlock) {
        for q in 0..<panels {
          for panel in firstPanel..<min(rowPanels, firstPanel + panelsPerRowBlock) {
            let row = panel * mr
            let height = min(mr, m - row)
            let aPanel = aBlock + panel * kc * mr
            let column = column0 + q * nr
            let cols = min(nr, n - column)
            let cTile = c + row * ldc + column
            let bPanel = bBlock + q * kc * nr
            runTile(
              kc: kc, a: aPanel, b: bPanel, c: cTile, ldc: ldc, height: height, width: cols,
              alpha: epilogue.alpha, beta: beta, scratch: edge)
          }
        }
      }
    }
    if epilogue.bias != nil || epilogue.activation != .identity {
      for r in 0..<m {
        finishRow(
          c + r * ldc + column0, count: width, bias: epilogue.bias.map { $0 + column0 }, epilogue.activation)
      }
    }
  }
}

/// All of A packed once, in parallel: packedA[depth block][row panel] = [kc][mr], block d
/// starting at d·kcMax·rowPanels·mr — so the rows [row, row + mc) of a depth block (row a
/// multiple of mr) are one contiguous run of panels. For GEMMs whose tasks split the columns:
/// each would otherwise pack the same rows again.
func packAWhole(_ a: MatrixOperand, m: Int, k: Int, pool: ThreadPool) -> UnsafeMutablePointer<Float> {
  let (mr, kcMax) = (GEMMTile.mr, GEMMTile.kc)
  let rowPanels = (m + mr - 1) / mr
  let packedA = UnsafeMutablePointer<Float>.allocate(capacity: rowPanels * mr * k)
  pool.parallelFor(((k + kcMax - 1) / kcMax) * rowPanels) { task in
    let (depth, panel) = ((task / rowPanels) * kcMax, task % rowPanels)
    let kc = min(kcMax, k - depth)
    packABlock(
      a, m: m, row: panel * mr, mc: min(mr, m - panel * mr), depth: depth, kc: kc,
      into: packedA + depth * rowPanels * mr + panel * kc * mr)
  }
  return packedA
}

/// C[m×n] = act(alpha · op(A)[m×k] · B + beta·C + bias) with B packed beforehand (weights that
/// are used many times are packed once).
public func gemm(
  m: Int, a: MatrixOperand, packedB: PackedB, c: UnsafeMutablePointer<Float>, ldc: Int,
  epilogue: GEMMEpilogue = GEMMEpilogue(), pool: ThreadPool = .shared
) {
  let n = packedB.n
  let k = packedB.k
  let (mr, nr, kcMax) = (GEMMTile.mr, GEMMTile.nr, GEMMTile.kc)
  // Row blocks of near-equal size (a multiple of mr), column ranges sized for ≥ 4 tasks/thread.
  let rowBlocks = (m + GEMMTile.mcMax - 1) / GEMMTile.mcMax
  let mc = ((m + rowBlocks - 1) / rowBlocks + mr - 1) / mr * mr
  let rowBlockCount = (m + mc - 1) / mc
  let panels = packedB.panelCount
  // Split columns only as far as the threads need work: each column task repacks its A rows.
  let wanted = max(1, (pool.threadCount * 3 + rowBlockCount - 1) / rowBlockCount)
  let panelsPerTask = pool.threadCount == 1 ? panels : max(4, (panels + wanted - 1) / wanted)
  let columnTasks = (panels + panelsPerTask - 1) / panelsPerTask
  // Several column tasks read the same rows: pack A once for all of them.
  let sharedA = columnTasks > 1 ? packAWhole(a, m: m, k: k, pool: pool) : nil
  defer { sharedA?.deallocate() }
  let rowPanels = (m + mr - 1) / mr

  pool.parallelFor(rowBlockCount * columnTasks) { task in
    let row = (task / columnTasks) * mc
    let rows = min(mc, m - row)
    let firstPanel = (task % columnTasks) * panelsPerTask
    let lastPanel = min(panels, firstPanel + panelsPerTask)
    let ownA = sharedA == nil ? UnsafeMutablePointer<Float>.allocate(capacity: mc * kcMax) : nil
    defer { ownA?.deallocate() }
    let edge = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr)
    defer { edge.deallocate() }
    var depth = 0
    while depth < k {
      let kc = min(kcMax, k - depth)
      let aBlock: UnsafeMutablePointer<Float>
      if let sharedA {
        aBlock = sharedA + depth * rowPanels * mr + (row / mr) * kc * mr
      } else {
        aBlock = ownA!
        packABlock(a, m: m, row: row, mc: rows, depth: depth, kc: kc, into: aBlock)
      }
      let beta: Float = depth == 0 ? epilogue.beta : 1
      for panel in firstPanel..<lastPanel {
        let column = panel * nr
        let width = min(nr, n - column)
        let bPanel = packedB.panel(panel, depth: depth)
        var i = 0
        while i < rows {
          let height = min(mr, rows - i)
          let cTile = c + (row + i) * ldc + column
          let aPanel = aBlock + i * kc
          runTile(
            kc: kc, a: aPanel, b: bPanel, c: cTile, ldc: ldc, height: height, width: width,
            alpha: epilogue.alpha, beta: beta, scratch: edge)
          i += mr
        }
      }
      depth += kc
    }
    if epilogue.bias != nil || epilogue.activation != .identity {
      let first = firstPanel * nr
      let count = min(n, lastPanel * nr) - first
      for r in row..<row + rows {
        finishRow(
          c + r * ldc + first, count: count, bias: epilogue.bias.map { $0 + first }, epilogue.activation)
      }
    }
  }
}

/// row[j] = act(row[j] + bias[j]) for j < count.
@inline(__always)
func finishRow(
  _ row: UnsafeMutablePointer<Float>, count: Int, bias: UnsafePointer<Float>?, _ activation: Activation
) {
  if let bias {
    for j in 0..<count { row[j] += bias[j] }
  }
  if activation != .identity { applyActivation(activation, row, count: count) }
}

/// k == 0: C = act(beta·C + bias).
private func scaleRows(
  m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue
) {
  for i in 0..<m {
    let row = c + i * ldc
    for j in 0..<n { row[j] = epilogue.beta == 0 ? 0 : epilogue.beta * row[j] }
    finishRow(row, count: n, bias: epilogue.bias, epilogue.activation)
  }
}

/// One micro-kernel call on C tile [height ≤ 6][width ≤ 16]; edge tiles go through `scratch`
/// (6×16) so the kernel never reads or writes past the matrix.
@inline(__always)
private func runTile(
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

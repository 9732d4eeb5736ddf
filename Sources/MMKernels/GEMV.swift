import MMCore

/// y[n] = act(alpha · x[k] · op(B)[k×n] + beta·y + bias) — the m == 1 GEMM, memory-bound.
///
/// B untransposed ([k][ld], e.g. numpy `x @ B`): columns are split in blocks of 64 across threads,
/// each block accumulates k rows in 8 SIMD registers. B transposed ([n][ld], a Linear weight
/// `W[out, in]`): each output is a dot product of a contiguous row with x, four rows at a time.
/// f16 and bf16 B are widened in registers, never copied.
public func gemv(
  n: Int, k: Int, x: MatrixOperand, b: MatrixOperand, y: UnsafeMutablePointer<Float>,
  epilogue: GEMMEpilogue = GEMMEpilogue(), pool: ThreadPool = .shared
) {
  precondition(x.dtype == .f32, "gemv: x must be f32")
  // x is row 0 of A: contiguous unless A is transposed with ld > 1.
  let xs = UnsafeMutablePointer<Float>.allocate(capacity: max(k, 1))
  defer { xs.deallocate() }
  for p in 0..<k { xs[p] = x.element(0, p) }
  switch b.dtype {
  case .f16: gemv(LoadF16.self, n: n, k: k, x: xs, b: b, y: y, epilogue: epilogue, pool: pool)
  case .bf16: gemv(LoadBF16.self, n: n, k: k, x: xs, b: b, y: y, epilogue: epilogue, pool: pool)
  default: gemv(LoadF32.self, n: n, k: k, x: xs, b: b, y: y, epilogue: epilogue, pool: pool)
  }
}

private func gemv<L: WideningLoad>(
  _ loader: L.Type, n: Int, k: Int, x xs: UnsafePointer<Float>, b: MatrixOperand,
  y: UnsafeMutablePointer<Float>, epilogue: GEMMEpilogue, pool: ThreadPool
) {
  let alpha = epilogue.alpha
  let beta = epilogue.beta
  if b.transposed {
    let blocks = (n + 3) / 4
    pool.parallelRanges(blocks, grain: max(1, 16_384 / max(k, 1))) { range in
      for block in range {
        let j0 = block * 4
        let rows = min(4, n - j0)
        var sums = SIMD4<Float>()
        dotRows(loader, b, rows: rows, first: j0, k: k, x: xs, into: &sums)
        for r in 0..<rows {
          y[j0 + r] = alpha * sums[r] + (beta == 0 ? 0 : beta * y[j0 + r])
        }
      }
    }
  } else {
    // Rows of B are contiguous: fixed chunks of rows (independent of the thread count, so the
    // summation order is too) accumulate into partial rows, then the partials are summed in order.
    let rowsPerChunk = 256
    let columnsPerBlock = n <= 8192 ? n : 4096  // whole rows: one sequential stream through B
    let chunks = (k + rowsPerChunk - 1) / rowsPerChunk
    let blocks = (n + columnsPerBlock - 1) / columnsPerBlock
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * n)
    defer { partial.deallocate() }
    pool.parallelFor(chunks * blocks) { task in
      let chunk = task / blocks
      let j0 = (task % blocks) * columnsPerBlock
      let p0 = chunk * rowsPerChunk
      accumulateRows(
        loader, b, rows: p0..<min(k, p0 + rowsPerChunk), columns: j0..<min(n, j0 + columnsPerBlock), x: xs,
        into: partial + chunk * n)
    }
    pool.parallelRanges(n, grain: 1024) { range in
      for j in range {
        var sum: Float = 0
        for chunk in 0..<chunks { sum += partial[chunk * n + j] }
        y[j] = alpha * sum + (beta == 0 ? 0 : beta * y[j])
      }
    }
  }
  if epilogue.bias != nil || epilogue.activation != .identity {
    finishRow(y, count: n, bias: epilogue.bias, epilogue.activation)
  }
}

/// Loads 8 consecutive B elements as f32; one conforming type per B dtype, so the dtype is
/// decided once per call and the inner loops are specialized.
protocol WideningLoad {
  static func load8(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float>
}

enum LoadF32: WideningLoad {
  @inline(__always) static func load8(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
    base.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
  }
}

enum LoadF16: WideningLoad {
  @inline(__always) static func load8(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
    SIMD8<Float>(base.loadUnaligned(fromByteOffset: index * 2, as: SIMD8<Float16>.self))
  }
}

enum LoadBF16: WideningLoad {
  @inline(__always) static func load8(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
    let bits = SIMD8<UInt32>(
      truncatingIfNeeded: base.loadUnaligned(fromByteOffset: index * 2, as: SIMD8<UInt16>.self))
    return unsafeBitCast(bits &<< 16, to: SIMD8<Float>.self)
  }
}

/// sums[r] = Σ_p B[first + r][p] · x[p] for r < rows (B transposed: rows are contiguous).
@inline(__always)
func dotRows<L: WideningLoad>(
  _ loader: L.Type,
  _ b: MatrixOperand, rows: Int, first: Int, k: Int, x: UnsafePointer<Float>, into sums: inout SIMD4<Float>
) {
  let dtype = b.dtype
  let size = dtype.byteSize
  let xr = UnsafeRawPointer(x)
  var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
  let r0 = b.base + (first + 0) * b.ld * size
  let r1 = b.base + (first + min(1, rows - 1)) * b.ld * size
  let r2 = b.base + (first + min(2, rows - 1)) * b.ld * size
  let r3 = b.base + (first + min(3, rows - 1)) * b.ld * size
  var p = 0
  while p + 8 <= k {
    let xv = xr.loadUnaligned(fromByteOffset: p * 4, as: SIMD8<Float>.self)
    acc0 = acc0.addingProduct(L.load8(r0, p), xv)
    acc1 = acc1.addingProduct(L.load8(r1, p), xv)
    acc2 = acc2.addingProduct(L.load8(r2, p), xv)
    acc3 = acc3.addingProduct(L.load8(r3, p), xv)
    p += 8
  }
  var result = SIMD4<Float>(acc0.sum(), acc1.sum(), acc2.sum(), acc3.sum())
  while p < k {
    for r in 0..<min(rows, 4) { result[r] += b.element(p, first + r) * x[p] }
    p += 1
  }
  sums = result
}

/// out[columns] = Σ_{p ∈ rows} x[p] · B[p][columns], four rows per pass over `out`.
@inline(__always)
private func accumulateRows<L: WideningLoad>(
  _ loader: L.Type,
  _ b: MatrixOperand, rows: Range<Int>, columns: Range<Int>, x: UnsafePointer<Float>,
  into out: UnsafeMutablePointer<Float>
) {
  let dtype = b.dtype
  let size = dtype.byteSize
  let rowBytes = b.ld * size
  let vectorEnd = columns.lowerBound + (columns.count / 8) * 8
  for j in columns { out[j] = 0 }
  let o = UnsafeMutableRawPointer(out)
  var p = rows.lowerBound
  while p + 4 <= rows.upperBound {
    let r0 = b.base + p * rowBytes
    let (r1, r2, r3) = (r0 + rowBytes, r0 + 2 * rowBytes, r0 + 3 * rowBytes)
    let x0 = SIMD8<Float>(repeating: x[p]), x1 = SIMD8<Float>(repeating: x[p + 1])
    let x2 = SIMD8<Float>(repeating: x[p + 2]), x3 = SIMD8<Float>(repeating: x[p + 3])
    var j = columns.lowerBound
    while j < vectorEnd {
      var acc = o.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      acc = acc.addingProduct(L.load8(r0, j), x0)
      acc = acc.addingProduct(L.load8(r1, j), x1)
      acc = acc.addingProduct(L.load8(r2, j), x2)
      acc = acc.addingProduct(L.load8(r3, j), x3)
      o.storeBytes(of: acc, toByteOffset: j * 4, as: SIMD8<Float>.self)
      j += 8
    }
    for j in vectorEnd..<columns.upperBound {
      for q in 0..<4 { out[j] += x[p + q] * b.element(p + q, j) }
    }
    p += 4
  }
  while p < rows.upperBound {
    let r0 = b.base + p * rowBytes
    let x0 = SIMD8<Float>(repeating: x[p])
    var j = columns.lowerBound
    while j < vectorEnd {
      let acc = o.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
      o.storeBytes(of: acc.addingProduct(L.load8(r0, j), x0), toByteOffset: j * 4, as: SIMD8<Float>.self)
      j += 8
    }
    for j in vectorEnd..<columns.upperBound { out[j] += x[p] * b.element(p, j) }
    p += 1
  }
}

import MMCore

// Not re-exported: clients of MMKernels (out-of-tree plugins) never need the C module.
@_implementationOnly import CKernels

/// How a decoding GEMV on a block-format weight treats its activation vector x.
public enum QuantizedActivations: Sendable, Equatable, CaseIterable {
  /// x stays f32 and the weight's quants are widened to f32 in registers (`QuantDot`): exact up
  /// to f32 rounding of the sums.
  case float32
  /// llama.cpp's way: x is quantized once per call to 8 bits per block of 32 (d = max|x|/127,
  /// f32) and each weight block is an exact integer dot product (the AVX2 byte multiply-adds of
  /// `CKernels`), scaled once. Q4_0, Q4_1 and Q8_0 weights; other formats compute as
  /// `.float32`. Each output moves by at most 0.5·d_b·Σ_{i∈b}|w_i| per block b of x (the
  /// rounding of x to d_b·q), i.e. ≤ Σ_b max|x_b| / 254 · Σ_{i∈b} |w_i|.
  case int8

  /// Whether `format` has integer kernels (else `.int8` computes it as `.float32`).
  public static func hasIntegerKernel(_ format: QuantFormat) -> Bool {
    format == .q4_0 || format == .q4_1 || format == .q8_0
  }
}

/// One product of a fused `quantizedGEMVs` call: y[n] = act(alpha · W·x + beta·y + bias).
public struct QuantizedGEMVProduct: @unchecked Sendable {
  public var weight: QuantizedMatrix
  public var y: UnsafeMutablePointer<Float>
  public var epilogue: GEMMEpilogue

  public init(
    _ weight: QuantizedMatrix, y: UnsafeMutablePointer<Float>, epilogue: GEMMEpilogue = GEMMEpilogue()
  ) {
    self.weight = weight
    self.y = y
    self.epilogue = epilogue
  }
}

/// y[n] = act(alpha · W[n, k]·x[k] + beta·y + bias) with W in a `QuantFormat` — the decoding
/// matrix-vector product (`y = x·Wᵀ` for a Linear weight), on the blocks directly.
///
/// Rows are independent: each output is summed by one task in a fixed order, so results are
/// bit-identical for any thread count. Block formats widen their quants to f32 in registers
/// (`QuantDot`), or with `activations: .int8` use integer dot products; F32, F16 and BF16 are
/// widened to f32 (as `gemv`).
///
/// x: [k] → y: [n], where n = w.rows and k = w.columns.
public func quantizedGEMV(
  _ w: QuantizedMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
  epilogue: GEMMEpilogue = GEMMEpilogue(), activations: QuantizedActivations = .float32,
  pool: ThreadPool = .shared
) {
  quantizedGEMVs(
    [QuantizedGEMVProduct(w, y: y, epilogue: epilogue)], x: x, activations: activations, pool: pool)
}

/// Several GEMVs of one x (a layer's q/k/v projections) in one parallel call: x is prepared
/// once (its per-32 sums, or its 8-bit quantization) and the rows of all products are split
/// into tasks together, so the threads meet once instead of once per product. Each product may
/// have its own format; every W must have x's k columns. Each output is computed exactly as
/// `quantizedGEMV` computes it.
public func quantizedGEMVs(
  _ products: [QuantizedGEMVProduct], x: UnsafePointer<Float>, activations: QuantizedActivations = .float32,
  pool: ThreadPool = .shared
) {
  guard let k = products.first?.weight.columns else { return }
  precondition(products.allSatisfy { $0.weight.columns == k }, "quantizedGEMVs: every W needs \(k) columns")
  let prepared = PreparedActivation(
    x: x, k: k, formats: products.map(\.weight.format), activations: activations)
  defer { prepared.deallocate() }
  let tasks = gemvTasks(products.map(\.weight), pool: pool)
  pool.parallelFor(tasks.count) { t in
    let task = tasks[t]
    let p = products[task.product]
    let count = task.rows.count
    withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { dots in
      rowDots(p.weight, rows: task.rows, x: prepared, into: dots.baseAddress!)
      finish(
        p.y + task.rows.lowerBound, dots: dots.baseAddress!, count: count, p.epilogue,
        offset: task.rows.lowerBound)
    }
  }
}

/// out[n] = act(gate·x) ⊙ (up·x) — a gated MLP's two input projections and its activation
/// (LLaMA's SwiGLU with `.silu`) in one parallel call: each task computes the same rows of both
/// products and multiplies them, so neither product is written out. gate, up: [n, k]; x: [k].
public func quantizedGatedGEMV(
  gate: QuantizedMatrix, up: QuantizedMatrix, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
  activation: Activation = .silu, activations: QuantizedActivations = .float32, pool: ThreadPool = .shared
) {
  precondition(
    gate.rows == up.rows && gate.columns == up.columns, "quantizedGatedGEMV: gate and up shapes differ")
  let k = gate.columns
  let prepared = PreparedActivation(x: x, k: k, formats: [gate.format, up.format], activations: activations)
  defer { prepared.deallocate() }
  // Tasks as for one matrix holding both: rows of gate and up together.
  let tasks = gemvTasks([gate], bytesPerRow: gate.rowStride + up.rowStride, pool: pool)
  pool.parallelFor(tasks.count) { t in
    let rows = tasks[t].rows
    let n = rows.count
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { buffer in
      let g = buffer.baseAddress!
      let u = g + n
      rowDots(gate, rows: rows, x: prepared, into: g)
      rowDots(up, rows: rows, x: prepared, into: u)
      let o = out + rows.lowerBound
      var i = 0
      while i + 8 <= n {
        store8(activation.apply(load8(g + i)) * load8(u + i), o + i)
        i += 8
      }
      if i < n {
        storePartial(activation.apply(loadPartial(g + i, n - i)) * loadPartial(u + i, n - i), o + i, n - i)
      }
    }
  }
}

// MARK: - Work split

/// A contiguous range of one product's rows.
struct GEMVTask {
  let product: Int
  let rows: Range<Int>
}

/// Tasks over the rows of `matrices`: about four per thread over all of them (a busy core
/// takes fewer), each at least 32 KB of weights and a multiple of 4 rows. The split never
/// changes a result (rows are independent).
func gemvTasks(_ matrices: [QuantizedMatrix], bytesPerRow: Int? = nil, pool: ThreadPool) -> [GEMVTask] {
  let rowBytes = matrices.map { bytesPerRow ?? max(1, $0.format.rowByteCount($0.columns)) }
  let total = zip(matrices, rowBytes).reduce(0) { $0 + $1.0.rows * $1.1 }
  let perTask = pool.threadCount == 1 ? Int.max : max(32 << 10, total / (4 * pool.threadCount))
  var tasks: [GEMVTask] = []
  for (index, w) in matrices.enumerated() where w.rows > 0 {
    let wanted = perTask == Int.max ? w.rows : max(1, perTask / rowBytes[index])
    let step = (wanted + 3) / 4 * 4
    var start = 0
    while start < w.rows {
      let end = min(w.rows, start + step)
      tasks.append(GEMVTask(product: index, rows: start..<end))
      start = end
    }
  }
  return tasks
}

// MARK: - Row kernels

/// x in the forms the row kernels read: f32 (always), its per-32 sums (f32 kernels of formats
/// with offsets or minimums) and its 8-bit blocks (integer kernels).
struct PreparedActivation: @unchecked Sendable {
  let x: UnsafePointer<Float>
  let sums: UnsafeMutablePointer<Float>?
  /// q[k], d[k/32], s[k/32] of `mm_quantize_act_q8`.
  let q: UnsafeMutablePointer<Int8>?
  let d: UnsafeMutablePointer<Float>?
  let s: UnsafeMutablePointer<Float>?

  init(x: UnsafePointer<Float>, k: Int, formats: [QuantFormat], activations: QuantizedActivations) {
    self.x = x
    let integer = activations == .int8 && k % 32 == 0
    let usesInteger = formats.map { integer && QuantizedActivations.hasIntegerKernel($0) }
    if usesInteger.contains(true) {
      let q = UnsafeMutablePointer<Int8>.allocate(capacity: k)
      let d = UnsafeMutablePointer<Float>.allocate(capacity: 2 * max(1, k / 32))
      mm_quantize_act_q8(x, Int64(k), q, d, d + k / 32)
      (self.q, self.d, self.s) = (q, d, d + k / 32)
    } else {
      (q, d, s) = (nil, nil, nil)
    }
    let needsSums = zip(formats, usesInteger).contains { format, int in !int && floatDotNeedsSums(format) }
    if needsSums && k % 32 == 0 {
      let sums = UnsafeMutablePointer<Float>.allocate(capacity: max(1, k / 32))
      blockSums32(x, count: k, into: sums)
      self.sums = sums
    } else {
      sums = nil
    }
  }

  func deallocate() {
    sums?.deallocate()
    q?.deallocate()
    d?.deallocate()
  }
}

private func floatDotNeedsSums(_ format: QuantFormat) -> Bool {
  switch format {
  case .q4_0: return DotQ4_0.usesXSums
  case .q4_1: return DotQ4_1.usesXSums
  case .q8_0: return DotQ8_0.usesXSums
  case .q4_K: return DotQ4_K.usesXSums
  case .q5_K: return DotQ5_K.usesXSums
  case .q6_K: return DotQ6_K.usesXSums
  case .q8_K: return DotQ8_K.usesXSums
  case .f32, .f16, .bf16: return false
  }
}

/// dots[i] = W[rows.lowerBound + i]·x for the rows of one task.
@inline(__always)
private func rowDots(
  _ w: QuantizedMatrix, rows: Range<Int>, x: PreparedActivation, into dots: UnsafeMutablePointer<Float>
) {
  let first = w.row(rows.lowerBound)
  let count = Int64(rows.count)
  let blocks = Int64(w.columns / 32)
  if let q = x.q, let d = x.d, let s = x.s, QuantizedActivations.hasIntegerKernel(w.format) {
    switch w.format {
    case .q8_0: mm_dot_q8_0(first, w.rowStride, count, blocks, q, d, dots)
    case .q4_0: mm_dot_q4_0(first, w.rowStride, count, blocks, q, d, dots)
    default: mm_dot_q4_1(first, w.rowStride, count, blocks, q, d, s, dots)
    }
    return
  }
  switch w.format {
  case .q4_0: floatDots(DotQ4_0.self, w, rows: rows, x: x, into: dots)
  case .q4_1: floatDots(DotQ4_1.self, w, rows: rows, x: x, into: dots)
  case .q8_0: floatDots(DotQ8_0.self, w, rows: rows, x: x, into: dots)
  case .q4_K: floatDots(DotQ4_K.self, w, rows: rows, x: x, into: dots)
  case .q5_K: floatDots(DotQ5_K.self, w, rows: rows, x: x, into: dots)
  case .q6_K: floatDots(DotQ6_K.self, w, rows: rows, x: x, into: dots)
  case .q8_K: floatDots(DotQ8_K.self, w, rows: rows, x: x, into: dots)
  case .f32: plainDots(LoadF32.self, w, rows: rows, x: x.x, into: dots)
  case .f16: plainDots(LoadF16.self, w, rows: rows, x: x.x, into: dots)
  case .bf16: plainDots(LoadBF16.self, w, rows: rows, x: x.x, into: dots)
  }
}

private func floatDots<K: QuantDot>(
  _ kernel: K.Type, _ w: QuantizedMatrix, rows: Range<Int>, x: PreparedActivation,
  into dots: UnsafeMutablePointer<Float>
) {
  let sums = UnsafePointer(x.sums ?? UnsafeMutablePointer(mutating: x.x))  // unread when !usesXSums
  var j = rows.lowerBound
  while j < rows.upperBound {
    let n = min(4, rows.upperBound - j)
    let r = quantDotRows(K.self, w, first: j, rows: n, x: x.x, xSums: sums)
    for i in 0..<n { dots[j - rows.lowerBound + i] = r[i] }
    j += n
  }
}

private func plainDots<L: WideningLoad>(
  _ loader: L.Type, _ w: QuantizedMatrix, rows: Range<Int>, x: UnsafePointer<Float>,
  into dots: UnsafeMutablePointer<Float>
) {
  let dtype = w.format.dtype ?? .f32
  precondition(w.rowStride % dtype.byteSize == 0, "quantizedGEMV: row stride not a multiple of \(dtype)")
  let b = MatrixOperand(raw: w.base, dtype: dtype, ld: w.rowStride / dtype.byteSize, transposed: true)
  var j = rows.lowerBound
  while j < rows.upperBound {
    let n = min(4, rows.upperBound - j)
    var r = SIMD4<Float>()
    dotRows(L.self, b, rows: n, first: j, k: w.columns, x: x, into: &r)
    for i in 0..<n { dots[j - rows.lowerBound + i] = r[i] }
    j += n
  }
}

/// y[i] = act(alpha·dots[i] + beta·y[i] + bias[offset + i]) for i < count.
@inline(__always)
private func finish(
  _ y: UnsafeMutablePointer<Float>, dots: UnsafePointer<Float>, count: Int, _ e: GEMMEpilogue, offset: Int
) {
  let (alpha, beta) = (e.alpha, e.beta)
  for i in 0..<count { y[i] = alpha * dots[i] + (beta == 0 ? 0 : beta * y[i]) }
  if e.bias != nil || e.activation != .identity {
    finishRow(y, count: count, bias: e.bias.map { $0 + offset }, e.activation)
  }
}

import MMCore
import MMKernels

/// Multi-head attention as PyTorch's `nn.MultiheadAttention` and the HF encoders compute it:
/// project queries from x and keys/values from x (self) or a context (cross), optionally
/// append learned `bias_k`/`bias_v` as one extra key (`add_bias_kv=True`, as ImageBind's audio,
/// depth, thermal and IMU trunks use), attend per head with the flash-style kernel, project out.
///
/// x: [batch, Lq, dim] (or [Lq, dim]); context: [batch, Lk, contextDim] → [batch, Lq, dim].
public struct MultiHeadAttention: Sendable {
  public let heads: Int
  public let q: Linear
  public let k: Linear
  public let v: Linear
  public let out: Linear
  /// q, k and v stacked [3·dim, dim]: one GEMM for self-attention.
  public let fusedQKV: Linear?
  /// `bias_k`, `bias_v` [dim] appended as the last key/value.
  public let biasKV: (k: [Float], v: [Float])?
  /// Scale on q·kᵀ (default 1/√headDim).
  public let scale: Float?

  public init(
    heads: Int, q: Linear, k: Linear, v: Linear, out: Linear, fuseSelfProjection: Bool = true,
    biasKV: (k: [Float], v: [Float])? = nil, scale: Float? = nil
  ) {
    precondition(q.outputs % heads == 0, "attention: width \(q.outputs) not divisible by \(heads) heads")
    precondition(
      k.outputs == q.outputs && v.outputs == q.outputs && out.inputs == q.outputs, "attention: widths")
    self.heads = heads
    self.q = q
    self.k = k
    self.v = v
    self.out = out
    self.biasKV = biasKV
    self.scale = scale
    fusedQKV = fuseSelfProjection && q.inputs == k.inputs ? Linear.stacked([q, k, v]) : nil
  }

  /// From one fused `in_proj_weight` [3·dim, dim] (+ `in_proj_bias`), as `nn.MultiheadAttention`
  /// stores it: the q, k and v blocks are row ranges of it.
  public init(
    heads: Int, inProjection: Linear, out: Linear, biasKV: (k: [Float], v: [Float])? = nil
  ) {
    let dim = inProjection.outputs / 3
    precondition(dim * 3 == inProjection.outputs, "attention: in_proj rows not 3·dim")
    let parts = (0..<3).map { inProjection.rows($0 * dim..<($0 + 1) * dim) }
    self.heads = heads
    (q, k, v) = (parts[0], parts[1], parts[2])
    self.out = out
    self.biasKV = biasKV
    scale = nil
    fusedQKV = inProjection
  }

  public var dim: Int { q.outputs }
  public var headDim: Int { dim / heads }

  /// The attention output after the out projection; see the type's shapes. `keyMask`:
  /// [batch, Lk] additive (0 keeps a key, −∞ drops it); `causal`: query i sees keys ≤ i.
  public func callAsFunction(
    _ x: Tensor, context: Tensor? = nil, causal: Bool = false, keyMask: Tensor? = nil
  ) throws(ModelError) -> Tensor {
    let (batch, lq, y) = try attend(x, context: context, causal: causal, keyMask: keyMask)
    return try out(y).reshapedOrSame(x.rank == 2 ? [lq, dim] : [batch, lq, dim])
  }

  /// residual += attention(x); residual has x's shape.
  public func accumulate(
    _ x: Tensor, into residual: Tensor, context: Tensor? = nil, causal: Bool = false, keyMask: Tensor? = nil
  ) throws(ModelError) {
    let (_, _, y) = try attend(x, context: context, causal: causal, keyMask: keyMask)
    out.accumulate(y, into: residual)
  }

  /// The heads' outputs concatenated, before the out projection: [batch·Lq, dim].
  private func attend(_ x: Tensor, context: Tensor?, causal: Bool, keyMask: Tensor?) throws(ModelError)
    -> (Int, Int, Tensor)
  {
    let x3 = try batched(x, width: q.inputs, what: "query input")
    let (batch, lq) = (x3.shape[0], x3.shape[1])
    let c3 =
      try context.map { (c) throws(ModelError) in try batched(c, width: k.inputs, what: "context") } ?? x3
    guard c3.shape[0] == batch else {
      throw .invalidInput("attention: context batch \(c3.shape[0]) ≠ query batch \(batch)")
    }
    let lk = c3.shape[1]
    let extra = biasKV == nil ? 0 : 1
    let keys = lk + extra
    if let keyMask, keyMask.shape != [batch, lk] {
      throw .invalidInput("attention: key mask \(shapeText(keyMask.shape)), expected [\(batch), \(lk)]")
    }
    let d = dim
    let result = Tensor(uninitialized: [batch * lq, d])  // every head writes its columns
    if context == nil, biasKV == nil, let fusedQKV {
      // Self-attention without bias_kv: attend on the fused [B·L, 3d] projection in place (q, k
      // and v are column ranges of its rows), with no copies into separate buffers.
      let qkv = try fusedQKV(x3)
      let mask = try keyMask.map { (m) throws(ModelError) in
        try expandedMask(m, batch: batch, lq: lq, keys: lk)
      }
      let strided = AttentionLayout(headStride: headDim, rowStride: 3 * d)
      let layout = AttentionLayout.tokenMajor(heads: heads, headDim: headDim)
      let base = qkv.pointer(Float.self)
      if !causal && keyMask == nil && lq >= 64 {
        attendWithGEMMs(
          q: base, k: base + d, v: base + 2 * d, rowStride: (3 * d, 3 * d),
          batchStride: (lq * 3 * d, lq * 3 * d),
          into: result.pointer(Float.self), batch: batch, queries: lq, keys: lq)
        return (batch, lq, result)
      }
      for b in 0..<batch {
        let rows = base + b * lq * 3 * d
        scaledDotProductAttention(
          q: rows, k: rows + d, v: rows + 2 * d, out: result.pointer(Float.self) + b * lq * d, heads: heads,
          kvHeads: heads, queryLength: lq, keyLength: lk, headDim: headDim, qLayout: strided,
          kLayout: strided,
          vLayout: strided, outLayout: layout, scale: scale, causal: causal,
          mask: mask.map { .shared(UnsafePointer($0.pointer(Float.self) + b * lq * lk)) } ?? .none)
      }
      return (batch, lq, result)
    }
    // Projections for the whole batch at once: Q [B·Lq, d]; K, V [B, keys, d] (room for bias_kv).
    let qBuffer: Tensor
    // Every row is written below: lk projected keys/values per batch, then the bias_kv row.
    let kBuffer = Tensor(uninitialized: [batch, keys, d])
    let vBuffer = Tensor(uninitialized: [batch, keys, d])
    if context == nil, let fusedQKV {
      let qkv = try fusedQKV(x3)  // [B, L, 3d]
      qBuffer = Tensor(uninitialized: [batch * lq, d])
      let (src, qp, kp, vp) = (
        qkv.pointer(Float.self), qBuffer.pointer(Float.self), kBuffer.pointer(Float.self),
        vBuffer.pointer(Float.self)
      )
      for b in 0..<batch {
        for t in 0..<lq {
          let row = src + (b * lq + t) * 3 * d
          (qp + (b * lq + t) * d).update(from: row, count: d)
          (kp + (b * keys + t) * d).update(from: row + d, count: d)
          (vp + (b * keys + t) * d).update(from: row + 2 * d, count: d)
        }
      }
    } else {
      qBuffer = try q(x3).reshapedOrSame([batch * lq, d])
      let source = c3.contiguous()
      for (linear, buffer) in [(k, kBuffer), (v, vBuffer)] {
        for b in 0..<batch {
          linear.apply(
            source.pointer(Float.self) + b * lk * linear.inputs, rows: lk,
            into: buffer.pointer(Float.self) + b * keys * d)
        }
      }
    }
    if let biasKV {
      for b in 0..<batch {
        (kBuffer.pointer(Float.self) + (b * keys + lk) * d).update(from: biasKV.k, count: d)
        (vBuffer.pointer(Float.self) + (b * keys + lk) * d).update(from: biasKV.v, count: d)
      }
    }
    if context == nil && !causal && keyMask == nil && lq >= 64 {
      // Self-attention with bias_kv (ImageBind's audio and text trunks): the same two GEMMs over
      // the separate buffers, the bias row one more key.
      attendWithGEMMs(
        q: qBuffer.pointer(Float.self), k: kBuffer.pointer(Float.self), v: vBuffer.pointer(Float.self),
        rowStride: (d, d), batchStride: (lq * d, keys * d), into: result.pointer(Float.self), batch: batch,
        queries: lq, keys: keys)
      return (batch, lq, result)
    }
    let mask = keyMask?.contiguous()
    let maskRows = mask == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: lq * keys)
    defer { maskRows?.deallocate() }
    let layout = AttentionLayout.tokenMajor(heads: heads, headDim: headDim)
    for b in 0..<batch {
      var attentionMask = AttentionMask.none
      if let mask, let maskRows {
        // One row per query: the key mask, and 0 for the appended bias key.
        let source = mask.pointer(Float.self) + b * lk
        for i in 0..<lq {
          (maskRows + i * keys).update(from: source, count: lk)
          if extra == 1 { maskRows[i * keys + lk] = 0 }
        }
        attentionMask = .shared(maskRows)
      }
      scaledDotProductAttention(
        q: qBuffer.pointer(Float.self) + b * lq * d, k: kBuffer.pointer(Float.self) + b * keys * d,
        v: vBuffer.pointer(Float.self) + b * keys * d, out: result.pointer(Float.self) + b * lq * d,
        heads: heads, kvHeads: heads, queryLength: lq, keyLength: keys, headDim: headDim,
        qLayout: layout, kLayout: layout, vLayout: layout, outLayout: layout, scale: scale,
        causal: causal, mask: attentionMask)
    }
    return (batch, lq, result)
  }

  /// Unmasked, non-causal self-attention as two GEMMs per (item, head): S = scale·Q·Kᵀ
  /// [queries, keys], softmax by rows, O = S·V into the head's columns of out [B·queries, d]. q, k
  /// and v are token-major rows (`rowStride` floats apart, heads side by side) — column ranges of
  /// a fused qkv, or separate buffers. For encoder lengths (ViT's 197 tokens, ImageBind audio's
  /// 229) the GEMM micro-kernel beats the streaming attention kernel, whose per-query dot
  /// products are load-bound; the scores fit in L2.
  private func attendWithGEMMs(
    q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
    rowStride: (q: Int, kv: Int), batchStride: (q: Int, kv: Int), into out: UnsafeMutablePointer<Float>,
    batch: Int, queries: Int, keys: Int
  ) {
    let d = dim
    let hd = headDim
    let alpha = scale ?? 1 / Float(hd).squareRoot()
    let pool = ThreadPool.shared
    pool.parallelFor(batch * heads) { task in
      let (b, h) = (task / heads, task % heads)
      let (qHead, kvOffset) = (q + b * batchStride.q + h * hd, b * batchStride.kv + h * hd)
      let scores = UnsafeMutablePointer<Float>.allocate(capacity: queries * keys)
      defer { scores.deallocate() }
      gemm(
        m: queries, n: keys, k: hd, a: MatrixOperand(qHead, ld: rowStride.q),
        b: MatrixOperand(k + kvOffset, ld: rowStride.kv, transposed: true), c: scores, ldc: keys,
        epilogue: GEMMEpilogue(alpha: alpha), pool: pool)
      softmaxRows(scores, scores, rows: queries, cols: keys, pool: pool)
      gemm(
        m: queries, n: hd, k: keys, a: MatrixOperand(scores, ld: keys),
        b: MatrixOperand(v + kvOffset, ld: rowStride.kv),
        c: out + b * queries * d + h * hd, ldc: d, pool: pool)
    }
  }

  /// The key mask [batch, Lk] as one additive row per query: [batch, Lq, Lk].
  private func expandedMask(_ mask: Tensor, batch: Int, lq: Int, keys: Int) throws(ModelError) -> Tensor {
    let source = mask.contiguous()
    let rows = Tensor(zeros: [batch, lq, keys])
    for b in 0..<batch {
      for i in 0..<lq {
        (rows.pointer(Float.self) + (b * lq + i) * keys).update(
          from: source.pointer(Float.self) + b * keys, count: keys)
      }
    }
    return rows
  }

  private func batched(_ t: Tensor, width: Int, what: String) throws(ModelError) -> Tensor {
    guard t.dtype == .f32, t.rank == 2 || t.rank == 3, t.shape.last == width else {
      throw .invalidInput(
        "attention: \(what) must be [batch, length, \(width)] f32, got \(t.dtype) \(shapeText(t.shape))")
    }
    return try t.contiguous().reshapedOrSame(t.rank == 2 ? [1, t.shape[0], width] : t.shape)
  }
}

extension Linear {
  /// Rows `range` of W (and of the bias) as a Linear sharing the same bytes.
  public func rows(_ range: Range<Int>) -> Linear {
    let m = weight.matrix
    let view = QuantizedMatrix(
      format: m.format, rows: range.count, columns: m.columns, base: m.row(range.lowerBound),
      rowStride: m.rowStride)
    return Linear(
      weight: StoredMatrix(matrix: view, owner: weight.owner), bias: bias.map { Array($0[range]) },
      activation: activation)
  }

  /// Linears of one input width stacked by rows into one (a copy in f32): q, k, v → qkv.
  public static func stacked(_ parts: [Linear]) -> Linear? {
    guard let first = parts.first,
      parts.allSatisfy({ $0.inputs == first.inputs && $0.activation == first.activation })
    else { return nil }
    let columns = first.inputs
    let rows = parts.reduce(0) { $0 + $1.outputs }
    let stacked = Tensor(zeros: [rows, columns])
    var destination = stacked.pointer(Float.self)
    for part in parts {
      for r in 0..<part.outputs {
        dequantizeRow(part.weight.matrix.format, part.weight.matrix.row(r), count: columns, into: destination)
        destination += columns
      }
    }
    let hasBias = parts.contains { $0.bias != nil }
    let bias = hasBias ? parts.flatMap { $0.bias ?? [Float](repeating: 0, count: $0.outputs) } : nil
    return Linear(weight: StoredMatrix(stacked), bias: bias, activation: first.activation)
  }
}

extension Tensor {
  /// `reshaped` for shapes known to match (internal buffers), as a ModelError otherwise.
  func reshapedOrSame(_ shape: [Int]) throws(ModelError) -> Tensor {
    if shape == self.shape { return self }
    do { return try reshaped(shape) } catch { throw .invalidInput("\(error)") }
  }
}

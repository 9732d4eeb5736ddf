import MMCore

/// Dot products of quantized rows with an f32 vector, computed on the blocks: each block's
/// quants are widened to f32 in registers (8 at a time), multiplied with x by SIMD8 FMAs, and
/// the block's sum is scaled once by its f16 scale. Offsets and minimums are never applied
/// per element: Σ (d·(q − 8))·x = d·Σ q·x − 8·d·Σx, with Σx per 32 elements computed once per
/// call (`xSums`). Nothing is dequantized to memory.
///
/// One conforming type per format, so the format is decided once per call and the loops are
/// specialized.
protocol QuantDot {
  static var format: QuantFormat { get }
  /// Whether `block` reads the per-32 sums of x.
  static var usesXSums: Bool { get }
  /// acc += the block's scaled dot products (8 lanes, summed at the end); corr += its scalar
  /// part (offsets, minimums). `x` and `xs` point at the block's first element and first sum.
  static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float)
}

@inline(__always) private func load8(_ x: UnsafePointer<Float>, _ index: Int) -> SIMD8<Float> {
  UnsafeRawPointer(x + index).loadUnaligned(as: SIMD8<Float>.self)
}

/// Σ_l q_l·x[offset + 8l] for four SIMD8 quant vectors (one 32-element sub-block).
@inline(__always) private func dot32(
  _ q0: SIMD8<Int32>, _ q1: SIMD8<Int32>, _ q2: SIMD8<Int32>, _ q3: SIMD8<Int32>,
  _ x: UnsafePointer<Float>, _ offset: Int
) -> SIMD8<Float> {
  var t = QuantBlock.float(q0) * load8(x, offset)
  t = t.addingProduct(QuantBlock.float(q1), load8(x, offset + 8))
  t = t.addingProduct(QuantBlock.float(q2), load8(x, offset + 16))
  return t.addingProduct(QuantBlock.float(q3), load8(x, offset + 24))
}

enum DotQ4_0: QuantDot {
  static var format: QuantFormat { .q4_0 }
  static var usesXSums: Bool { true }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = QuantBlock.f16(p, 0)
    let a = QuantBlock.bytes8(p, 2)
    let b = QuantBlock.bytes8(p, 10)
    let t = dot32(a & 15, b & 15, a &>> 4, b &>> 4, x, 0)
    acc = acc.addingProduct(t, SIMD8(repeating: d))
    corr -= 8 * d * xs[0]
  }
}

enum DotQ4_1: QuantDot {
  static var format: QuantFormat { .q4_1 }
  static var usesXSums: Bool { true }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = QuantBlock.f16(p, 0)
    let m = QuantBlock.f16(p, 2)
    let a = QuantBlock.bytes8(p, 4)
    let b = QuantBlock.bytes8(p, 12)
    let t = dot32(a & 15, b & 15, a &>> 4, b &>> 4, x, 0)
    acc = acc.addingProduct(t, SIMD8(repeating: d))
    corr += m * xs[0]
  }
}

enum DotQ8_0: QuantDot {
  static var format: QuantFormat { .q8_0 }
  static var usesXSums: Bool { false }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = QuantBlock.f16(p, 0)
    let t = dot32(
      QuantBlock.signedBytes8(p, 2), QuantBlock.signedBytes8(p, 10), QuantBlock.signedBytes8(p, 18),
      QuantBlock.signedBytes8(p, 26), x, 0)
    acc = acc.addingProduct(t, SIMD8(repeating: d))
  }
}

enum DotQ8_K: QuantDot {
  static var format: QuantFormat { .q8_K }
  static var usesXSums: Bool { false }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = SIMD8<Float>(repeating: p.loadUnaligned(as: Float.self))
    for s in 0..<8 {
      let o = 4 + 32 * s
      let t = dot32(
        QuantBlock.signedBytes8(p, o), QuantBlock.signedBytes8(p, o + 8), QuantBlock.signedBytes8(p, o + 16),
        QuantBlock.signedBytes8(p, o + 24), x, 32 * s)
      acc = acc.addingProduct(t, d)
    }
  }
}

enum DotQ4_K: QuantDot {
  static var format: QuantFormat { .q4_K }
  static var usesXSums: Bool { true }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = QuantBlock.f16(p, 0)
    let dmin = QuantBlock.f16(p, 2)
    var minSum: Float = 0
    for c in 0..<4 {
      let (sc1, m1) = QuantBlock.scaleMin(2 * c, p + 4)
      let (sc2, m2) = QuantBlock.scaleMin(2 * c + 1, p + 4)
      let o = 16 + 32 * c
      let q0 = QuantBlock.bytes8(p, o), q1 = QuantBlock.bytes8(p, o + 8)
      let q2 = QuantBlock.bytes8(p, o + 16), q3 = QuantBlock.bytes8(p, o + 24)
      let t1 = dot32(q0 & 15, q1 & 15, q2 & 15, q3 & 15, x, 64 * c)
      let t2 = dot32(q0 &>> 4, q1 &>> 4, q2 &>> 4, q3 &>> 4, x, 64 * c + 32)
      acc = acc.addingProduct(t1, SIMD8(repeating: d * Float(sc1)))
      acc = acc.addingProduct(t2, SIMD8(repeating: d * Float(sc2)))
      minSum += Float(m1) * xs[2 * c] + Float(m2) * xs[2 * c + 1]
    }
    corr -= dmin * minSum
  }
}

enum DotQ5_K: QuantDot {
  static var format: QuantFormat { .q5_K }
  static var usesXSums: Bool { true }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = QuantBlock.f16(p, 0)
    let dmin = QuantBlock.f16(p, 2)
    // The fifth bits of elements l, l + 8, l + 16, l + 24 of every sub-block, shifted down as
    // the sub-blocks advance.
    var h0 = QuantBlock.bytes8(p, 16), h1 = QuantBlock.bytes8(p, 24)
    var h2 = QuantBlock.bytes8(p, 32), h3 = QuantBlock.bytes8(p, 40)
    var minSum: Float = 0
    for c in 0..<4 {
      let (sc1, m1) = QuantBlock.scaleMin(2 * c, p + 4)
      let (sc2, m2) = QuantBlock.scaleMin(2 * c + 1, p + 4)
      let o = 48 + 32 * c
      let q0 = QuantBlock.bytes8(p, o), q1 = QuantBlock.bytes8(p, o + 8)
      let q2 = QuantBlock.bytes8(p, o + 16), q3 = QuantBlock.bytes8(p, o + 24)
      let t1 = dot32(
        (q0 & 15) | ((h0 & 1) &<< 4), (q1 & 15) | ((h1 & 1) &<< 4), (q2 & 15) | ((h2 & 1) &<< 4),
        (q3 & 15) | ((h3 & 1) &<< 4), x, 64 * c)
      let t2 = dot32(
        (q0 &>> 4) | ((h0 & 2) &<< 3), (q1 &>> 4) | ((h1 & 2) &<< 3), (q2 &>> 4) | ((h2 & 2) &<< 3),
        (q3 &>> 4) | ((h3 & 2) &<< 3), x, 64 * c + 32)
      h0 = h0 &>> 2
      h1 = h1 &>> 2
      h2 = h2 &>> 2
      h3 = h3 &>> 2
      acc = acc.addingProduct(t1, SIMD8(repeating: d * Float(sc1)))
      acc = acc.addingProduct(t2, SIMD8(repeating: d * Float(sc2)))
      minSum += Float(m1) * xs[2 * c] + Float(m2) * xs[2 * c + 1]
    }
    corr -= dmin * minSum
  }
}

enum DotQ6_K: QuantDot {
  static var format: QuantFormat { .q6_K }
  static var usesXSums: Bool { false }
  @inline(__always) static func block(
    _ p: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xs: UnsafePointer<Float>,
    _ acc: inout SIMD8<Float>, _ corr: inout Float
  ) {
    let d = QuantBlock.f16(p, 208)
    let scales = (p + 192).assumingMemoryBound(to: Int8.self)
    for half in 0..<2 {
      let ql = 64 * half
      let qh = 128 + 32 * half
      for g in 0..<2 {
        // Elements 16g ..< 16g + 16 of each quarter of this half: two SIMD8 per quarter.
        var t = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        for l in 2 * g..<2 * g + 2 {
          let a = QuantBlock.bytes8(p, ql + 8 * l)
          let c = QuantBlock.bytes8(p, ql + 32 + 8 * l)
          let h = QuantBlock.bytes8(p, qh + 8 * l)
          let e = 128 * half + 8 * l
          t.0 = t.0.addingProduct(QuantBlock.float(((a & 15) | ((h & 3) &<< 4)) &- 32), load8(x, e))
          t.1 = t.1.addingProduct(QuantBlock.float(((c & 15) | ((h &<< 2) & 48)) &- 32), load8(x, e + 32))
          t.2 = t.2.addingProduct(QuantBlock.float(((a &>> 4) | (h & 48)) &- 32), load8(x, e + 64))
          t.3 = t.3.addingProduct(QuantBlock.float(((c &>> 4) | ((h &>> 2) & 48)) &- 32), load8(x, e + 96))
        }
        let s = 8 * half + g
        acc = acc.addingProduct(t.0, SIMD8(repeating: d * Float(scales[s])))
        acc = acc.addingProduct(t.1, SIMD8(repeating: d * Float(scales[s + 2])))
        acc = acc.addingProduct(t.2, SIMD8(repeating: d * Float(scales[s + 4])))
        acc = acc.addingProduct(t.3, SIMD8(repeating: d * Float(scales[s + 6])))
      }
    }
  }
}

/// sums[r] = Σ_i W[first + r][i]·x[i] for r < rows (≤ 4), one pass over the blocks of the rows
/// together (x is loaded once per block for all of them). Block order is fixed: the result
/// does not depend on how rows are grouped.
@inline(__always)
func quantDotRows<K: QuantDot>(
  _ kernel: K.Type, _ w: QuantizedMatrix, first: Int, rows: Int, x: UnsafePointer<Float>,
  xSums: UnsafePointer<Float>
) -> SIMD4<Float> {
  let size = K.format.blockByteCount
  let length = K.format.blockLength
  let sumsPerBlock = length / 32
  let r0 = w.row(first)
  let r1 = w.row(first + min(1, rows - 1))
  let r2 = w.row(first + min(2, rows - 1))
  let r3 = w.row(first + min(3, rows - 1))
  var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
  var c0: Float = 0, c1: Float = 0, c2: Float = 0, c3: Float = 0
  for b in 0..<w.blocksPerRow {
    let xb = x + b * length
    let sb = xSums + b * sumsPerBlock
    K.block(r0 + b * size, xb, sb, &a0, &c0)
    K.block(r1 + b * size, xb, sb, &a1, &c1)
    K.block(r2 + b * size, xb, sb, &a2, &c2)
    K.block(r3 + b * size, xb, sb, &a3, &c3)
  }
  return SIMD4(a0.sum() + c0, a1.sum() + c1, a2.sum() + c2, a3.sum() + c3)
}

/// sums[i] = Σ x[32i ..< 32i + 32] for i < count / 32 (count a multiple of 32).
func blockSums32(_ x: UnsafePointer<Float>, count: Int, into sums: UnsafeMutablePointer<Float>) {
  for i in 0..<count / 32 {
    let v = load8(x, 32 * i) + load8(x, 32 * i + 8) + load8(x, 32 * i + 16) + load8(x, 32 * i + 24)
    sums[i] = v.sum()
  }
}

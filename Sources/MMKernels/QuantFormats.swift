import MMCore

/// A ggml weight format: elements packed in blocks with their scales, byte for byte as ggml
/// lays them out (ggml-common.h), so GGUF tensor data is used in place. The raw value is the
/// ggml type id: a GGUF tensor's type converts with `QuantFormat(rawValue: type.rawValue)`.
///
/// | format | block | bytes | layout |
/// | --- | --- | --- | --- |
/// | Q4_0 | 32 | 18 | f16 d, 16 bytes of nibbles: x = d·(q − 8); element j in the low nibble of byte j, j + 16 in the high one |
/// | Q4_1 | 32 | 20 | f16 d, f16 m, nibbles as Q4_0: x = d·q + m |
/// | Q8_0 | 32 | 34 | f16 d, 32 × i8: x = d·q |
/// | Q4_K | 256 | 144 | f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) × 8, 128 bytes of nibbles: x = d·sc_j·q − dmin·m_j per 32 |
/// | Q5_K | 256 | 176 | as Q4_K plus 32 bytes of fifth bits |
/// | Q6_K | 256 | 210 | 128 bytes low nibbles, 64 bytes of 2-bit highs, 16 × i8 scales, f16 d: x = d·sc_g·(q − 32) per 16 |
/// | Q8_K | 256 | 292 | f32 d, 256 × i8, 16 × i16 group sums (llama.cpp's activation format) |
/// | F32, F16, BF16 | 1 | 4, 2, 2 | plain |
public enum QuantFormat: UInt32, Sendable, CaseIterable, CustomStringConvertible {
  case f32 = 0
  case f16 = 1
  case q4_0 = 2
  case q4_1 = 3
  case q8_0 = 8
  case q4_K = 12
  case q5_K = 13
  case q6_K = 14
  case q8_K = 15
  case bf16 = 30

  /// ggml's name: `Q4_K`, `F16`.
  public var name: String {
    switch self {
    case .f32: return "F32"
    case .f16: return "F16"
    case .q4_0: return "Q4_0"
    case .q4_1: return "Q4_1"
    case .q8_0: return "Q8_0"
    case .q4_K: return "Q4_K"
    case .q5_K: return "Q5_K"
    case .q6_K: return "Q6_K"
    case .q8_K: return "Q8_K"
    case .bf16: return "BF16"
    }
  }

  public var description: String { name }

  /// The format named `name` (`q4_k`, `Q8_0`, `bf16`; case-insensitive).
  public init?(name: String) {
    guard let format = Self.allCases.first(where: { $0.name.lowercased() == name.lowercased() }) else {
      return nil
    }
    self = format
  }

  /// Elements per block.
  public var blockLength: Int {
    switch self {
    case .f32, .f16, .bf16: return 1
    case .q4_0, .q4_1, .q8_0: return 32
    case .q4_K, .q5_K, .q6_K, .q8_K: return 256
    }
  }

  /// Bytes per block.
  public var blockByteCount: Int {
    switch self {
    case .f32: return 4
    case .f16, .bf16: return 2
    case .q4_0: return 18
    case .q4_1: return 20
    case .q8_0: return 34
    case .q4_K: return 144
    case .q5_K: return 176
    case .q6_K: return 210
    case .q8_K: return 292
    }
  }

  /// Bytes of a row of `count` elements (a multiple of `blockLength`).
  public func rowByteCount(_ count: Int) -> Int { count / blockLength * blockByteCount }

  /// The `DType` of the plain formats (F32, F16, BF16), nil for block formats.
  public var dtype: DType? {
    switch self {
    case .f32: return .f32
    case .f16: return .f16
    case .bf16: return .bf16
    default: return nil
    }
  }
}

/// A weight matrix W[rows, columns] in a `QuantFormat`, row-major: row r starts `rowStride`
/// bytes after row r − 1 and holds `columns / blockLength` blocks (a GGUF tensor of shape
/// [rows, columns], or one 2-d slice of a larger one).
public struct QuantizedMatrix: @unchecked Sendable {
  public let format: QuantFormat
  public let rows: Int
  public let columns: Int
  public let base: UnsafeRawPointer
  public let rowStride: Int

  /// `rowStride` defaults to the packed row size, `format.rowByteCount(columns)`.
  public init(format: QuantFormat, rows: Int, columns: Int, base: UnsafeRawPointer, rowStride: Int? = nil) {
    precondition(rows >= 0 && columns >= 0, "QuantizedMatrix: negative size")
    precondition(
      columns % format.blockLength == 0,
      "QuantizedMatrix: \(format) rows hold blocks of \(format.blockLength), found \(columns) columns")
    let packed = format.rowByteCount(columns)
    precondition((rowStride ?? packed) >= packed, "QuantizedMatrix: row stride below \(packed) bytes")
    self.format = format
    self.rows = rows
    self.columns = columns
    self.base = base
    self.rowStride = rowStride ?? packed
  }

  public var blocksPerRow: Int { columns / format.blockLength }

  @inline(__always) public func row(_ index: Int) -> UnsafeRawPointer { base + index * rowStride }
}

// MARK: - Dequantization

/// dst[0..<count] = the values of `count` elements (a whole number of blocks) stored at `src`
/// in `format`, computed exactly as ggml's `dequantize_row_*` (same f32 operations in the same
/// order: the results equal ggml's and the `gguf` package's bit for bit).
public func dequantizeRow(
  _ format: QuantFormat, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>
) {
  precondition(count % format.blockLength == 0, "dequantizeRow: \(count) is not a whole number of blocks")
  let blocks = count / format.blockLength
  let size = format.blockByteCount
  let length = format.blockLength
  switch format {
  case .f32: dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
  case .f16:
    var i = 0
    while i + 8 <= count {
      let v = SIMD8<Float>(src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self))
      UnsafeMutableRawPointer(dst + i).storeBytes(of: v, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))
      i += 1
    }
  case .bf16:
    for i in 0..<count {
      dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
    }
  case .q4_0: for b in 0..<blocks { QuantBlock.dequantizeQ4_0(src + b * size, dst + b * length) }
  case .q4_1: for b in 0..<blocks { QuantBlock.dequantizeQ4_1(src + b * size, dst + b * length) }
  case .q8_0: for b in 0..<blocks { QuantBlock.dequantizeQ8_0(src + b * size, dst + b * length) }
  case .q4_K: for b in 0..<blocks { QuantBlock.dequantizeQ4_K(src + b * size, dst + b * length) }
  case .q5_K: for b in 0..<blocks { QuantBlock.dequantizeQ5_K(src + b * size, dst + b * length) }
  case .q6_K: for b in 0..<blocks { QuantBlock.dequantizeQ6_K(src + b * size, dst + b * length) }
  case .q8_K: for b in 0..<blocks { QuantBlock.dequantizeQ8_K(src + b * size, dst + b * length) }
  }
}

/// Every row of `w` into dst[rows, columns] (row-major, leading dimension `columns`), rows in
/// parallel.
public func dequantize(
  _ w: QuantizedMatrix, into dst: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
) {
  pool.parallelRanges(w.rows, grain: max(1, 65_536 / max(w.columns, 1))) { range in
    for r in range { dequantizeRow(w.format, w.row(r), count: w.columns, into: dst + r * w.columns) }
  }
}

/// Block decoders, one per format: the ggml arithmetic, vectorized only where that keeps each
/// element's operations identical (no fused multiply-adds).
enum QuantBlock {
  @inline(__always) static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
  }

  // The conversions below are written as lane loops on purpose: the standard library's
  // `SIMD8<Int32>(truncatingIfNeeded:)` and `SIMD8<Float>(_:)` are generic functions that the
  // optimizer leaves out of line inside large kernels (a call per vector), while these always
  // inline and LLVM turns each loop into one vpmovzxbd / vpmovsxbd / vcvtdq2ps.

  /// 8 bytes at `p + offset`, zero-extended to 32-bit lanes.
  @inline(__always) static func bytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int32> {
    let b = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self)
    var r = SIMD8<Int32>()
    for i in 0..<8 { r[i] = Int32(b[i]) }
    return r
  }

  /// 8 signed bytes at `p + offset`, sign-extended to 32-bit lanes.
  @inline(__always) static func signedBytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int32> {
    let b = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self)
    var r = SIMD8<Int32>()
    for i in 0..<8 { r[i] = Int32(b[i]) }
    return r
  }

  /// The lanes as Float (exact for the small integers of quants).
  @inline(__always) static func float(_ v: SIMD8<Int32>) -> SIMD8<Float> {
    var r = SIMD8<Float>()
    for i in 0..<8 { r[i] = Float(v[i]) }
    return r
  }

  @inline(__always) static func store(_ v: SIMD8<Float>, _ dst: UnsafeMutablePointer<Float>, _ index: Int) {
    UnsafeMutableRawPointer(dst + index).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  /// The 6-bit (scale, min) pair `j` of a K-quant's 12-byte scales field (ggml's
  /// `get_scale_min_k4`): pairs 0–3 sit in the low 6 bits of bytes 0–3 and 4–7; pairs 4–7 take
  /// their low 4 bits from bytes 8–11 and their top 2 bits from the top of bytes 0–7.
  @inline(__always) static func scaleMin(_ j: Int, _ scales: UnsafeRawPointer) -> (scale: Int32, min: Int32) {
    let q = scales.assumingMemoryBound(to: UInt8.self)
    if j < 4 { return (Int32(q[j] & 63), Int32(q[j + 4] & 63)) }
    return (
      Int32((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)), Int32((q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    )
  }

  /// Q4_0: x[j] = (low nibble of qs[j] − 8)·d, x[j + 16] = (high nibble − 8)·d.
  @inline(__always) static func dequantizeQ4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = SIMD8<Float>(repeating: f16(b, 0))
    for half in 0..<2 {
      let q = bytes8(b, 2 + 8 * half)
      store(float((q & 15) &- 8) * d, y, 8 * half)
      store(float((q &>> 4) &- 8) * d, y, 16 + 8 * half)
    }
  }

  /// Q4_1: x = q·d + m.
  @inline(__always) static func dequantizeQ4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = SIMD8<Float>(repeating: f16(b, 0))
    let m = SIMD8<Float>(repeating: f16(b, 2))
    for half in 0..<2 {
      let q = bytes8(b, 4 + 8 * half)
      store(float(q & 15) * d + m, y, 8 * half)
      store(float(q &>> 4) * d + m, y, 16 + 8 * half)
    }
  }

  /// Q8_0: x = q·d.
  @inline(__always) static func dequantizeQ8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = SIMD8<Float>(repeating: f16(b, 0))
    for i in 0..<4 { store(float(signedBytes8(b, 2 + 8 * i)) * d, y, 8 * i) }
  }

  /// Q4_K: per 64 elements, 32 bytes of nibbles: low nibbles are sub-block 2c, high ones 2c + 1;
  /// x = (d·sc)·q − (dmin·m).
  @inline(__always) static func dequantizeQ4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(b, 0)
    let dmin = f16(b, 2)
    for c in 0..<4 {
      let (sc1, m1) = scaleMin(2 * c, b + 4)
      let (sc2, m2) = scaleMin(2 * c + 1, b + 4)
      let d1 = SIMD8<Float>(repeating: d * Float(sc1)), min1 = SIMD8<Float>(repeating: dmin * Float(m1))
      let d2 = SIMD8<Float>(repeating: d * Float(sc2)), min2 = SIMD8<Float>(repeating: dmin * Float(m2))
      for l in 0..<4 {
        let q = bytes8(b, 16 + 32 * c + 8 * l)
        store(d1 * float(q & 15) - min1, y, 64 * c + 8 * l)
        store(d2 * float(q &>> 4) - min2, y, 64 * c + 32 + 8 * l)
      }
    }
  }

  /// Q5_K: Q4_K's nibbles plus a fifth bit: bit 2c of qh[l] for element l of sub-block 2c,
  /// bit 2c + 1 for sub-block 2c + 1.
  @inline(__always) static func dequantizeQ5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(b, 0)
    let dmin = f16(b, 2)
    for c in 0..<4 {
      let (sc1, m1) = scaleMin(2 * c, b + 4)
      let (sc2, m2) = scaleMin(2 * c + 1, b + 4)
      let d1 = SIMD8<Float>(repeating: d * Float(sc1)), min1 = SIMD8<Float>(repeating: dmin * Float(m1))
      let d2 = SIMD8<Float>(repeating: d * Float(sc2)), min2 = SIMD8<Float>(repeating: dmin * Float(m2))
      let shift = Int32(2 * c)
      for l in 0..<4 {
        let q = bytes8(b, 48 + 32 * c + 8 * l)
        let h = bytes8(b, 16 + 8 * l) &>> shift
        store(d1 * float((q & 15) | ((h & 1) &<< 4)) - min1, y, 64 * c + 8 * l)
        store(d2 * float((q &>> 4) | ((h & 2) &<< 3)) - min2, y, 64 * c + 32 + 8 * l)
      }
    }
  }

  /// Q6_K: two halves of 128; in each, element l (< 32) of the four quarters takes its low
  /// nibble from ql[l] / ql[l + 32] (low, low, high, high) and its top 2 bits from qh[l] bits
  /// 0–1, 2–3, 4–5, 6–7; x = (d·sc_g)·(q − 32) with one i8 scale per 16 elements.
  @inline(__always) static func dequantizeQ6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = f16(b, 208)
    let scales = (b + 192).assumingMemoryBound(to: Int8.self)
    for half in 0..<2 {
      let ql = 64 * half
      let qh = 128 + 32 * half
      let sc = 8 * half
      for l in 0..<4 {
        let g = l / 2  // 16-element group within each quarter
        let a = bytes8(b, ql + 8 * l)
        let c = bytes8(b, ql + 32 + 8 * l)
        let h = bytes8(b, qh + 8 * l)
        let q1 = ((a & 15) | ((h & 3) &<< 4)) &- 32
        let q2 = ((c & 15) | (((h &>> 2) & 3) &<< 4)) &- 32
        let q3 = ((a &>> 4) | (((h &>> 4) & 3) &<< 4)) &- 32
        let q4 = ((c &>> 4) | (((h &>> 6) & 3) &<< 4)) &- 32
        let base = 128 * half + 8 * l
        store(SIMD8<Float>(repeating: d * Float(scales[sc + g])) * float(q1), y, base)
        store(SIMD8<Float>(repeating: d * Float(scales[sc + g + 2])) * float(q2), y, base + 32)
        store(SIMD8<Float>(repeating: d * Float(scales[sc + g + 4])) * float(q3), y, base + 64)
        store(SIMD8<Float>(repeating: d * Float(scales[sc + g + 6])) * float(q4), y, base + 96)
      }
    }
  }

  /// Q8_K: x = d·q with an f32 d.
  @inline(__always) static func dequantizeQ8_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = SIMD8<Float>(repeating: b.loadUnaligned(as: Float.self))
    for i in 0..<32 { store(float(signedBytes8(b, 4 + 8 * i)) * d, y, 8 * i) }
  }
}

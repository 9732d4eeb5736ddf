/// Naive twins of the quantized kernels: ggml's scalar dequantization loops (element by
/// element, in the f32 operations of `dequantize_row_*`), and products that widen those
/// values to Double and accumulate in Double.
extension Reference {
  /// The `count` values stored at `src` in `format`, by ggml's scalar loops.
  public static func dequantizeRow(_ format: QuantFormat, _ src: UnsafeRawPointer, count: Int) -> [Float] {
    let bytes = src.assumingMemoryBound(to: UInt8.self)
    func u8(_ i: Int) -> Int { Int(bytes[i]) }
    func f16(_ i: Int) -> Float { Float(Float16(bitPattern: UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8)) }
    func i8(_ i: Int) -> Float { Float(Int8(bitPattern: bytes[i])) }
    func scaleMin(_ j: Int, _ q: Int) -> (Float, Float) {
      if j < 4 { return (Float(u8(q + j) & 63), Float(u8(q + j + 4) & 63)) }
      return (
        Float((u8(q + j + 4) & 0xF) | ((u8(q + j - 4) >> 6) << 4)),
        Float((u8(q + j + 4) >> 4) | ((u8(q + j) >> 6) << 4))
      )
    }
    var y = [Float](repeating: 0, count: count)
    let size = format.blockByteCount
    for block in 0..<count / format.blockLength {
      let o = block * size
      let e = block * format.blockLength
      switch format {
      case .f32:
        y[e] = Float(
          bitPattern: UInt32(u8(o)) | UInt32(u8(o + 1)) << 8 | UInt32(u8(o + 2)) << 16 | UInt32(u8(o + 3))
            << 24)
      case .f16: y[e] = f16(o)
      case .bf16: y[e] = Float(bitPattern: (UInt32(u8(o)) | UInt32(u8(o + 1)) << 8) << 16)
      case .q4_0:
        let d = f16(o)
        for j in 0..<16 {
          y[e + j] = Float((u8(o + 2 + j) & 0xF) - 8) * d
          y[e + j + 16] = Float((u8(o + 2 + j) >> 4) - 8) * d
        }
      case .q4_1:
        let (d, m) = (f16(o), f16(o + 2))
        for j in 0..<16 {
          y[e + j] = Float(u8(o + 4 + j) & 0xF) * d + m
          y[e + j + 16] = Float(u8(o + 4 + j) >> 4) * d + m
        }
      case .q8_0:
        for j in 0..<32 { y[e + j] = i8(o + 2 + j) * f16(o) }
      case .q8_K:
        let d = Float(
          bitPattern: UInt32(u8(o)) | UInt32(u8(o + 1)) << 8 | UInt32(u8(o + 2)) << 16 | UInt32(u8(o + 3))
            << 24)
        for j in 0..<256 { y[e + j] = i8(o + 4 + j) * d }
      case .q4_K, .q5_K:
        let (d, dmin) = (f16(o), f16(o + 2))
        let five = format == .q5_K
        let qs = o + (five ? 48 : 16)
        for c in 0..<4 {
          let (sc1, m1) = scaleMin(2 * c, o + 4)
          let (sc2, m2) = scaleMin(2 * c + 1, o + 4)
          let (d1, min1, d2, min2) = (d * sc1, dmin * m1, d * sc2, dmin * m2)
          for l in 0..<32 {
            let q = u8(qs + 32 * c + l)
            let h = five ? u8(o + 16 + l) >> (2 * c) : 0
            y[e + 64 * c + l] = d1 * Float((q & 0xF) + (h & 1) * 16) - min1
            y[e + 64 * c + 32 + l] = d2 * Float((q >> 4) + ((h >> 1) & 1) * 16) - min2
          }
        }
      case .q6_K:
        let d = f16(o + 208)
        for half in 0..<2 {
          let (ql, qh, sc) = (o + 64 * half, o + 128 + 32 * half, o + 192 + 8 * half)
          for l in 0..<32 {
            let g = l / 16
            let q1 = ((u8(ql + l) & 0xF) | ((u8(qh + l) >> 0) & 3) << 4) - 32
            let q2 = ((u8(ql + l + 32) & 0xF) | ((u8(qh + l) >> 2) & 3) << 4) - 32
            let q3 = ((u8(ql + l) >> 4) | ((u8(qh + l) >> 4) & 3) << 4) - 32
            let q4 = ((u8(ql + l + 32) >> 4) | ((u8(qh + l) >> 6) & 3) << 4) - 32
            let base = e + 128 * half + l
            y[base] = d * i8(sc + g) * Float(q1)
            y[base + 32] = d * i8(sc + g + 2) * Float(q2)
            y[base + 64] = d * i8(sc + g + 4) * Float(q3)
            y[base + 96] = d * i8(sc + g + 6) * Float(q4)
          }
        }
      }
    }
    return y
  }

  /// y[n] = act(alpha · W·x + beta·y + bias): each row dequantized, then a Double dot product.
  public static func quantizedGEMV(
    _ w: QuantizedMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
    epilogue: GEMMEpilogue = GEMMEpilogue()
  ) {
    quantizedGEMM(m: 1, x: x, ldx: w.columns, w: w, y: y, ldy: w.rows, epilogue: epilogue)
  }

  /// Y[m, n] = act(alpha · X·Wᵀ + beta·Y + bias), W dequantized row by row, Double sums.
  public static func quantizedGEMM(
    m: Int, x: UnsafePointer<Float>, ldx: Int, w: QuantizedMatrix, y: UnsafeMutablePointer<Float>, ldy: Int,
    epilogue: GEMMEpilogue = GEMMEpilogue()
  ) {
    for j in 0..<w.rows {
      let row = dequantizeRow(w.format, w.row(j), count: w.columns)
      for i in 0..<m {
        var sum = 0.0
        for p in 0..<w.columns { sum += Double(x[i * ldx + p]) * Double(row[p]) }
        var value = epilogue.alpha * Float(sum)
        if epilogue.beta != 0 { value += epilogue.beta * y[i * ldy + j] }
        if let bias = epilogue.bias { value += bias[j] }
        y[i * ldy + j] = epilogue.activation.apply(value)
      }
    }
  }
}

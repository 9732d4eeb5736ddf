import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

/// Seeded weights in a format: quantized from uniform [-1, 1) values where MMKernels has the
/// quantizer, else random bytes with finite f16 scales (every quant and scale bit pattern).
func randomQuantized(_ format: QuantFormat, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
  let rowBytes = format.rowByteCount(columns)
  var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
  var rng = SeededRandom(seed: seed)
  switch format {
  case .q4_K, .q5_K, .q6_K:
    for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
    func setF16(_ value: Float, at offset: Int) {
      let bits = Float16(value).bitPattern
      bytes[offset] = UInt8(truncatingIfNeeded: bits)
      bytes[offset + 1] = UInt8(truncatingIfNeeded: bits >> 8)
    }
    for block in 0..<rows * columns / 256 {
      let o = block * format.blockByteCount
      if format == .q6_K {
        setF16((rng.nextFloat() - 0.5) * 0.004, at: o + 208)
      } else {
        setF16((rng.nextFloat() - 0.5) * 0.06, at: o)
        setF16(rng.nextFloat() * 0.04, at: o + 2)
      }
    }
  default:
    let values = rng.uniform(rows * columns)
    values.withUnsafeBufferPointer { v in
      bytes.withUnsafeMutableBytes { b in
        for r in 0..<rows {
          quantizeRow(
            format, v.baseAddress! + r * columns, count: columns, into: b.baseAddress! + r * rowBytes)
        }
      }
    }
  }
  return bytes
}

/// One quantized product: format, Y[m, n] = X[m, k]·Wᵀ (m == 1: GEMV).
struct QuantCase: CustomStringConvertible, Sendable {
  var format: QuantFormat
  var m: Int, n: Int, k: Int
  var description: String { "\(format) m=\(m) n=\(n) k=\(k)" }
}

let quantFormats: [QuantFormat] = [.q4_0, .q4_1, .q8_0, .q4_K, .q5_K, .q6_K, .q8_K, .f16, .bf16, .f32]

/// Odd row counts, k a multiple of 32 or 256, 1 and several row blocks, GEMV and GEMM tiles.
let quantCases: [QuantCase] = quantFormats.flatMap { format -> [QuantCase] in
  let small = format.blockLength <= 32
  let shapes: [(Int, Int, Int)] =
    [
      (1, 1, 256), (1, 7, 512), (1, 33, 768), (1, 130, 256), (2, 7, 256), (7, 33, 512), (13, 130, 256),
      (64, 48, 768), (97, 21, 512), (33, 130, 512),
    ]
    + (small ? [(1, 5, 32), (1, 9, 96), (5, 17, 160)] : [])
  return shapes.map { QuantCase(format: format, m: $0.0, n: $0.1, k: $0.2) }
}

/// Operands of a case, and the tolerance of its outputs: 2e-6 · Σ_p |X[i, p]·W[j, p]| (f32
/// sums of k products, with block scales applied after each block's sum and offsets or minimums
/// folded into per-block sums of x).
struct QuantOperands {
  let c: QuantCase
  let w: [UInt8]
  let x: [Float]
  let scale: [Float]

  init(_ c: QuantCase, seed: UInt64 = 5) {
    let w = randomQuantized(c.format, rows: c.n, columns: c.k, seed: seed)
    let x = randomFloats(c.m * c.k, seed: seed + 1)
    var scale = [Float](repeating: 0, count: c.m * c.n)
    w.withUnsafeBytes { raw in
      for j in 0..<c.n {
        let row = Reference.dequantizeRow(
          c.format, raw.baseAddress! + j * c.format.rowByteCount(c.k), count: c.k)
        for i in 0..<c.m {
          var sum: Float = 0
          for p in 0..<c.k { sum += abs(row[p] * x[i * c.k + p]) }
          scale[i * c.n + j] = sum
        }
      }
    }
    self.c = c
    self.w = w
    self.x = x
    self.scale = scale
  }

  func withMatrix<R>(_ body: (QuantizedMatrix, UnsafePointer<Float>) -> R) -> R {
    w.withUnsafeBytes { raw in
      x.withUnsafeBufferPointer { xp in
        body(
          QuantizedMatrix(format: c.format, rows: c.n, columns: c.k, base: raw.baseAddress!), xp.baseAddress!)
      }
    }
  }

  func worstError(_ fast: [Float], _ slow: [Float]) -> (ratio: Float, report: String) {
    var worst: Float = 0
    for i in fast.indices {
      let ratio = abs(fast[i] - slow[i]) / max(scale[i], .leastNormalMagnitude)
      if !(ratio <= worst) { worst = ratio.isNaN ? .infinity : ratio }
    }
    return (worst, differenceReport(fast, slow))
  }
}

@Suite("Quantized products") struct QuantProductTests {
  static let tolerance: Float = 2e-6

  /// Every strategy of `quantizedGEMM` (m == 1: the GEMV) against the Double reference.
  @Test(arguments: quantCases)
  func matchesReference(_ c: QuantCase) {
    let ops = QuantOperands(c)
    var slow = [Float](repeating: .nan, count: c.m * c.n)
    ops.withMatrix { w, x in
      slow.withUnsafeMutableBufferPointer {
        Reference.quantizedGEMM(m: c.m, x: x, ldx: c.k, w: w, y: $0.baseAddress!, ldy: c.n)
      }
    }
    let strategies: [QuantizedGEMMStrategy] = c.m == 1 ? [.automatic] : QuantizedGEMMStrategy.allCases
    for strategy in strategies {
      var fast = [Float](repeating: .nan, count: c.m * c.n)
      ops.withMatrix { w, x in
        fast.withUnsafeMutableBufferPointer {
          if c.m == 1 {
            quantizedGEMV(w, x: x, y: $0.baseAddress!)
          } else {
            quantizedGEMM(m: c.m, x: x, ldx: c.k, w: w, y: $0.baseAddress!, ldy: c.n, strategy: strategy)
          }
        }
      }
      let (ratio, report) = ops.worstError(fast, slow)
      #expect(ratio <= Self.tolerance, "\(c) \(strategy): error \(ratio) of Σ|x·w|; \(report)")
    }
  }

  /// alpha, beta (accumulating into Y), bias and an activation, with ldy > n.
  @Test(arguments: [QuantFormat.q4_K, .q8_0, .bf16], [1, 3, 11, 40])
  func epilogue(_ format: QuantFormat, _ m: Int) {
    let c = QuantCase(format: format, m: m, n: 37, k: 512)
    let ops = QuantOperands(c, seed: 9)
    let bias = randomFloats(c.n, seed: 3)
    let ldy = c.n + 3
    let initial = randomFloats(m * ldy, seed: 4)
    var fast = initial
    var slow = initial
    bias.withUnsafeBufferPointer { b in
      let epilogue = GEMMEpilogue(alpha: 0.5, beta: 1, bias: b.baseAddress, activation: .silu)
      ops.withMatrix { w, x in
        fast.withUnsafeMutableBufferPointer {
          quantizedGEMM(m: m, x: x, ldx: c.k, w: w, y: $0.baseAddress!, ldy: ldy, epilogue: epilogue)
        }
        slow.withUnsafeMutableBufferPointer {
          Reference.quantizedGEMM(
            m: m, x: x, ldx: c.k, w: w, y: $0.baseAddress!, ldy: ldy, epilogue: epilogue)
        }
      }
    }
    #expect(maxAbsDifference(fast, slow).value <= 1e-4, "\(c): \(differenceReport(fast, slow))")
    for i in 0..<m {
      for j in c.n..<ldy { #expect(fast[i * ldy + j] == initial[i * ldy + j], "padding untouched") }
    }
  }

  /// Each output is summed by one task in a fixed order: identical bits for any thread count
  /// (m = 1, 2, 19, 40: the GEMV and the three automatic strategies).
  @Test(arguments: [QuantFormat.q4_0, .q4_K, .q5_K, .q6_K], [1, 2, 19, 40])
  func sameResultForAnyThreadCount(_ format: QuantFormat, _ m: Int) {
    let c = QuantCase(format: format, m: m, n: 301, k: 768)
    let ops = QuantOperands(c, seed: 13)
    var results: [[Float]] = []
    for threads in [1, 2, 3, 5] {
      let pool = ThreadPool(threads: threads)
      defer { pool.shutdown() }
      var out = [Float](repeating: 0, count: c.m * c.n)
      ops.withMatrix { w, x in
        out.withUnsafeMutableBufferPointer {
          quantizedGEMM(m: m, x: x, ldx: c.k, w: w, y: $0.baseAddress!, ldy: c.n, pool: pool)
        }
      }
      results.append(out)
    }
    for r in results.dropFirst() { #expect(r == results[0], "\(c)") }
  }

  /// A strided W (rows further apart than their blocks) and a strided X.
  @Test func stridedOperands() {
    let (m, n, k) = (5, 9, 256)
    let rowBytes = QuantFormat.q4_K.rowByteCount(k)
    let packed = randomQuantized(.q4_K, rows: n, columns: k, seed: 21)
    var strided = [UInt8](repeating: 0xEE, count: n * (rowBytes + 40))
    for r in 0..<n {
      for i in 0..<rowBytes { strided[r * (rowBytes + 40) + i] = packed[r * rowBytes + i] }
    }
    let x = randomFloats(m * (k + 7), seed: 22)
    var a = [Float](repeating: 0, count: m * n)
    var b = a
    packed.withUnsafeBytes { p in
      strided.withUnsafeBytes { s in
        x.withUnsafeBufferPointer { xp in
          let w1 = QuantizedMatrix(format: .q4_K, rows: n, columns: k, base: p.baseAddress!)
          let w2 = QuantizedMatrix(
            format: .q4_K, rows: n, columns: k, base: s.baseAddress!, rowStride: rowBytes + 40)
          a.withUnsafeMutableBufferPointer {
            quantizedGEMM(m: m, x: xp.baseAddress!, ldx: k + 7, w: w1, y: $0.baseAddress!, ldy: n)
          }
          b.withUnsafeMutableBufferPointer {
            quantizedGEMM(m: m, x: xp.baseAddress!, ldx: k + 7, w: w2, y: $0.baseAddress!, ldy: n)
          }
        }
      }
    }
    #expect(a == b)
  }
}

@Suite("Quantized formats") struct QuantFormatTests {
  /// The fixture's tensors and their dequantized goldens (gguf.quants.dequantize).
  static func golden(_ name: String) throws -> (
    format: QuantFormat, rows: Int, columns: Int, blocks: [UInt8], values: [Float]
  ) {
    let root = quantPackageRoot()
    let expected =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: root.appendingPathComponent("Tests/Goldens/gguf/expected.json")))
      as? [String: Any]
    let tensors = try #require(expected?["tensors"] as? [String: [String: Any]])
    let entry = try #require(tensors[name], "no tensor \(name) in expected.json: run Scripts/goldens/gguf.py")
    let format = try #require(QuantFormat(rawValue: UInt32(entry["type_id"] as! Int)))
    let shape = entry["shape"] as! [Int]
    let offset = entry["data_offset"] as! Int
    let count = entry["n_bytes"] as! Int
    let file = try Data(contentsOf: root.appendingPathComponent("Tests/Fixtures/gguf/tiny.gguf"))
    let blocks = Array(file[offset..<offset + count])
    let values = try readNPYFloats(root.appendingPathComponent("Tests/Goldens/gguf/\(name).npy"))
    return (format, shape.dropLast().reduce(1, *), shape.last!, blocks, values)
  }

  /// Ours equals the reference `gguf` package bit for bit (the same f32 operations as ggml's
  /// `dequantize_row_*`), both the fast decoder and the scalar reference.
  @Test(arguments: ["q4_0", "q4_1", "q8_0", "q4_k", "q5_k", "q6_k", "bf16", "f16", "f32"])
  func dequantizationEqualsTheGolden(_ name: String) throws {
    let g = try Self.golden(name)
    #expect(g.values.count == g.rows * g.columns)
    var fast = [Float](repeating: .nan, count: g.values.count)
    var slow: [Float] = []
    g.blocks.withUnsafeBytes { raw in
      for r in 0..<g.rows {
        let row = raw.baseAddress! + r * g.format.rowByteCount(g.columns)
        fast.withUnsafeMutableBufferPointer {
          dequantizeRow(g.format, row, count: g.columns, into: $0.baseAddress! + r * g.columns)
        }
        slow += Reference.dequantizeRow(g.format, row, count: g.columns)
      }
    }
    #expect(
      fast.map(\.bitPattern) == g.values.map(\.bitPattern), "\(name): \(differenceReport(fast, g.values))")
    #expect(
      slow.map(\.bitPattern) == g.values.map(\.bitPattern), "\(name): \(differenceReport(slow, g.values))")
  }

  /// quantizeRow reproduces gguf.quants.quantize (ggml's reference quantizers) byte for byte
  /// on the fixture's source rows (its F32 tensor).
  @Test(arguments: ["q4_0", "q4_1", "q8_0", "bf16", "f16"])
  func quantizationEqualsTheReference(_ name: String) throws {
    let source = try Self.golden("f32")
    let target = try Self.golden(name)
    var bytes = [UInt8](repeating: 0, count: target.blocks.count)
    source.values.withUnsafeBufferPointer { x in
      bytes.withUnsafeMutableBytes {
        quantizeRow(target.format, x.baseAddress!, count: x.count, into: $0.baseAddress!)
      }
    }
    let first = zip(bytes, target.blocks).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    #expect(bytes == target.blocks, "\(name): first differing byte \(first ?? -1)")
  }

  /// Q8_K (llama.cpp's activation format) round-trips within half a quantization step.
  @Test func q8KRoundTrip() {
    let x = randomFloats(512, seed: 8, low: -3, high: 3)
    var blocks = [UInt8](repeating: 0, count: QuantFormat.q8_K.rowByteCount(512))
    var back = [Float](repeating: 0, count: 512)
    x.withUnsafeBufferPointer { xp in
      blocks.withUnsafeMutableBytes { quantizeRow(.q8_K, xp.baseAddress!, count: 512, into: $0.baseAddress!) }
    }
    blocks.withUnsafeBytes { dequantizeRow(.q8_K, $0.baseAddress!, count: 512, into: &back) }
    for b in 0..<2 {
      let amax = x[256 * b..<256 * b + 256].map(abs).max()!
      let group0 = blocks.withUnsafeBytes { raw in
        (0..<16).reduce(0) { $0 + Int(raw.load(fromByteOffset: 292 * b + 4 + $1, as: Int8.self)) }
      }
      let bsum0 = blocks.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 292 * b + 260, as: Int16.self) }
      #expect(Int(bsum0) == group0, "group sums")
      for i in 256 * b..<256 * b + 256 { #expect(abs(back[i] - x[i]) <= amax / 127 * 0.5001) }
    }
  }

  @Test func layouts() {
    let expected: [QuantFormat: (Int, Int)] = [
      .f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q4_0: (32, 18), .q4_1: (32, 20), .q8_0: (32, 34),
      .q4_K: (256, 144), .q5_K: (256, 176), .q6_K: (256, 210), .q8_K: (256, 292),
    ]
    for format in QuantFormat.allCases {
      #expect(
        format.blockLength == expected[format]?.0 && format.blockByteCount == expected[format]?.1, "\(format)"
      )
      #expect(QuantFormat(name: format.name.lowercased()) == format)
    }
    #expect(QuantFormat(rawValue: 12) == .q4_K && QuantFormat(rawValue: 6) == nil)
  }
}

func quantPackageRoot() -> URL {
  var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path)
    && dir.path != "/"
  {
    dir = dir.deletingLastPathComponent()
  }
  return dir
}

/// The values of a little-endian float32 `.npy` file (version 1 header, C order).
func readNPYFloats(_ url: URL) throws -> [Float] {
  let bytes = Array(try Data(contentsOf: url))
  try #require(bytes.count >= 10 && bytes[0] == 0x93 && bytes[6] == 1, "\(url.path): not an npy v1 file")
  let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
  let header = String(decoding: bytes[10..<10 + headerLength], as: UTF8.self)
  try #require(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), "\(header)")
  let data = bytes[(10 + headerLength)...]
  return data.withUnsafeBytes { raw in
    (0..<raw.count / 4).map {
      Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
    }
  }
}

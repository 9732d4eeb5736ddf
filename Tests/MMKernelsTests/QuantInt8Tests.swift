import CKernels
import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

/// The decoding GEMV with 8-bit activations (`QuantizedActivations.int8`, the C kernels) and the
/// fused GEMV calls.
///
/// Error bound of `.int8`: x is quantized per block b of 32 to x̂ = d_b·q with
/// d_b = max|x_b|/127 and q = round(x/d_b), so |x_i − x̂_i| ≤ d_b/2 (plus a few ulp of x_i), and
/// each output moves by at most Σ_b d_b/2 · Σ_{i∈b} |w_i| (w the dequantized weight row) — the
/// integer block sums are exact. The tests allow that plus 2e-6 · Σ|w·x| for f32 rounding.
@Suite("Quantized GEMV, 8-bit activations") struct QuantInt8Tests {
  static let formats: [QuantFormat] = [.q4_0, .q4_1, .q8_0]
  static let shapes: [(n: Int, k: Int)] = [(1, 32), (5, 96), (33, 576), (130, 1536), (7, 256)]

  /// (int8 result, f32-activation reference, allowed error) of every output.
  static func compare(_ format: QuantFormat, n: Int, k: Int, seed: UInt64, xScale: Float = 1) -> (
    fast: [Float], slow: [Float], bound: [Float]
  ) {
    let w = randomQuantized(format, rows: n, columns: k, seed: seed)
    // Blocks of very different magnitudes: each block has its own scale.
    var x = randomFloats(k, seed: seed + 1)
    for i in x.indices { x[i] *= xScale * Float(1 + (i / 32) % 5) }
    var fast = [Float](repeating: .nan, count: n)
    var slow = [Float](repeating: .nan, count: n)
    var bound = [Float](repeating: 0, count: n)
    w.withUnsafeBytes { raw in
      let matrix = QuantizedMatrix(format: format, rows: n, columns: k, base: raw.baseAddress!)
      fast.withUnsafeMutableBufferPointer {
        quantizedGEMV(matrix, x: x, y: $0.baseAddress!, activations: .int8)
      }
      slow.withUnsafeMutableBufferPointer {
        Reference.quantizedGEMM(m: 1, x: x, ldx: k, w: matrix, y: $0.baseAddress!, ldy: n)
      }
      for j in 0..<n {
        let row = Reference.dequantizeRow(format, raw.baseAddress! + j * format.rowByteCount(k), count: k)
        var total: Float = 0
        var magnitude: Float = 0
        for b in 0..<k / 32 {
          let amax = x[32 * b..<32 * b + 32].map(abs).max() ?? 0
          var sum: Float = 0
          for i in 32 * b..<32 * b + 32 {
            sum += abs(row[i])
            magnitude += abs(row[i] * x[i])
          }
          total += amax / 254 * sum
        }
        bound[j] = total * (1 + 1e-5) + 2e-6 * magnitude
      }
    }
    return (fast, slow, bound)
  }

  @Test(arguments: formats)
  func withinTheActivationQuantizationBound(_ format: QuantFormat) {
    for (index, shape) in Self.shapes.enumerated() {
      for scale: Float in [1, 1e-3, 300] {
        let (fast, slow, bound) = Self.compare(
          format, n: shape.n, k: shape.k, seed: UInt64(17 + index), xScale: scale)
        for j in 0..<shape.n {
          #expect(
            abs(fast[j] - slow[j]) <= bound[j],
            "\(format) n=\(shape.n) k=\(shape.k) scale \(scale) row \(j): \(fast[j]) vs \(slow[j]), bound \(bound[j])"
          )
        }
        // The quantization does move the result (the integer path really ran) but keeps most
        // of the bound unused: its errors are random in sign.
        let used = zip(zip(fast, slow), bound).map { abs($0.0 - $0.1) / max($1, .leastNormalMagnitude) }
        #expect(used.reduce(0, +) / Float(used.count) < 0.5, "\(format) \(shape)")
      }
    }
  }

  /// The activation quantizer: |x − d·q| ≤ d/2, |q| ≤ 127, d = max|x|/127, s = d·Σq.
  @Test func activationQuantization() {
    var x = randomFloats(32 * 9, seed: 4, low: -5, high: 5)
    for i in 64..<96 { x[i] = 0 }  // an all-zero block: d = 0, q = 0
    x[100] = -40  // a block whose largest magnitude is negative
    var q = [Int8](repeating: 0, count: x.count)
    var d = [Float](repeating: 0, count: 9)
    var s = [Float](repeating: 0, count: 9)
    mm_quantize_act_q8(x, Int64(x.count), &q, &d, &s)
    for b in 0..<9 {
      let block = x[32 * b..<32 * b + 32]
      let amax = block.map(abs).max()!
      #expect(d[b] == amax / 127)
      var sum = 0
      for i in 32 * b..<32 * b + 32 {
        #expect(abs(Int(q[i])) <= 127)
        #expect(abs(x[i] - d[b] * Float(q[i])) <= d[b] * 0.5001, "element \(i)")
        sum += Int(q[i])
      }
      #expect(s[b] == d[b] * Float(sum))
    }
    #expect(q[100] == -127)
    #expect(q[64..<96].allSatisfy { $0 == 0 } && d[2] == 0)
  }

  /// Each output is summed by one task in a fixed order: identical bits for any thread count.
  @Test(arguments: formats)
  func sameResultForAnyThreadCount(_ format: QuantFormat) {
    let (n, k) = (301, 768)
    let w = randomQuantized(format, rows: n, columns: k, seed: 31)
    let x = randomFloats(k, seed: 32)
    var results: [[Float]] = []
    for threads in [1, 2, 3, 5] {
      let pool = ThreadPool(threads: threads)
      defer { pool.shutdown() }
      var y = [Float](repeating: 0, count: n)
      w.withUnsafeBytes { raw in
        let matrix = QuantizedMatrix(format: format, rows: n, columns: k, base: raw.baseAddress!)
        y.withUnsafeMutableBufferPointer {
          quantizedGEMV(matrix, x: x, y: $0.baseAddress!, activations: .int8, pool: pool)
        }
      }
      results.append(y)
    }
    for r in results.dropFirst() { #expect(r == results[0], "\(format)") }
  }

  /// A fused call (mixed formats, bias, accumulation) gives each product's own GEMV bits.
  @Test(arguments: QuantizedActivations.allCases)
  func fusedProductsEqualSeparateCalls(_ activations: QuantizedActivations) {
    let k = 512
    let specs: [(QuantFormat, Int)] = [
      (.q4_1, 37), (.q8_0, 64), (.q4_K, 9), (.f32, 13), (.f16, 5), (.q4_0, 130),
    ]
    let weights = specs.enumerated().map {
      randomQuantized($1.0, rows: $1.1, columns: k, seed: UInt64(40 + $0))
    }
    let x = randomFloats(k, seed: 50)
    let bias = randomFloats(130, seed: 51)
    let initial = randomFloats(130, seed: 52)
    let pool = ThreadPool(threads: 3)
    defer { pool.shutdown() }
    var separate = specs.map { _ in initial }
    var fused = separate
    bias.withUnsafeBufferPointer { b in
      let epilogues = specs.indices.map {
        GEMMEpilogue(beta: $0 % 2 == 0 ? 0 : 1, bias: $0 % 3 == 0 ? b.baseAddress : nil)
      }
      withMatrices(weights, specs, k: k) { matrices in
        for i in specs.indices {
          separate[i].withUnsafeMutableBufferPointer {
            quantizedGEMV(
              matrices[i], x: x, y: $0.baseAddress!, epilogue: epilogues[i], activations: activations,
              pool: pool)
          }
        }
        withOutputs(&fused) { outputs in
          let products = specs.indices.map {
            QuantizedGEMVProduct(matrices[$0], y: outputs[$0], epilogue: epilogues[$0])
          }
          quantizedGEMVs(products, x: x, activations: activations, pool: pool)
        }
      }
    }
    for i in specs.indices { #expect(fused[i] == separate[i], "\(specs[i].0)") }
  }

  /// gate/up/SwiGLU in one call equals two GEMVs and `swiglu`, bit for bit.
  @Test(arguments: [QuantFormat.q4_1, .q8_0, .q6_K, .bf16], QuantizedActivations.allCases)
  func gatedGEMVEqualsTwoGEMVsAndSwiGLU(_ format: QuantFormat, _ activations: QuantizedActivations) {
    let (n, k) = (203, 256)
    let gate = randomQuantized(format, rows: n, columns: k, seed: 60)
    let up = randomQuantized(format, rows: n, columns: k, seed: 61)
    let x = randomFloats(k, seed: 62)
    let pool = ThreadPool(threads: 2)
    defer { pool.shutdown() }
    var g = [Float](repeating: 0, count: n)
    var u = g
    var expected = g
    var got = g
    withMatrices([gate, up], [(format, n), (format, n)], k: k) { m in
      g.withUnsafeMutableBufferPointer {
        quantizedGEMV(m[0], x: x, y: $0.baseAddress!, activations: activations)
      }
      u.withUnsafeMutableBufferPointer {
        quantizedGEMV(m[1], x: x, y: $0.baseAddress!, activations: activations)
      }
      expected.withUnsafeMutableBufferPointer { swiglu(gate: g, up: u, output: $0.baseAddress!, count: n) }
      got.withUnsafeMutableBufferPointer {
        quantizedGatedGEMV(
          gate: m[0], up: m[1], x: x, out: $0.baseAddress!, activations: activations, pool: pool)
      }
    }
    #expect(got == expected)
  }

  /// The matrices of `weights` (format and rows per spec, k columns) for the body's duration.
  func withMatrices(
    _ weights: [[UInt8]], _ specs: [(QuantFormat, Int)], k: Int, _ body: ([QuantizedMatrix]) -> Void
  ) {
    let buffers = weights.map { bytes -> UnsafeMutableRawPointer in
      let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 64)
      p.copyMemory(from: bytes, byteCount: bytes.count)
      return p
    }
    defer {
      for buffer in buffers { buffer.deallocate() }
    }
    body(
      specs.indices.map {
        QuantizedMatrix(
          format: specs[$0].0, rows: specs[$0].1, columns: k, base: UnsafeRawPointer(buffers[$0]))
      })
  }

  /// Stable pointers to each array of `arrays` for the body's duration, written back after.
  func withOutputs(_ arrays: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) {
    let pointers = arrays.map { a -> UnsafeMutablePointer<Float> in
      let p = UnsafeMutablePointer<Float>.allocate(capacity: a.count)
      p.initialize(from: a, count: a.count)
      return p
    }
    body(pointers)
    for i in arrays.indices {
      arrays[i] = Array(UnsafeBufferPointer(start: pointers[i], count: arrays[i].count))
      pointers[i].deallocate()
    }
  }
}

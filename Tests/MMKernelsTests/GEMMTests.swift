import MMCore
import MMKernels
import MMTestSupport
import Testing

/// One GEMM problem: sizes, operand layouts and the B dtype.
struct GEMMCase: CustomStringConvertible, Sendable {
  var m: Int, n: Int, k: Int
  var transA = false, transB = false
  var dtype: DType = .f32
  var description: String {
    "\(m)×\(n)×\(k)\(transA ? " Aᵀ" : "")\(transB ? " Bᵀ" : "") B:\(dtype.name)"
  }
}

/// Sizes that hit every edge of the 6×16 tiling and the kc = 256 blocking: 1, primes, exact
/// multiples, one-past, m == 1 (the GEMV path) and a transformer-sized case.
let gemmShapes: [(Int, Int, Int)] = [
  (1, 1, 1), (2, 3, 4), (6, 16, 1), (7, 17, 5), (13, 31, 29), (64, 64, 64), (97, 101, 103),
  (1, 4096, 33), (1, 67, 300), (5, 1000, 300), (300, 50, 600), (197, 768, 77), (12, 48, 513),
]

let gemmCases: [GEMMCase] =
  gemmShapes.flatMap { shape -> [GEMMCase] in
    let (m, n, k) = shape
    return [
      GEMMCase(m: m, n: n, k: k),
      GEMMCase(m: m, n: n, k: k, transA: true),
      GEMMCase(m: m, n: n, k: k, transB: true),
      GEMMCase(m: m, n: n, k: k, transA: true, transB: true),
    ]
  }
  + gemmShapes.flatMap { shape -> [GEMMCase] in
    let (m, n, k) = shape
    return [DType.f16, .bf16].flatMap { dtype in
      [false, true].map { GEMMCase(m: m, n: n, k: k, transB: $0, dtype: dtype) }
    }
  }

/// Operands for a case, laid out as the case says, with B in its dtype.
struct GEMMOperands {
  let a: Tensor, b: Tensor
  let aOperand: MatrixOperand, bOperand: MatrixOperand

  init(_ c: GEMMCase, seed: UInt64 = 7) {
    a = Tensor(randomFloats(c.m * c.k, seed: seed), shape: c.transA ? [c.k, c.m] : [c.m, c.k])
    b = Tensor(randomFloats(c.k * c.n, seed: seed + 1), shape: c.transB ? [c.n, c.k] : [c.k, c.n])
      .converted(to: c.dtype)
    aOperand = MatrixOperand(
      UnsafePointer(a.pointer(Float.self)), ld: c.transA ? c.m : c.k, transposed: c.transA)
    bOperand = MatrixOperand(
      raw: b.baseAddress, dtype: c.dtype, ld: c.transB ? c.k : c.n, transposed: c.transB)
  }
}

@Suite("GEMM") struct GEMMTests {
  /// Fast vs the Double reference; tolerance scales with √k (f32 rounding of a k-term sum of
  /// products of values in [-1, 1]).
  @Test(arguments: gemmCases)
  func matchesReference(_ c: GEMMCase) {
    let ops = GEMMOperands(c)
    var fast = [Float](repeating: .nan, count: c.m * c.n)
    var slow = [Float](repeating: .nan, count: c.m * c.n)
    fast.withUnsafeMutableBufferPointer {
      gemm(m: c.m, n: c.n, k: c.k, a: ops.aOperand, b: ops.bOperand, c: $0.baseAddress!, ldc: c.n)
    }
    slow.withUnsafeMutableBufferPointer {
      Reference.gemm(m: c.m, n: c.n, k: c.k, a: ops.aOperand, b: ops.bOperand, c: $0.baseAddress!, ldc: c.n)
    }
    let tolerance = 2e-6 * Float(c.k).squareRoot() * 4
    #expect(maxAbsDifference(fast, slow).value <= tolerance, "\(c): \(differenceReport(fast, slow))")
  }

  /// alpha, beta (accumulate into C), bias and every activation, on a strided C (ldc > n).
  @Test(arguments: Activation.allCases, [(1, 40, 9), (23, 37, 300)])
  func epilogue(_ activation: Activation, _ shape: (Int, Int, Int)) {
    let (m, n, k) = shape
    let c = GEMMCase(m: m, n: n, k: k, transB: true)
    let ops = GEMMOperands(c, seed: 11)
    let bias = randomFloats(n, seed: 3)
    let ldc = n + 5
    let initial = randomFloats(m * ldc, seed: 4)
    var fast = initial
    var slow = initial
    bias.withUnsafeBufferPointer { biasPointer in
      let epilogue = GEMMEpilogue(alpha: 0.5, beta: 1, bias: biasPointer.baseAddress, activation: activation)
      fast.withUnsafeMutableBufferPointer {
        gemm(
          m: m, n: n, k: k, a: ops.aOperand, b: ops.bOperand, c: $0.baseAddress!, ldc: ldc, epilogue: epilogue
        )
      }
      slow.withUnsafeMutableBufferPointer {
        Reference.gemm(
          m: m, n: n, k: k, a: ops.aOperand, b: ops.bOperand, c: $0.baseAddress!, ldc: ldc, epilogue: epilogue
        )
      }
    }
    #expect(
      maxAbsDifference(fast, slow).value <= 1e-4, "\(activation) \(shape): \(differenceReport(fast, slow))")
    // The padding columns between n and ldc are untouched.
    for i in 0..<m {
      for j in n..<ldc { #expect(fast[i * ldc + j] == initial[i * ldc + j]) }
    }
  }

  /// Each C element is summed by one task in a fixed order: identical bits for any thread count.
  @Test(arguments: [(197, 300, 270), (1, 999, 257)])
  func sameResultForAnyThreadCount(_ shape: (Int, Int, Int)) {
    let (m, n, k) = shape
    let ops = GEMMOperands(GEMMCase(m: m, n: n, k: k))
    var results: [[Float]] = []
    for threads in [1, 2, 3, 5] {
      let pool = ThreadPool(threads: threads)
      defer { pool.shutdown() }
      var out = [Float](repeating: 0, count: m * n)
      out.withUnsafeMutableBufferPointer {
        gemm(m: m, n: n, k: k, a: ops.aOperand, b: ops.bOperand, c: $0.baseAddress!, ldc: n, pool: pool)
      }
      results.append(out)
    }
    for r in results.dropFirst() { #expect(r == results[0]) }
  }

  /// A packed B reused for several A matrices gives the same result as packing each time.
  @Test func prepackedWeights() {
    let c = GEMMCase(m: 33, n: 70, k: 90, transB: true, dtype: .bf16)
    let ops = GEMMOperands(c)
    let packed = PackedB(k: c.k, n: c.n, b: ops.bOperand)
    var once = [Float](repeating: 0, count: c.m * c.n)
    var each = once
    once.withUnsafeMutableBufferPointer {
      gemm(m: c.m, a: ops.aOperand, packedB: packed, c: $0.baseAddress!, ldc: c.n)
    }
    each.withUnsafeMutableBufferPointer {
      gemm(m: c.m, n: c.n, k: c.k, a: ops.aOperand, b: ops.bOperand, c: $0.baseAddress!, ldc: c.n)
    }
    #expect(once == each)
  }
}

@Suite("GEMM batched") struct GEMMBatchedTests {
  /// Batched products (shared and per-item B) equal one reference product per item.
  @Test(arguments: [(1, 3, 5, 7), (8, 9, 17, 12), (3, 64, 70, 130)], [false, true])
  func matchesPerItemReference(_ dims: (Int, Int, Int, Int), _ sharedB: Bool) {
    let (batch, m, n, k) = dims
    let a = randomFloats(batch * m * k, seed: 21)
    let b = randomFloats((sharedB ? 1 : batch) * k * n, seed: 22)
    var fast = [Float](repeating: .nan, count: batch * m * n)
    var slow = fast
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        let aOp = MatrixOperand(ap.baseAddress!, ld: k)
        let bOp = MatrixOperand(bp.baseAddress!, ld: n)
        fast.withUnsafeMutableBufferPointer {
          gemmBatched(
            batch: batch, m: m, n: n, k: k, a: aOp, strideA: m * k, b: bOp, strideB: sharedB ? 0 : k * n,
            c: $0.baseAddress!, ldc: n, strideC: m * n)
        }
        slow.withUnsafeMutableBufferPointer { out in
          for i in 0..<batch {
            Reference.gemm(
              m: m, n: n, k: k, a: aOp.advanced(by: i * m * k), b: bOp.advanced(by: sharedB ? 0 : i * k * n),
              c: out.baseAddress! + i * m * n, ldc: n)
          }
        }
      }
    }
    #expect(maxAbsDifference(fast, slow).value <= 1e-4, "\(dims): \(differenceReport(fast, slow))")
  }

  /// k == 0 leaves act(beta·C + bias); m == 0 or n == 0 touch nothing.
  @Test func degenerateSizes() {
    var c: [Float] = [1, 2, 3, 4]
    let bias: [Float] = [10, 20]
    let dummy: [Float] = [0]
    dummy.withUnsafeBufferPointer { d in
      bias.withUnsafeBufferPointer { bp in
        let op = MatrixOperand(d.baseAddress!, ld: 1)
        c.withUnsafeMutableBufferPointer {
          gemm(
            m: 2, n: 2, k: 0, a: op, b: op, c: $0.baseAddress!, ldc: 2,
            epilogue: GEMMEpilogue(beta: 2, bias: bp.baseAddress))
        }
      }
    }
    #expect(c == [12, 24, 16, 28])
  }
}

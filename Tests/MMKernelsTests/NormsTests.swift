import MMCore
import MMTestSupport
import Testing

@testable import MMKernels

/// (rows, dim): one element, odd and prime sizes, tails of every length, and one large case.
private let shapes: [(Int, Int)] = [
  (1, 1), (1, 7), (3, 8), (5, 13), (2, 31), (7, 64), (4, 97), (33, 768), (256, 4099),
]

@Suite("Norms and softmax")
struct NormsTests {
  @Test(arguments: shapes)
  func layerNormMatchesReference(_ rows: Int, _ dim: Int) {
    let x = randomFloats(rows * dim, seed: UInt64(rows * 1000 + dim), low: -3, high: 5)
    let gamma = randomFloats(dim, seed: 2, low: 0.5, high: 1.5)
    let beta = randomFloats(dim, seed: 3)
    for (g, b) in [(gamma, beta), (nil, nil)] as [([Float]?, [Float]?)] {
      var out = [Float](repeating: .nan, count: x.count)
      layerNorm(x, &out, rows: rows, dim: dim, gamma: g, beta: b, eps: 1e-5)
      let expected = Reference.layerNorm(x, rows: rows, dim: dim, gamma: g, beta: b, eps: 1e-5)
      #expect(
        allClose(out, expected, atol: 2e-5, rtol: 1e-5),
        "[\(rows), \(dim)] affine=\(g != nil): \(differenceReport(out, expected))")
    }
  }

  @Test(arguments: shapes)
  func rmsNormMatchesReference(_ rows: Int, _ dim: Int) {
    let x = randomFloats(rows * dim, seed: UInt64(rows * 31 + dim), low: -4, high: 4)
    let w = randomFloats(dim, seed: 5, low: -1, high: 1)
    for unitOffset in [false, true] {
      var out = x
      // In place: out aliases x.
      out.withUnsafeMutableBufferPointer { b in
        rmsNorm(
          b.baseAddress!, b.baseAddress!, rows: rows, dim: dim, weight: w, eps: 1e-6,
          addUnitOffset: unitOffset)
      }
      let expected = Reference.rmsNorm(
        x, rows: rows, dim: dim, weight: w, eps: 1e-6, addUnitOffset: unitOffset)
      #expect(
        allClose(out, expected, atol: 2e-5, rtol: 1e-5),
        "[\(rows), \(dim)] gemma=\(unitOffset): \(differenceReport(out, expected))")
    }
  }

  @Test func layerNormOfLargeOffsetKeepsPrecision() {
    // A large common offset: a one-pass E[x²] − E[x]² would lose every digit here.
    let dim = 300
    let x = randomFloats(dim, seed: 9).map { $0 + 10_000 }
    var out = [Float](repeating: 0, count: dim)
    layerNorm(x, &out, rows: 1, dim: dim, eps: 1e-5)
    let expected = Reference.layerNorm(x, rows: 1, dim: dim, gamma: nil, beta: nil, eps: 1e-5)
    #expect(allClose(out, expected, atol: 5e-3, rtol: 0), "\(differenceReport(out, expected))")
  }

  @Test(arguments: shapes)
  func softmaxMatchesReference(_ rows: Int, _ cols: Int) {
    var x = randomFloats(rows * cols, seed: UInt64(rows + cols), low: -30, high: 30)
    if cols > 3 { x[1] = -.infinity }
    if rows > 2 { for c in 0..<cols { x[2 * cols + c] = -.infinity } }  // a fully masked row
    var out = [Float](repeating: .nan, count: x.count)
    softmaxRows(x, &out, rows: rows, cols: cols)
    let expected = Reference.softmaxRows(x, rows: rows, cols: cols)
    #expect(
      allClose(out, expected, atol: 1e-6, rtol: 1e-5),
      "softmax [\(rows), \(cols)]: \(differenceReport(out, expected))")
    var logOut = x
    logOut.withUnsafeMutableBufferPointer { b in
      logSoftmaxRows(b.baseAddress!, b.baseAddress!, rows: rows, cols: cols)
    }
    let logExpected = Reference.logSoftmaxRows(x, rows: rows, cols: cols)
    let finite = { (a: [Float]) in a.map { $0 == -.infinity ? -1e30 : $0 } }
    #expect(
      allClose(finite(logOut), finite(logExpected), atol: 1e-5, rtol: 1e-5),
      "logSoftmax [\(rows), \(cols)]: \(differenceReport(finite(logOut), finite(logExpected)))")
  }

  @Test func softmaxExtremes() {
    // Huge logits must not overflow; a NaN poisons only its own row.
    let x: [Float] = [1e30, 1e30, -1e30, 0, .nan, 1, 2, 3]
    var out = [Float](repeating: 0, count: 8)
    softmaxRows(x, &out, rows: 2, cols: 4)
    #expect(Array(out[0..<4]) == [0.5, 0.5, 0, 0])
    #expect(out[4...].allSatisfy { $0.isNaN })
  }

  @Test func layerNormMatchesTorchGolden() throws {
    let g = try NNGolden.load("layer_norm.json")
    let rows = try g.int("rows"), dim = try g.int("dim")
    var out = [Float](repeating: 0, count: rows * dim)
    layerNorm(
      try g.array("x"), &out, rows: rows, dim: dim, gamma: try g.array("weight"),
      beta: try g.array("bias"), eps: Float(try g.value("eps")))
    let expected = try g.array("y")
    #expect(allClose(out, expected, atol: 1e-5, rtol: 1e-5), "\(differenceReport(out, expected))")
  }

  @Test(arguments: ["rms_norm_llama.json", "rms_norm_gemma.json"])
  func rmsNormMatchesHFGolden(_ file: String) throws {
    let g = try NNGolden.load(file)
    let rows = try g.int("rows"), dim = try g.int("dim")
    var out = [Float](repeating: 0, count: rows * dim)
    rmsNorm(
      try g.array("x"), &out, rows: rows, dim: dim, weight: try g.array("weight"),
      eps: Float(try g.value("eps")), addUnitOffset: try g.int("unit_offset") == 1)
    let expected = try g.array("y")
    #expect(allClose(out, expected, atol: 1e-5, rtol: 1e-5), "\(file): \(differenceReport(out, expected))")
  }

  @Test func softmaxMatchesTorchGolden() throws {
    let g = try NNGolden.load("softmax.json")
    let rows = try g.int("rows"), cols = try g.int("cols")
    var out = [Float](repeating: 0, count: rows * cols)
    let x = try g.array("x"), soft = try g.array("softmax"), logSoft = try g.array("log_softmax")
    softmaxRows(x, &out, rows: rows, cols: cols)
    #expect(allClose(out, soft, atol: 1e-6, rtol: 1e-5), "\(differenceReport(out, soft))")
    logSoftmaxRows(x, &out, rows: rows, cols: cols)
    #expect(allClose(out, logSoft, atol: 1e-5, rtol: 1e-5), "\(differenceReport(out, logSoft))")
  }
}

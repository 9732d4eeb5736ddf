import Foundation
import MMCore
import MMTestSupport
import Testing

@testable import MMKernels

/// Samples spanning the whole float range: dense near zero, then log-spaced out to ±max.
private func wideSamples() -> [Float] {
  var values: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude]
  var rng = SeededRandom(seed: 7)
  for _ in 0..<20_000 { values.append(rng.nextFloat() * 40 - 20) }
  for _ in 0..<20_000 {
    let magnitude = Float(pow(10, Double(rng.nextFloat() * 76 - 38)))
    values.append(rng.nextFloat() < 0.5 ? -magnitude : magnitude)
  }
  // Around the exp overflow / underflow / subnormal boundaries.
  for _ in 0..<5_000 { values.append(80 + rng.nextFloat() * 10) }
  for _ in 0..<5_000 { values.append(-110 + rng.nextFloat() * 30) }
  return values
}

private func mapped(_ xs: [Float], _ f: (SIMD8<Float>) -> SIMD8<Float>) -> [Float] {
  var out = xs
  out.withUnsafeMutableBufferPointer { b in mapVectors(b.baseAddress!, b.baseAddress!, count: b.count, f) }
  return out
}

/// Distance in units in the last place of the Double-precision truth, on the float grid.
private func ulps(_ value: Float, _ truth: Double) -> Double {
  let t = Float(truth)
  if value == t { return 0 }
  if t.isInfinite || value.isInfinite { return .infinity }
  let ulp = Double(max(t.ulp, Float.leastNonzeroMagnitude))
  return abs(Double(value) - truth) / ulp
}

@Suite("Vector math")
struct VectorMathTests {
  @Test func expWithinTwoUlpOverFullRange() {
    let xs = wideSamples()
    let ys = mapped(xs, vExp)
    var worst = 0.0
    var worstAt = 0
    for (i, x) in xs.enumerated() {
      let u = ulps(ys[i], Foundation.exp(Double(x)))
      if u > worst || u.isNaN { (worst, worstAt) = (u, i) }
    }
    #expect(
      worst <= 2,
      "exp(\(xs[worstAt])) = \(ys[worstAt]), truth \(Foundation.exp(Double(xs[worstAt]))): \(worst) ulp")
    #expect(ys[xs.firstIndex(of: .infinity)!] == .infinity)
    #expect(ys[xs.firstIndex(of: -.infinity)!] == 0)
    #expect(mapped([.nan, 100, -200, 88.72, -87.5, -100], vExp)[0].isNaN)
    #expect(mapped([100, -200], vExp) == [.infinity, 0])
  }

  @Test func erfWithinOneMillionth() {
    let xs = wideSamples()
    let ys = mapped(xs, vErf)
    var worst = 0.0
    var at = 0
    for (i, x) in xs.enumerated() {
      let d = abs(Double(ys[i]) - Foundation.erf(Double(x)))
      if d > worst || d.isNaN { (worst, at) = (d, i) }
    }
    #expect(worst <= 1e-6, "erf(\(xs[at])) = \(ys[at]): |Δ| = \(worst)")
    #expect(mapped([.nan], vErf)[0].isNaN)
  }

  @Test func tanhAccurate() {
    let xs = wideSamples()
    let ys = mapped(xs, vTanh)
    var worst = 0.0
    var at = 0
    for (i, x) in xs.enumerated() {
      let truth = Foundation.tanh(Double(x))
      let d = abs(Double(ys[i]) - truth)
      if d > worst || d.isNaN { (worst, at) = (d, i) }
      #expect(ulps(ys[i], truth) <= 4, "tanh(\(x)) = \(ys[i]) vs \(truth)")
    }
    #expect(worst <= 2e-7, "tanh(\(xs[at])) = \(ys[at]): |Δ| = \(worst)")
  }
}

@Suite("Activations")
struct ActivationTests {
  static let counts = [1, 7, 8, 13, 64, 1_000, 100_003]

  @Test(arguments: Activation.allCases)
  func inPlaceMatchesReference(_ act: Activation) {
    for count in Self.counts {
      let x = randomFloats(count, seed: UInt64(count), low: -12, high: 12)
      var fast = x
      fast.withUnsafeMutableBufferPointer { applyActivation(act, $0.baseAddress!, count: count) }
      let expected = Reference.activation(act, x)
      #expect(
        allClose(fast, expected, atol: 2e-6, rtol: 2e-6),
        "\(act) n=\(count): \(differenceReport(fast, expected))")
    }
  }

  @Test(arguments: Activation.allCases)
  func outOfPlaceParallelMatchesInPlace(_ act: Activation) {
    let x = randomFloats(70_001, seed: 3, low: -8, high: 8)
    var inPlace = x
    inPlace.withUnsafeMutableBufferPointer { applyActivation(act, $0.baseAddress!, count: $0.count) }
    var out = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer {
        applyActivation(act, src.baseAddress!, into: $0.baseAddress!, count: src.count)
      }
    }
    #expect(out == inPlace)
  }

  @Test func activationsAtExtremes() {
    let xs: [Float] = [-1e30, -100, -20, 0, 20, 100, 1e30]
    for act in Activation.allCases {
      var y = xs
      y.withUnsafeMutableBufferPointer { applyActivation(act, $0.baseAddress!, count: $0.count) }
      let expected = Reference.activation(act, xs)
      #expect(allClose(y, expected, atol: 1e-6, rtol: 1e-6), "\(act): \(y) vs \(expected)")
    }
  }

  @Test(arguments: [1, 9, 4_099])
  func swigluMatchesDefinition(_ count: Int) {
    let gate = randomFloats(count, seed: 11, low: -6, high: 6)
    let up = randomFloats(count, seed: 12, low: -2, high: 2)
    var out = [Float](repeating: 0, count: count)
    swiglu(gate: gate, up: up, output: &out, count: count)
    let expected = zip(Reference.activation(.silu, gate), up).map { $0 * $1 }
    #expect(allClose(out, expected, atol: 2e-6, rtol: 2e-6), "\(differenceReport(out, expected))")
    var geglu = [Float](repeating: 0, count: count)
    gatedActivation(.gelu, gate: gate, up: up, output: &geglu, count: count)
    let expectedGeglu = zip(Reference.activation(.gelu, gate), up).map { $0 * $1 }
    #expect(
      allClose(geglu, expectedGeglu, atol: 2e-6, rtol: 2e-6), "\(differenceReport(geglu, expectedGeglu))")
  }

  /// torch.nn.functional.gelu (both forms) and silu, from Scripts/goldens/nn.py.
  @Test(arguments: ["gelu", "gelu_tanh", "silu"])
  func matchesTorchGolden(_ name: String) throws {
    let golden = try NNGolden.load("activation_\(name).json")
    let act: Activation = name == "gelu" ? .gelu : name == "silu" ? .silu : .geluTanh
    var y = try golden.array("x")
    y.withUnsafeMutableBufferPointer { applyActivation(act, $0.baseAddress!, count: $0.count) }
    let expected = try golden.array("y")
    #expect(allClose(y, expected, atol: 2e-6, rtol: 2e-6), "\(name): \(differenceReport(y, expected))")
  }
}

/// A golden file written by Scripts/goldens/nn.py: scalar parameters plus named flat arrays
/// (non-finite values spelled "inf", "-inf", "nan").
struct NNGolden: Decodable {
  let meta: [String: Double]
  let arrays: [String: [Float]]

  struct Missing: Error, CustomStringConvertible {
    let description: String
  }

  static func load(_ name: String) throws -> NNGolden {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
      guard dir.path != "/" else { throw Missing(description: "no Package.swift above \(#filePath)") }
      dir = dir.deletingLastPathComponent()
    }
    let url = dir.appendingPathComponent("Tests/Goldens/nn/\(name)")
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw Missing(description: "golden file \(url.path) is missing: run Scripts/goldens/nn.py")
    }
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(NNGolden.self, from: data)
  }

  func array(_ key: String) throws -> [Float] {
    guard let a = arrays[key] else { throw Missing(description: "golden has no array \"\(key)\"") }
    return a
  }

  func int(_ key: String) throws -> Int {
    guard let v = meta[key] else { throw Missing(description: "golden has no meta \"\(key)\"") }
    return Int(v)
  }

  func value(_ key: String) throws -> Double {
    guard let v = meta[key] else { throw Missing(description: "golden has no meta \"\(key)\"") }
    return v
  }
}

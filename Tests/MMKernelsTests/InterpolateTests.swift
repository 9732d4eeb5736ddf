import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

/// Bilinear resize against `torch.nn.functional.interpolate(mode="bilinear")` (goldens in
/// Tests/Goldens/video/interpolate.json by Scripts/goldens/video.py) and against the Double
/// reference. Tolerance 1e-6 absolute against torch on inputs in [0, 1].
@Suite struct InterpolateTests {
  static func goldens() throws -> [JSONValue] {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url = url.deletingLastPathComponent()
    }
    let path = url.appendingPathComponent("Tests/Goldens/video/interpolate.json").path
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try JSONParser.parse([UInt8](data), file: path, recordLocations: false).root.elements ?? []
  }

  @Test func matchesTorch() throws {
    let cases = try Self.goldens()
    #expect(cases.count >= 9)
    for c in cases {
      let name = c["name"]?.string ?? "?"
      let inShape = (c["input_shape"]?.elements ?? []).compactMap(\.int)
      let outShape = (c["output_shape"]?.elements ?? []).compactMap(\.int)
      let input = (c["input"]?.elements ?? []).compactMap(\.double).map(Float.init)
      let expected = (c["output"]?.elements ?? []).compactMap(\.double).map(Float.init)
      let corners = c["align_corners"]?.bool ?? false
      let x = Tensor(input, shape: inShape)
      let y = try resizeBilinear(x, height: outShape[1], width: outShape[2], alignCorners: corners)
      #expect(y.shape == outShape, "\(name)")
      let difference = maxAbsDifference(y.floats(), expected)
      #expect(difference.value <= 1e-6, "\(name): \(differenceReport(y.floats(), expected))")
    }
  }

  static let shapes: [(planes: Int, inH: Int, inW: Int, outH: Int, outW: Int)] = [
    (1, 1, 1, 1, 1), (1, 1, 1, 3, 5), (2, 3, 3, 3, 3), (3, 7, 5, 13, 11), (3, 120, 160, 224, 298),
    (2, 128, 96, 298, 224), (1, 17, 31, 5, 4), (4, 9, 2, 1, 7), (5, 33, 47, 33, 48),
  ]

  @Test(arguments: 0..<shapes.count, [false, true]) func matchesReference(_ i: Int, alignCorners: Bool) {
    let s = Self.shapes[i]
    let x = randomFloats(s.planes * s.inH * s.inW, seed: UInt64(40 + i), low: 0, high: 1)
    let count = s.planes * s.outH * s.outW
    var fast = [Float](repeating: .nan, count: count)
    var reference = [Float](repeating: .nan, count: count)
    resizeBilinear(
      planes: s.planes, inputHeight: s.inH, inputWidth: s.inW, outputHeight: s.outH, outputWidth: s.outW,
      alignCorners: alignCorners, input: x, output: &fast, pool: convTestPool)
    Reference.resizeBilinear(
      planes: s.planes, inputHeight: s.inH, inputWidth: s.inW, outputHeight: s.outH, outputWidth: s.outW,
      alignCorners: alignCorners, input: x, output: &reference)
    // torch (and the fast kernel) place samples in Float, the reference in Double: positions up to
    // max(inH, inW) differ by a few ulps of that size, which moves values in [0, 1] as much.
    let tolerance = Float(max(s.inH, s.inW)) * 4 * .ulpOfOne
    let difference = maxAbsDifference(fast, reference).value
    #expect(difference <= tolerance, "\(s): \(differenceReport(fast, reference))")
  }

  @Test func deterministicAcrossThreadCounts() {
    let x = randomFloats(3 * 60 * 80, seed: 7, low: 0, high: 1)
    var one = [Float](repeating: 0, count: 3 * 224 * 298)
    var many = one
    let single = ThreadPool(threads: 1)
    defer { single.shutdown() }
    resizeBilinear(
      planes: 3, inputHeight: 60, inputWidth: 80, outputHeight: 224, outputWidth: 298, input: x, output: &one,
      pool: single)
    resizeBilinear(
      planes: 3, inputHeight: 60, inputWidth: 80, outputHeight: 224, outputWidth: 298, input: x,
      output: &many,
      pool: convTestPool)
    #expect(one == many)
  }

  @Test func tensorEntryPointChecksItsInput() throws {
    let x = Tensor([1, 2, 3, 4], shape: [2, 2])
    let up = try resizeBilinear(x, height: 4, width: 4)
    #expect(up.shape == [4, 4])
    // Half-pixel centres: the first output sits a quarter pixel before input 0 and clamps to it.
    #expect(up.floats()[0] == 1 && up.floats()[15] == 4)
    #expect(throws: TensorError.self) {
      _ = try resizeBilinear(Tensor([1, 2], shape: [2]), height: 2, width: 2)
    }
    #expect(throws: TensorError.self) { _ = try resizeBilinear(x, height: 0, width: 2) }
    #expect(throws: TensorError.self) {
      _ = try resizeBilinear(Tensor(zeros: [2, 2], dtype: .f64), height: 2, width: 2)
    }
  }
}

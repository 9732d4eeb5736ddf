import MMCore
import MMTestSupport
import Testing

@testable import MMKernels

/// (shape, axis): rows, columns, middle axes, size-1 axes, primes, and a large case.
private let cases: [([Int], Int)] = [
  ([1], 0), ([7], 0), ([3, 13], 1), ([3, 13], 0), ([2, 5, 3], 1), ([4, 1, 9], 1), ([5, 31, 2], -1),
  ([2, 3, 4, 5], 2), ([9, 1030], 0), ([257, 4099], 1), ([3, 4099, 17], 1),
]

@Suite("Reductions and top-k")
struct ReductionsTests {
  @Test(arguments: cases)
  func matchesReference(_ shape: [Int], _ axis: Int) throws {
    var x = randomFloats(shape.reduce(1, *), seed: UInt64(shape.reduce(7, *)), low: -3, high: 3)
    // Exact ties, so the lowest-index rule is exercised.
    for i in stride(from: 0, to: x.count, by: 11) { x[i] = 3 }
    let tensor = Tensor(x, shape: shape)
    let a = axis < 0 ? axis + shape.count : axis
    for reduction in Reduction.allCases {
      for correction in reduction == .variance ? [0, 1] : [0] {
        if reduction == .variance && correction == 1 && shape[a] == 1 { continue }
        let result = try reduce(tensor, reduction, axis: axis, correction: correction)
        var expectedShape = shape
        expectedShape.remove(at: a)
        #expect(result.shape == expectedShape)
        let expected = Reference.reduce(x, shape: shape, axis: a, reduction, correction: correction)
        let got = result.floats()
        #expect(
          allClose(got, expected, atol: 2e-5, rtol: 1e-5),
          "\(reduction) \(shape) axis \(axis): \(differenceReport(got, expected))")
      }
    }
    let kept = try reduceSum(tensor, axis: axis, keepDims: true)
    #expect(kept.shape == shape.enumerated().map { $0.offset == a ? 1 : $0.element })
  }

  @Test func nanAndEmptyAxes() throws {
    let x = Tensor([1, .nan, 3, 4, 5, 6], shape: [2, 3])
    #expect(try argmax(x, axis: 1).scalars(Int64.self) == [1, 2])
    #expect(try argmin(x, axis: 1).scalars(Int64.self) == [1, 0])
    let maxes = try reduceMax(x, axis: 1).floats()
    #expect(maxes[0].isNaN && maxes[1] == 6)
    let colMin = try reduceMin(x, axis: 0).floats()
    #expect(colMin[0] == 1 && colMin[1].isNaN && colMin[2] == 3)
    #expect(try reduceSum(Tensor(zeros: [3, 0]), axis: 1).floats() == [0, 0, 0])
    #expect(throws: TensorError.self) { try reduceMax(Tensor(zeros: [3, 0]), axis: 1) }
    #expect(throws: TensorError.invalidArgument(op: "sum", message: "axis 2 out of range for rank 2")) {
      try reduceSum(x, axis: 2)
    }
  }

  @Test(arguments: [(1, 1), (7, 3), (13, 13), (100, 1), (1000, 40), (50_000, 50), (64, 0)])
  func topKMatchesFullSort(_ n: Int, _ k: Int) throws {
    var x = randomFloats(n, seed: UInt64(n + k), low: -2, high: 2)
    for i in stride(from: 0, to: n, by: 7) { x[i] = 1.5 }  // many ties
    if n > 20 {
      x[17] = .nan
      x[3] = .infinity
    }
    let (values, indices) = try topK(x, k: k)
    let expected = Reference.topK(x, k: k)
    #expect(indices == expected.indices)
    #expect(zip(values, expected.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
  }

  @Test func topKPerRowOnTensors() throws {
    let (rows, n, k) = (37, 301, 5)
    let x = randomFloats(rows * n, seed: 21)
    let (values, indices) = try topK(Tensor(x, shape: [rows, n]), k: k)
    #expect(values.shape == [rows, k] && indices.dtype == .i64)
    let v = values.floats(), idx = try indices.scalars(Int64.self)
    for r in 0..<rows {
      let expected = Reference.topK(Array(x[(r * n)..<((r + 1) * n)]), k: k)
      #expect(Array(v[(r * k)..<((r + 1) * k)]) == expected.values)
      #expect(idx[(r * k)..<((r + 1) * k)].map { Int($0) } == expected.indices)
    }
    #expect(throws: TensorError.self) { try topK(Tensor(zeros: [2, 3]), k: 4) }
    #expect(throws: TensorError.self) { try topK([1, 2], k: 3) }
  }
}

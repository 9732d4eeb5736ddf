import MMCore
import MMTestSupport
import Testing

@testable import MMKernels

/// Shape pairs: same shape (fast path), scalars, bias rows both ways, general broadcasting on
/// both sides, rank differences, size-1 tensors, an empty axis, and a large case.
private let shapePairs: [([Int], [Int])] = [
  ([1], [1]), ([7], [7]), ([3, 13], [3, 13]), ([2, 3, 5], [1]), ([1], [4, 9]), ([5, 17], [17]),
  ([17], [4, 17]), ([4, 1, 3], [1, 5, 3]), ([2, 3, 1], [7]), ([6, 1], [1, 11]), ([3, 1, 2, 1], [5, 1, 4]),
  ([], [3, 2]), ([0, 4], [4]), ([257, 1031], [257, 1031]), ([1000, 129], [1, 129]),
  ([64, 1, 300], [64, 7, 1]),
]

@Suite("Elementwise")
struct ElementwiseTests {
  @Test(arguments: shapePairs)
  func matchesReference(_ sa: [Int], _ sb: [Int]) throws {
    let a = randomFloats(sa.reduce(1, *), seed: UInt64(sa.reduce(3, *)), low: -4, high: 4)
    let b = randomFloats(sb.reduce(1, *), seed: UInt64(sb.reduce(5, *) + 1), low: 0.5, high: 3)
    for op in BinaryOperation.allCases {
      let result = try elementwise(op, Tensor(a, shape: sa), Tensor(b, shape: sb))
      let expected = Reference.broadcastBinary(op, a, shape: sa, b, shape: sb)!
      #expect(result.shape == expected.shape)
      #expect(result.dtype == .f32)
      let got = result.floats()
      #expect(
        allClose(got, expected.values, atol: 0, rtol: 1e-6),
        "\(op) \(sa) ∘ \(sb): \(differenceReport(got, expected.values))")
    }
  }

  @Test func stridedViewsAndOtherDtypes() throws {
    // A transposed (non-contiguous) operand and a bf16 operand take the general path.
    let a = Tensor(randomFloats(6 * 4, seed: 1), shape: [6, 4])
    let at = try a.transposed()  // [4, 6], strided
    let b = Tensor(randomFloats(6, seed: 2), shape: [6]).converted(to: .bf16)
    let result = try mul(at, b)
    let expected = Reference.broadcastBinary(.mul, at.floats(), shape: [4, 6], b.floats(), shape: [6])!
    #expect(
      allClose(result.floats(), expected.values, atol: 0, rtol: 1e-6),
      "\(differenceReport(result.floats(), expected.values))")
    let sliced = try Tensor(randomFloats(5 * 8, seed: 3), shape: [5, 8]).sliced(axis: 1, 1..<8, step: 2)
    let s = try add(sliced, sliced)
    #expect(s.floats() == sliced.floats().map { $0 + $0 })
  }

  @Test func scalarForms() throws {
    let x = Tensor([1, -2, 3, .nan, 5, 6, 7, 8, 9], shape: [3, 3])
    #expect(try add(x, 1).floats().prefix(3) == [2, -1, 4])
    #expect(try sub(x, 1).floats().prefix(3) == [0, -3, 2])
    #expect(try mul(x, 2).floats().prefix(3) == [2, -4, 6])
    #expect(try div(x, 2).floats().prefix(3) == [0.5, -1, 1.5])
    #expect(try elementwise(.sub, x, scalar: 10, scalarFirst: true).floats().prefix(3) == [9, 12, 7])
    let clipped = try maximum(x, 0).floats()
    #expect(clipped[1] == 0 && clipped[3].isNaN && clipped[8] == 9)
    #expect(try minimum(x, 4).floats()[4] == 4)
  }

  @Test func badOperandsThrow() {
    #expect(
      throws: TensorError.shapeMismatch(
        op: "add", expected: "shapes that broadcast together", found: "[2, 3] and [4]")
    ) {
      try add(Tensor(zeros: [2, 3]), Tensor(zeros: [4]))
    }
    #expect(throws: TensorError.dtypeMismatch(op: "mul", expected: .f32, found: .i32)) {
      try mul(Tensor(zeros: [3]), Tensor(zeros: [3], dtype: .i32))
    }
  }
}

import MMCore
import MMTestSupport
import Testing

@Suite("Tensor") struct TensorTests {
  @Test func contiguousStridesAreRowMajor() {
    #expect(Tensor.contiguousStrides([2, 3, 4]) == [12, 4, 1])
    #expect(Tensor.contiguousStrides([]) == [])
    #expect(Tensor.contiguousStrides([5, 0, 2]) == [2, 2, 1])
  }

  @Test func valuesRoundTrip() throws {
    let t = try Tensor(shape: [2, 3], values: [Int32(1), 2, 3, 4, 5, 6])
    #expect(t.dtype == .i32)
    try #expect(t.scalars(Int32.self) == [1, 2, 3, 4, 5, 6])
    #expect(t.floats() == [1, 2, 3, 4, 5, 6])
  }

  @Test func countMismatchIsAnError() {
    #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], values: [Float(1), 2, 3]) }
  }

  @Test func transposeIsAViewAndContiguousCopies() throws {
    let t = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
    let tt = try t.transposed()
    #expect(tt.shape == [3, 2])
    #expect(tt.storage === t.storage)
    #expect(!tt.isContiguous)
    #expect(tt.floats() == [1, 4, 2, 5, 3, 6])
    let dense = tt.contiguous()
    #expect(dense.isContiguous && dense.storage !== t.storage)
    #expect(dense.floats() == [1, 4, 2, 5, 3, 6])
  }

  @Test func sliceSelectAndStep() throws {
    let t = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
    let s = try t.sliced(axis: 2, 1..<4, step: 2)
    #expect(s.shape == [2, 3, 2])
    #expect(s.floats() == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
    let row = try t.selecting(axis: 1, 2)
    #expect(row.shape == [2, 4])
    #expect(row.floats() == [8, 9, 10, 11, 20, 21, 22, 23])
    #expect(throws: TensorError.self) { try t.sliced(axis: 0, 0..<3) }
    #expect(throws: TensorError.self) { try t.selecting(axis: 3, 0) }
  }

  @Test func reshapeInfersAndRejects() throws {
    let t = Tensor((0..<12).map(Float.init), shape: [3, 4])
    try #expect(t.reshaped([2, -1]).shape == [2, 6])
    #expect(throws: TensorError.self) { try t.reshaped([5, -1]) }
    #expect(throws: TensorError.self) { try t.reshaped([2, 2]) }
    #expect(throws: TensorError.self) { try t.transposed().reshaped([12]) }
  }

  @Test func broadcastingFollowsNumPy() throws {
    #expect(Tensor.broadcastShape([3, 1], [1, 4]) == [3, 4])
    #expect(Tensor.broadcastShape([2, 3, 4], [4]) == [2, 3, 4])
    #expect(Tensor.broadcastShape([2, 3], [3, 2]) == nil)
    let bias = Tensor([1, 2, 3], shape: [3])
    let b = try bias.broadcast(to: [2, 3])
    #expect(b.strides == [0, 1])
    #expect(b.floats() == [1, 2, 3, 1, 2, 3])
    #expect(throws: TensorError.self) { try bias.broadcast(to: [2, 4]) }
  }

  @Test func permuteAndUnsqueeze() throws {
    let t = Tensor((0..<6).map(Float.init), shape: [1, 2, 3])
    let p = try t.permuted([2, 0, 1])
    #expect(p.shape == [3, 1, 2])
    #expect(p.floats() == [0, 3, 1, 4, 2, 5])
    #expect(throws: TensorError.self) { try t.permuted([0, 0, 1]) }
    try #expect(t.unsqueezed(-1).shape == [1, 2, 3, 1])
    try #expect(t.unsqueezed(0).shape == [1, 1, 2, 3])
  }

  @Test func dtypeMismatchIsAnError() {
    let t = Tensor([1, 2], shape: [2])
    #expect(throws: TensorError.dtypeMismatch(op: "scalars", expected: .i32, found: .f32)) {
      try t.scalars(Int32.self)
    }
  }

  @Test func overflowingShapesAreDetected() {
    #expect(checkedElementCount([Int.max, 2]) == nil)
    #expect(checkedElementCount([-1, 2]) == nil)
    #expect(checkedElementCount([]) == 1)
  }
}

@Suite("dtype conversion") struct ConversionTests {
  /// Every float format round-trips the values it can represent exactly.
  @Test(arguments: [DType.f16, .bf16, .f32, .f64, .f8e5m2, .f8e4m3])
  func exactValuesRoundTrip(_ dtype: DType) {
    let values: [Float] = [0, 1, -1, 0.5, -2, 4, 0.25, 8, -0.125, 16]
    let t = Tensor(values, shape: [values.count]).converted(to: dtype)
    #expect(t.dtype == dtype)
    #expect(t.floats() == values)
  }

  @Test func bfloat16RoundsToNearestEven() {
    // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to even (1).
    #expect(BFloat16(Float(1) + 1.0 / 256).floatValue == 1)
    #expect(BFloat16(Float(1) + 3.0 / 256).floatValue == 1 + 1.0 / 64)
    #expect(BFloat16(Float.nan).floatValue.isNaN)
    #expect(BFloat16(Float.infinity).floatValue == .infinity)
  }

  @Test func float8Extremes() {
    #expect(Float8.e4m3ToFloat(0x7E) == 448)
    #expect(Float8.e4m3ToFloat(0x7F).isNaN)
    #expect(Float8.e4m3ToFloat(0x01) == Float(sign: .plus, exponent: -9, significand: 1))
    #expect(Float8.floatToE4M3(1000) == 0x7E)
    #expect(Float8.e5m2ToFloat(0x7C) == .infinity)
    #expect(Float8.e5m2ToFloat(Float8.floatToE5M2(57344)) == 57344)
  }

  @Test func integersSaturateAndTruncate() throws {
    let t = Tensor([-3.7, 300, 2.9, -1000], shape: [4])
    try #expect(t.converted(to: .u8).scalars(UInt8.self) == [0, 255, 2, 0])
    try #expect(t.converted(to: .i8).scalars(Int8.self) == [-3, 127, 2, -128])
    try #expect(t.converted(to: .bool).scalars(Bool.self) == [true, true, true, true])
  }

  @Test func stridedConversion() throws {
    let t = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).transposed()
    #expect(t.converted(to: .f16).floats() == [1, 4, 2, 5, 3, 6])
  }
}

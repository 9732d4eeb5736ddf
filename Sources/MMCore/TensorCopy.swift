/// Operations that copy elements: densifying a view and converting between dtypes.
extension Tensor {
  /// This view in a fresh contiguous row-major storage (self when already contiguous).
  public func contiguous() -> Tensor {
    if isContiguous { return self }
    let result = Tensor(zeros: shape, dtype: dtype)
    let size = dtype.byteSize
    let destination = result.storage.bytes
    var written = 0
    forEachOffset { source in
      (destination + written * size).copyMemory(from: storage.bytes + source * size, byteCount: size)
      written += 1
    }
    return result
  }

  /// Calls `body` with the storage offset (in elements) of every element, row-major order.
  public func forEachOffset(_ body: (Int) -> Void) {
    if count == 0 { return }
    if rank == 0 {
      body(offset)
      return
    }
    var index = [Int](repeating: 0, count: rank)
    var position = offset
    let last = rank - 1
    while true {
      let innerStride = strides[last]
      for i in 0..<shape[last] { body(position + i * innerStride) }
      var axis = last - 1
      while axis >= 0 {
        index[axis] += 1
        position += strides[axis]
        if index[axis] < shape[axis] { break }
        position -= strides[axis] * shape[axis]
        index[axis] = 0
        axis -= 1
      }
      if axis < 0 { return }
    }
  }

  /// A contiguous copy in another dtype. Floats convert with round-to-nearest-even; integers
  /// from floats truncate toward zero and saturate; bool is `value != 0`.
  public func converted(to target: DType) -> Tensor {
    if target == dtype { return contiguous() }
    let source = contiguous()
    let result = Tensor(zeros: shape, dtype: target)
    let n = count
    let src = source.baseAddress
    let dst = result.baseAddress
    switch (dtype, target) {
    case (.f16, .f32):
      let s = src.assumingMemoryBound(to: Float16.self)
      let d = dst.assumingMemoryBound(to: Float.self)
      for i in 0..<n { d[i] = Float(s[i]) }
    case (.bf16, .f32):
      let s = src.assumingMemoryBound(to: UInt16.self)
      let d = dst.assumingMemoryBound(to: UInt32.self)
      for i in 0..<n { d[i] = UInt32(s[i]) << 16 }
    case (.f32, .f16):
      let s = src.assumingMemoryBound(to: Float.self)
      let d = dst.assumingMemoryBound(to: Float16.self)
      for i in 0..<n { d[i] = Float16(s[i]) }
    case (.f32, .bf16):
      let s = src.assumingMemoryBound(to: Float.self)
      let d = dst.assumingMemoryBound(to: BFloat16.self)
      for i in 0..<n { d[i] = BFloat16(s[i]) }
    default:
      for i in 0..<n { ScalarAccess.store(ScalarAccess.load(src, dtype, i), dst, target, i) }
    }
    return result
  }
}

/// Reads and writes single elements of any dtype through `Double` (exact for every integer
/// up to 2^53 and every float format but f64's own extremes).
public enum ScalarAccess {
  public static func load(_ base: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Double {
    switch dtype {
    case .bool: return base.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0
    case .u8: return Double(base.load(fromByteOffset: i, as: UInt8.self))
    case .i8: return Double(base.load(fromByteOffset: i, as: Int8.self))
    case .f8e4m3: return Double(Float8.e4m3ToFloat(base.load(fromByteOffset: i, as: UInt8.self)))
    case .f8e5m2: return Double(Float8.e5m2ToFloat(base.load(fromByteOffset: i, as: UInt8.self)))
    case .i16: return Double(base.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
    case .u16: return Double(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
    case .f16: return Double(base.loadUnaligned(fromByteOffset: i * 2, as: Float16.self))
    case .bf16:
      return Double(
        BFloat16(bitPattern: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)).floatValue)
    case .i32: return Double(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
    case .u32: return Double(base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
    case .f32: return Double(base.loadUnaligned(fromByteOffset: i * 4, as: Float.self))
    case .f64: return base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
    case .i64: return Double(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
    case .u64: return Double(base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
    }
  }

  public static func store(_ value: Double, _ base: UnsafeMutableRawPointer, _ dtype: DType, _ i: Int) {
    func int<T: FixedWidthInteger>(_ t: T.Type) -> T {
      if value.isNaN { return 0 }
      if value >= Double(T.max) { return T.max }
      if value <= Double(T.min) { return T.min }
      return T(value.rounded(.towardZero))
    }
    switch dtype {
    case .bool: base.storeBytes(of: value != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self)
    case .u8: base.storeBytes(of: int(UInt8.self), toByteOffset: i, as: UInt8.self)
    case .i8: base.storeBytes(of: int(Int8.self), toByteOffset: i, as: Int8.self)
    case .f8e4m3: base.storeBytes(of: Float8.floatToE4M3(Float(value)), toByteOffset: i, as: UInt8.self)
    case .f8e5m2: base.storeBytes(of: Float8.floatToE5M2(Float(value)), toByteOffset: i, as: UInt8.self)
    case .i16: base.storeBytes(of: int(Int16.self), toByteOffset: i * 2, as: Int16.self)
    case .u16: base.storeBytes(of: int(UInt16.self), toByteOffset: i * 2, as: UInt16.self)
    case .f16: base.storeBytes(of: Float16(Float(value)), toByteOffset: i * 2, as: Float16.self)
    case .bf16: base.storeBytes(of: BFloat16(Float(value)).bitPattern, toByteOffset: i * 2, as: UInt16.self)
    case .i32: base.storeBytes(of: int(Int32.self), toByteOffset: i * 4, as: Int32.self)
    case .u32: base.storeBytes(of: int(UInt32.self), toByteOffset: i * 4, as: UInt32.self)
    case .f32: base.storeBytes(of: Float(value), toByteOffset: i * 4, as: Float.self)
    case .f64: base.storeBytes(of: value, toByteOffset: i * 8, as: Double.self)
    case .i64: base.storeBytes(of: int(Int64.self), toByteOffset: i * 8, as: Int64.self)
    case .u64: base.storeBytes(of: int(UInt64.self), toByteOffset: i * 8, as: UInt64.self)
    }
  }
}

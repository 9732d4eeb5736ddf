/// An n-dimensional array: a view (shape, strides, offset — all in elements) onto shared
/// `TensorStorage`. Row-major by default: the last dimension is contiguous.
///
/// Views (`reshaped`, `permuted`, `sliced`, `broadcast`) share storage and copy nothing;
/// `contiguous()` and `converted(to:)` copy. Shape problems throw `TensorError`.
public struct Tensor: @unchecked Sendable {
  public let storage: TensorStorage
  public let dtype: DType
  public let shape: [Int]
  public let strides: [Int]
  public let offset: Int

  /// A view; the caller guarantees it stays inside `storage`.
  public init(storage: TensorStorage, dtype: DType, shape: [Int], strides: [Int], offset: Int = 0) {
    precondition(shape.count == strides.count, "shape and strides differ in rank")
    self.storage = storage
    self.dtype = dtype
    self.shape = shape
    self.strides = strides
    self.offset = offset
  }

  /// A zero-filled contiguous tensor.
  public init(zeros shape: [Int], dtype: DType = .f32) {
    self.init(contiguous: shape, dtype: dtype, zeroed: true)
  }

  /// A contiguous tensor with unspecified contents: only for outputs that the next kernel call
  /// writes in full (a GEMM with beta 0, a norm, a copy); anything else wants `init(zeros:)`.
  public init(uninitialized shape: [Int], dtype: DType = .f32) {
    self.init(contiguous: shape, dtype: dtype, zeroed: false)
  }

  private init(contiguous shape: [Int], dtype: DType, zeroed: Bool) {
    guard let count = checkedElementCount(shape) else {
      preconditionFailure("invalid shape \(shapeText(shape))")
    }
    let bytes = count * dtype.byteSize
    self.init(
      storage: zeroed ? TensorStorage(byteCount: bytes) : TensorStorage(uninitializedByteCount: bytes),
      dtype: dtype, shape: shape, strides: Tensor.contiguousStrides(shape))
  }

  /// A contiguous tensor holding `values` in row-major order.
  public init<T: TensorScalar>(shape: [Int], values: [T]) throws(TensorError) {
    guard let count = checkedElementCount(shape), count == values.count else {
      throw .shapeMismatch(
        op: "Tensor(shape:values:)", expected: "\(values.count) elements",
        found: "shape \(shapeText(shape))")
    }
    self.init(zeros: shape, dtype: T.dtype)
    values.withUnsafeBytes { storage.bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
  }

  /// A contiguous f32 tensor; traps on a count mismatch (for literals in code and tests).
  public init(_ values: [Float], shape: [Int]) {
    do { try self.init(shape: shape, values: values) } catch { preconditionFailure("\(error)") }
  }

  public static func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in shape.indices.reversed() {
      strides[axis] = running
      running *= max(shape[axis], 1)
    }
    return strides
  }

  public var rank: Int { shape.count }
  public var count: Int { shape.reduce(1, *) }
  public var byteCount: Int { count * dtype.byteSize }
  public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

  /// Address of the first element of this view.
  public var baseAddress: UnsafeMutableRawPointer { storage.bytes + offset * dtype.byteSize }

  /// Normalizes a possibly negative axis.
  public func axis(_ axis: Int, op: String) throws(TensorError) -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    guard resolved >= 0 && resolved < rank else {
      throw .invalidArgument(op: op, message: "axis \(axis) out of range for rank \(rank)")
    }
    return resolved
  }

  /// Typed pointer to a contiguous tensor's elements.
  public func withUnsafeBufferPointer<T: TensorScalar, R>(
    as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
  ) throws -> R {
    guard dtype == T.dtype else {
      throw TensorError.dtypeMismatch(op: "withUnsafeBufferPointer", expected: T.dtype, found: dtype)
    }
    guard isContiguous else { throw TensorError.notContiguous(op: "withUnsafeBufferPointer") }
    let typed = baseAddress.assumingMemoryBound(to: T.self)
    return try body(UnsafeMutableBufferPointer(start: typed, count: count))
  }

  /// Typed pointer without checks, for kernels that validated the operands already.
  @inlinable public func pointer<T: TensorScalar>(_ type: T.Type) -> UnsafeMutablePointer<T> {
    baseAddress.assumingMemoryBound(to: T.self)
  }

  /// The elements in row-major order, in their own type.
  public func scalars<T: TensorScalar>(_ type: T.Type = T.self) throws(TensorError) -> [T] {
    guard dtype == T.dtype else {
      throw .dtypeMismatch(op: "scalars", expected: T.dtype, found: dtype)
    }
    let dense = contiguous()
    return Array(
      UnsafeBufferPointer(start: dense.baseAddress.assumingMemoryBound(to: T.self), count: count))
  }

  /// The elements in row-major order, converted to Float from any dtype.
  public func floats() -> [Float] {
    let dense = dtype == .f32 ? contiguous() : converted(to: .f32)
    return Array(UnsafeBufferPointer(start: dense.pointer(Float.self), count: count))
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let preview = floats().prefix(8).map { String($0) }.joined(separator: ", ")
    return "Tensor<\(dtype.name)>\(shapeText(shape)) [\(preview)\(count > 8 ? ", …" : "")]"
  }
}

import MMCore

/// One matrix operand of a GEMM: a pointer, its element type, its leading dimension and whether
/// it is stored transposed. Row-major: element (r, c) of the logical (untransposed) matrix is at
/// `r * ld + c`, or at `c * ld + r` when `transposed`.
///
/// The B operand may be f32, f16 or bf16 (weights kept in their checkpoint dtype are widened to
/// f32 while packing, never dequantized whole); A and C are f32.
public struct MatrixOperand: @unchecked Sendable {
  public let base: UnsafeRawPointer
  public let dtype: DType
  public let ld: Int
  public let transposed: Bool

  public init(_ pointer: UnsafePointer<Float>, ld: Int, transposed: Bool = false) {
    self.init(raw: UnsafeRawPointer(pointer), dtype: .f32, ld: ld, transposed: transposed)
  }

  public init(raw: UnsafeRawPointer, dtype: DType, ld: Int, transposed: Bool = false) {
    precondition(dtype == .f32 || dtype == .f16 || dtype == .bf16, "GEMM operand dtype \(dtype)")
    self.base = raw
    self.dtype = dtype
    self.ld = ld
    self.transposed = transposed
  }

  /// Element (row, column) of the logical matrix, as Float (for reference code and edges).
  @inlinable public func element(_ row: Int, _ column: Int) -> Float {
    let index = transposed ? column * ld + row : row * ld + column
    switch dtype {
    case .f16: return Float(base.assumingMemoryBound(to: Float16.self)[index])
    case .bf16: return Float(bitPattern: UInt32(base.assumingMemoryBound(to: UInt16.self)[index]) << 16)
    default: return base.assumingMemoryBound(to: Float.self)[index]
    }
  }
}

/// What happens to each output after the product: `C = act(alpha·A·B + beta·C + bias)`.
public struct GEMMEpilogue: @unchecked Sendable {
  public var alpha: Float
  /// 0 overwrites C (C may hold garbage); 1 accumulates into C.
  public var beta: Float
  /// One value per output column (length n), or nil.
  public var bias: UnsafePointer<Float>?
  public var activation: Activation

  public init(
    alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil,
    activation: Activation = .identity
  ) {
    self.alpha = alpha
    self.beta = beta
    self.bias = bias
    self.activation = activation
  }
}

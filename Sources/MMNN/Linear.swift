import MMCore
import MMKernels

/// y = act(x·Wᵀ + b) with W [outputs, inputs] in its stored format (f32, f16, bf16 or a ggml
/// block format), as PyTorch's `nn.Linear` followed by an optional activation fused into the
/// GEMM epilogue.
public final class Linear: @unchecked Sendable {
  public let weight: StoredMatrix
  public let activation: Activation
  /// W packed once for the GEMM micro-kernel (`packed: true`, f32/f16/bf16 weights): calls with
  /// more than one row skip the per-call packing of W (the transformer encoders' GEMMs).
  public let packedWeight: PackedB?
  private let biasValues: UnsafeMutablePointer<Float>?

  /// `packed`: also keep W packed in f32 (4 bytes per weight more) for multi-row calls.
  public init(weight: StoredMatrix, bias: [Float]?, activation: Activation = .identity, packed: Bool = false)
  {
    precondition(bias == nil || bias!.count == weight.rows, "Linear: bias length")
    self.weight = weight
    self.activation = activation
    let m = weight.matrix
    if packed, let dtype = m.format.dtype {
      packedWeight = PackedB(
        k: m.columns, n: m.rows,
        b: MatrixOperand(raw: m.base, dtype: dtype, ld: m.rowStride / dtype.byteSize, transposed: true))
    } else {
      packedWeight = nil
    }
    if let bias {
      let pointer = UnsafeMutablePointer<Float>.allocate(capacity: bias.count)
      pointer.initialize(from: bias, count: bias.count)
      biasValues = pointer
    } else {
      biasValues = nil
    }
  }

  deinit { biasValues?.deallocate() }

  /// This layer with W also packed for the GEMM micro-kernel (itself when it already is): for
  /// encoders that always run on many tokens, where packing W once saves packing it per call.
  public func packed() -> Linear {
    packedWeight != nil ? self : Linear(weight: weight, bias: bias, activation: activation, packed: true)
  }

  public var inputs: Int { weight.columns }
  public var outputs: Int { weight.rows }
  public var bias: [Float]? { biasValues.map { Array(UnsafeBufferPointer(start: $0, count: outputs)) } }

  /// y[rows, outputs] = act(x[rows, inputs]·Wᵀ + b); with `accumulate`, y += x·Wᵀ + b (a
  /// residual add in the epilogue; `activation` must be identity then). Leading dimensions
  /// default to dense rows.
  public func apply(
    _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldx: Int? = nil,
    ldy: Int? = nil, accumulate: Bool = false, pool: ThreadPool = .shared
  ) {
    precondition(!accumulate || activation == .identity, "Linear: accumulate with an activation")
    if let packedWeight, rows > 1 {
      gemm(
        m: rows, a: MatrixOperand(x, ld: ldx ?? inputs), packedB: packedWeight, c: y, ldc: ldy ?? outputs,
        epilogue: GEMMEpilogue(
          beta: accumulate ? 1 : 0, bias: biasValues.map { UnsafePointer($0) }, activation: activation),
        pool: pool)
      return
    }
    quantizedGEMM(
      m: rows, x: x, ldx: ldx ?? inputs, w: weight.matrix, y: y, ldy: ldy ?? outputs,
      epilogue: GEMMEpilogue(
        beta: accumulate ? 1 : 0, bias: biasValues.map { UnsafePointer($0) }, activation: activation),
      pool: pool)
  }

  /// x: [..., inputs] → [..., outputs] (f32; x is made contiguous first when it is a view).
  public func callAsFunction(_ x: Tensor) throws(ModelError) -> Tensor {
    guard x.dtype == .f32, x.rank >= 1, x.shape[x.rank - 1] == inputs else {
      throw .invalidInput("Linear expects [..., \(inputs)] f32, got \(x.dtype) \(shapeText(x.shape))")
    }
    let input = x.contiguous()
    var shape = x.shape
    shape[shape.count - 1] = outputs
    let y = Tensor(uninitialized: shape)  // every element written (beta 0)
    apply(input.pointer(Float.self), rows: x.count / max(inputs, 1), into: y.pointer(Float.self))
    return y
  }

  /// residual += x·Wᵀ + b in place. x: [..., inputs], residual: [..., outputs], same rows.
  public func accumulate(_ x: Tensor, into residual: Tensor) {
    let input = x.contiguous()
    precondition(residual.isContiguous && residual.count / outputs == input.count / inputs, "Linear: rows")
    apply(
      input.pointer(Float.self), rows: input.count / inputs, into: residual.pointer(Float.self),
      accumulate: true)
  }
}

/// PyTorch's `nn.LayerNorm` over the last axis: (x − mean)/√(var + eps)·weight + bias.
public struct LayerNorm: Sendable {
  public let weight: [Float]
  public let bias: [Float]?
  public let eps: Float

  public init(weight: [Float], bias: [Float]?, eps: Float = 1e-5) {
    self.weight = weight
    self.bias = bias
    self.eps = eps
  }

  public var dim: Int { weight.count }

  /// x: [..., dim] → [..., dim].
  public func callAsFunction(_ x: Tensor) -> Tensor {
    precondition(x.dtype == .f32 && x.shape.last == dim, "LayerNorm: expects [..., \(dim)]")
    let input = x.contiguous()
    let y = Tensor(uninitialized: x.shape)  // every row normalized into y
    weight.withUnsafeBufferPointer { w in
      if let bias {
        bias.withUnsafeBufferPointer { b in
          layerNorm(
            input.pointer(Float.self), y.pointer(Float.self), rows: x.count / dim, dim: dim,
            gamma: w.baseAddress, beta: b.baseAddress, eps: eps)
        }
      } else {
        layerNorm(
          input.pointer(Float.self), y.pointer(Float.self), rows: x.count / dim, dim: dim,
          gamma: w.baseAddress, eps: eps)
      }
    }
    return y
  }
}

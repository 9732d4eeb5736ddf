import MMCore
import MMKernels
import MMWeights

/// A view of a checkpoint under a key prefix: `scope.child("encoder.layer.3")` then
/// `linear("attention.self.query", …)` reads `encoder.layer.3.attention.self.query.weight`.
/// Every read checks the shape against what the configuration implies and names the full key
/// when it is missing or wrong; f16/bf16 matrices stay in their stored format (the GEMM widens
/// them while packing), vectors and small tensors are widened to f32 once.
public struct ParameterScope: Sendable {
  public let store: any WeightStore
  public let prefix: String

  public init(_ store: any WeightStore, prefix: String = "") {
    self.store = store
    self.prefix = prefix
  }

  /// The full checkpoint key of `name` in this scope.
  public func key(_ name: String) -> String {
    prefix.isEmpty ? name : name.isEmpty ? prefix : "\(prefix).\(name)"
  }

  /// The scope `prefix.name`.
  public func child(_ name: String) -> ParameterScope { ParameterScope(store, prefix: key(name)) }

  /// Whether `name` exists in this scope.
  public func contains(_ name: String) -> Bool { store.contains(key(name)) }

  /// `name.leaf`, or `leaf` when `name` is empty (the scope itself is the layer).
  private func leaf(_ name: String, _ leaf: String) -> String { name.isEmpty ? leaf : "\(name).\(leaf)" }

  /// The stored tensor `name` (a view of the file), checked to have `shape` when given and a
  /// floating-point dtype.
  public func stored(_ name: String, shape: [Int]? = nil) throws(ModelError) -> Tensor {
    let full = key(name)
    let tensor: Tensor
    do { tensor = try store.tensor(named: full) } catch { throw ModelError(error) }
    if let shape, tensor.shape != shape {
      throw .weights(
        path: store.path, tensor: full,
        problem: "shape \(shapeText(tensor.shape)), expected \(shapeText(shape)) from the configuration")
    }
    guard tensor.dtype.isFloatingPoint else {
      throw .weights(path: store.path, tensor: full, problem: "dtype \(tensor.dtype), expected a float type")
    }
    return tensor
  }

  /// The tensor `name` as a contiguous f32 tensor (converted once when stored as f16/bf16).
  public func tensor(_ name: String, shape: [Int]? = nil) throws(ModelError) -> Tensor {
    let tensor = try stored(name, shape: shape)
    return tensor.dtype == .f32 ? tensor.contiguous() : tensor.converted(to: .f32)
  }

  /// The tensor `name` as f32 values.
  public func floats(_ name: String, count: Int) throws(ModelError) -> [Float] {
    try tensor(name, shape: [count]).floats()
  }

  /// `name.weight` [outputs, inputs] and, when `bias`, `name.bias` [outputs].
  public func linear(
    _ name: String, inputs: Int, outputs: Int, bias: Bool = true, activation: Activation = .identity
  ) throws(ModelError) -> Linear {
    let weight = try matrix(leaf(name, "weight"), rows: outputs, columns: inputs)
    let b = bias ? try floats(leaf(name, "bias"), count: outputs) : nil
    return Linear(weight: weight, bias: b, activation: activation)
  }

  /// `name.weight` and `name.bias` [dim] of a LayerNorm.
  public func layerNorm(_ name: String, dim: Int, eps: Float = 1e-5, bias: Bool = true) throws(ModelError)
    -> LayerNorm
  {
    LayerNorm(
      weight: try floats(leaf(name, "weight"), count: dim),
      bias: bias ? try floats(leaf(name, "bias"), count: dim) : nil, eps: eps)
  }

  /// The 2-d tensor `name` [rows, columns] in its stored format, for a GEMM operand.
  public func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> StoredMatrix {
    let tensor = try stored(name, shape: [rows, columns])
    switch tensor.dtype {
    case .f32, .f16, .bf16:
      guard tensor.isContiguous else {
        throw .weights(path: store.path, tensor: key(name), problem: "not contiguous")
      }
      return StoredMatrix(tensor)
    default:
      // f64 and 8-bit floats: widen once to f32.
      return StoredMatrix(tensor.converted(to: .f32))
    }
  }
}

/// A weight matrix [rows, columns] kept in its stored dtype (f32, f16 or bf16) or a ggml block
/// format; `owner` keeps the bytes (a mapped file, a converted copy) alive.
public struct StoredMatrix: @unchecked Sendable {
  public let matrix: QuantizedMatrix
  public let owner: TensorStorage

  public var rows: Int { matrix.rows }
  public var columns: Int { matrix.columns }

  /// A contiguous 2-d f32, f16 or bf16 tensor.
  public init(_ tensor: Tensor) {
    precondition(tensor.rank == 2 && tensor.isContiguous, "StoredMatrix: a contiguous matrix")
    let format: QuantFormat =
      switch tensor.dtype {
      case .f16: .f16
      case .bf16: .bf16
      case .f32: .f32
      default: preconditionFailure("StoredMatrix: \(tensor.dtype)")
      }
    matrix = QuantizedMatrix(
      format: format, rows: tensor.shape[0], columns: tensor.shape[1],
      base: UnsafeRawPointer(tensor.baseAddress))
    owner = tensor.storage
  }

  /// Raw rows in a block format (a GGUF tensor); `owner` keeps them alive.
  public init(matrix: QuantizedMatrix, owner: TensorStorage) {
    self.matrix = matrix
    self.owner = owner
  }
}

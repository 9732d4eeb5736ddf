import MMCore
import MMKernels
import MMWeights

/// A Linear layer, y = x·Wᵀ + b, with W[out, in] kept in its stored format: f32, f16 and bf16
/// go through `gemm`/`gemv`, ggml block formats through `quantizedGEMM`/`quantizedGEMV`
/// (both reached through `quantizedGEMM`, which picks GEMV for one row). Nothing is converted
/// at load; `owner` keeps the mapped file alive.
final class LlamaLinear: @unchecked Sendable {
  let weight: QuantizedMatrix
  let owner: TensorStorage
  let bias: UnsafeMutablePointer<Float>?

  init(weight: QuantizedMatrix, owner: TensorStorage, bias: [Float]?) {
    self.weight = weight
    self.owner = owner
    if let bias {
      let pointer = UnsafeMutablePointer<Float>.allocate(capacity: bias.count)
      pointer.initialize(from: bias, count: bias.count)
      self.bias = pointer
    } else {
      self.bias = nil
    }
  }

  deinit { bias?.deallocate() }

  var outputs: Int { weight.rows }
  var inputs: Int { weight.columns }

  /// y[rows, outputs] = x[rows, inputs]·Wᵀ + b, or y += … when `accumulate` (a residual add);
  /// y's rows are `ldy` apart (default `outputs`). `activations` applies to rows < 4 (the GEMV
  /// path; see `QuantizedActivations`).
  func apply(
    _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
    accumulate: Bool = false, activations: QuantizedActivations = .float32, pool: ThreadPool
  ) {
    quantizedGEMM(
      m: rows, x: x, ldx: inputs, w: weight, y: y, ldy: ldy ?? outputs,
      epilogue: GEMMEpilogue(beta: accumulate ? 1 : 0, bias: bias.map { UnsafePointer($0) }),
      activations: activations, pool: pool)
  }

  /// This layer as one product of a fused `quantizedGEMVs` call: y[outputs] = W·x + b.
  func product(into y: UnsafeMutablePointer<Float>) -> QuantizedGEMVProduct {
    QuantizedGEMVProduct(weight, y: y, epilogue: GEMMEpilogue(bias: bias.map { UnsafePointer($0) }))
  }

  /// Row `index` of W as f32 (an embedding lookup: one row dequantized, never the table).
  func row(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
    dequantizeRow(weight.format, weight.row(index), count: weight.columns, into: destination)
  }
}

/// A checkpoint's tensors: a Hugging Face store (safetensors) or a GGUF file.
enum LlamaCheckpoint {
  case huggingFace(any WeightStore)
  case gguf(GGUFFile)

  var path: String {
    switch self {
    case .huggingFace(let store): return store.path
    case .gguf(let file): return file.path
    }
  }

  func contains(_ name: String) -> Bool {
    switch self {
    case .huggingFace(let store): return store.contains(name)
    case .gguf(let file): return file.contains(name)
    }
  }

  /// The matrix `name`, checked to be [rows, columns], with its bias `biasName` when the
  /// checkpoint has one.
  func linear(_ name: String, rows: Int, columns: Int, biasName: String? = nil) throws(LlamaError)
    -> LlamaLinear
  {
    let matrix: QuantizedMatrix
    let owner: TensorStorage
    do {
      switch self {
      case .huggingFace(let store):
        let tensor = try store.tensor(named: name)
        try check(name, shape: tensor.shape, expected: [rows, columns])
        let format: QuantFormat
        switch tensor.dtype {
        case .f32: format = .f32
        case .f16: format = .f16
        case .bf16: format = .bf16
        default:
          throw LlamaError.weights("\(path): tensor '\(name)' is \(tensor.dtype), expected F32, F16 or BF16")
        }
        // A stored tensor is contiguous; a view that is not would need a copy we refuse to hide.
        guard tensor.isContiguous else {
          throw LlamaError.weights("\(path): tensor '\(name)' is not contiguous")
        }
        matrix = QuantizedMatrix(format: format, rows: rows, columns: columns, base: tensor.baseAddress)
        owner = tensor.storage
      case .gguf(let file):
        let data = try file.data(named: name)
        try check(name, shape: data.info.shape, expected: [rows, columns])
        guard let format = QuantFormat(rawValue: data.type.rawValue) else {
          throw LlamaError.weights(
            "\(path): tensor '\(name)' is \(data.type.name), which the kernels do not compute on")
        }
        guard columns % format.blockLength == 0 else {
          throw LlamaError.weights(
            "\(path): tensor '\(name)': \(columns) columns are not whole \(format) blocks of \(format.blockLength)"
          )
        }
        matrix = QuantizedMatrix(
          format: format, rows: rows, columns: columns, base: UnsafeRawPointer(data.storage.bytes),
          rowStride: data.info.rowByteCount)
        owner = data.storage
      }
    } catch let error as LlamaError {
      throw error
    } catch {
      throw .weights("\(error)")
    }
    var bias: [Float]?
    if let biasName, contains(biasName) { bias = try vector(biasName, count: rows) }
    return LlamaLinear(weight: matrix, owner: owner, bias: bias)
  }

  /// A 1-d tensor (norm weight, bias) of `count` values as f32.
  func vector(_ name: String, count: Int) throws(LlamaError) -> [Float] {
    do {
      let tensor: Tensor
      switch self {
      case .huggingFace(let store): tensor = try store.tensor(named: name)
      case .gguf(let file): tensor = try file.tensor(named: name)
      }
      try check(name, shape: tensor.shape, expected: [count])
      guard tensor.dtype.isFloatingPoint else {
        throw LlamaError.weights("\(path): tensor '\(name)' is \(tensor.dtype), expected a float type")
      }
      return tensor.floats()
    } catch let error as LlamaError {
      throw error
    } catch {
      throw .weights("\(error)")
    }
  }

  private func check(_ name: String, shape: [Int], expected: [Int]) throws(LlamaError) {
    guard shape == expected else {
      throw .weights(
        "\(path): tensor '\(name)' has shape \(shape), expected \(expected) from the configuration")
    }
  }
}

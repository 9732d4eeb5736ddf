import MMCore

/// One GGUF file (llama.cpp's format: metadata and tensors, often quantized), memory-mapped:
/// tensor data is never copied or dequantized at load.
///
/// Layout (versions 2 and 3, little-endian): magic `GGUF`, u32 version, u64 tensor count,
/// u64 metadata count, the metadata (key, u32 type, value), the tensor infos (name, u32
/// dimension count, u64 dimensions fastest-first, u32 ggml type, u64 offset), padding to
/// `general.alignment` (default 32), then the data section.
///
/// Opening validates the whole header as untrusted input and throws a `WeightFileError` naming
/// the file, the tensor or key, and what was expected versus found; no input can crash the
/// reader. Shapes are row-major (`GGUFTensorInfo.shape`, ggml's dimensions reversed). Keys and
/// tensor names must be valid UTF-8; string values with invalid UTF-8 are repaired (U+FFFD),
/// as a tokenizer's byte tokens sometimes need.
///
/// ```swift
/// let gguf = try GGUFFile(path: "qwen2.5-0.5b-q4_k_m.gguf")
/// let arch = try gguf.string("general.architecture")           // "qwen2"
/// let layers = try gguf.int("\(arch!).block_count")              // 24
/// let norm = try gguf.tensor(named: "output_norm.weight")        // F32 Tensor (WeightStore)
/// let wq = try gguf.data(named: "blk.0.attn_q.weight")           // Q4_K blocks, zero copy
/// ```
///
/// As a `WeightStore`, plain tensors (F32, F16, BF16, F64, I8…I64) come back as `Tensor` views;
/// `info(named:)` and `tensor(named:)` throw `.unsupported` for quantized ones, which
/// `data(named:)` returns as raw blocks with their type.
public final class GGUFFile: WeightStore {
  /// The alignment of the data section and of every tensor when `general.alignment` is absent.
  public static let defaultAlignment = 32

  public let path: String
  /// The mapping every returned tensor borrows.
  public let file: MappedFile
  /// 2 or 3.
  public let version: Int
  /// Metadata in file order.
  public let metadata: [(key: String, value: GGUFValue)]
  /// Tensor infos in file order.
  public let tensorInfos: [GGUFTensorInfo]
  /// `general.alignment`, or 32.
  public let alignment: Int
  /// File offset of the data section.
  public let dataStart: Int
  private let keyIndex: [String: Int]
  private let tensorIndex: [String: Int]

  /// Maps and validates `path`.
  public init(path: String) throws(WeightFileError) {
    do {
      file = try MappedFile(path: path)
    } catch {
      throw WeightFileError(error)
    }
    self.path = path
    let header = try parseGGUFHeader(file.buffer(0..<file.size), path: path)
    version = Int(header.version)
    metadata = header.metadata
    tensorInfos = header.tensors
    alignment = header.alignment
    dataStart = header.dataStart
    var keys: [String: Int] = [:]
    for (i, entry) in metadata.enumerated() { keys[entry.key] = i }
    keyIndex = keys
    var tensors: [String: Int] = [:]
    for (i, info) in tensorInfos.enumerated() { tensors[info.name] = i }
    tensorIndex = tensors
  }

  // MARK: Metadata

  /// Every metadata key, in file order.
  public var keys: [String] { metadata.map(\.key) }

  /// The value of `key`, or nil when the file has no such key.
  public func value(_ key: String) -> GGUFValue? {
    keyIndex[key].map { metadata[$0].value }
  }

  public subscript(key: String) -> GGUFValue? { value(key) }

  /// A STRING value; nil when absent, throws when `key` holds another type.
  public func string(_ key: String) throws(WeightFileError) -> String? {
    guard let value = value(key) else { return nil }
    guard case .string(let text) = value else { throw typeError(key, value, expected: "STRING") }
    return text
  }

  /// An integer value of any integer type (UINT8…INT64) that fits in `Int`; nil when absent,
  /// throws for other types.
  public func int(_ key: String) throws(WeightFileError) -> Int? {
    guard let value = value(key) else { return nil }
    guard let int = value.intValue else {
      throw typeError(key, value, expected: "an integer that fits in Int")
    }
    return int
  }

  /// A FLOAT32 or FLOAT64 value (integers are accepted and converted); nil when absent, throws
  /// for other types.
  public func float(_ key: String) throws(WeightFileError) -> Double? {
    guard let value = value(key) else { return nil }
    guard let double = value.doubleValue else { throw typeError(key, value, expected: "a number") }
    return double
  }

  /// A BOOL value; nil when absent, throws for other types.
  public func bool(_ key: String) throws(WeightFileError) -> Bool? {
    guard let value = value(key) else { return nil }
    guard case .bool(let flag) = value else { throw typeError(key, value, expected: "BOOL") }
    return flag
  }

  /// An ARRAY value; nil when absent, throws for other types.
  public func array(_ key: String) throws(WeightFileError) -> GGUFArray? {
    guard let value = value(key) else { return nil }
    guard case .array(let array) = value else { throw typeError(key, value, expected: "ARRAY") }
    return array
  }

  /// An ARRAY[STRING] (e.g. `tokenizer.ggml.tokens`); nil when absent, throws otherwise.
  public func strings(_ key: String) throws(WeightFileError) -> [String]? {
    guard let array = try array(key) else { return nil }
    guard case .string(let strings) = array else {
      throw typeError(key, .array(array), expected: "ARRAY[STRING]")
    }
    return strings
  }

  /// An ARRAY of integers as `Int`s; nil when absent, throws otherwise.
  public func ints(_ key: String) throws(WeightFileError) -> [Int]? {
    guard let array = try array(key) else { return nil }
    guard let ints = array.ints else { throw typeError(key, .array(array), expected: "an integer ARRAY") }
    return ints
  }

  /// An ARRAY[FLOAT32] or ARRAY[FLOAT64] as `Double`s; nil when absent, throws otherwise.
  public func floats(_ key: String) throws(WeightFileError) -> [Double]? {
    guard let array = try array(key) else { return nil }
    guard let doubles = array.doubles else { throw typeError(key, .array(array), expected: "a float ARRAY") }
    return doubles
  }

  private func typeError(_ key: String, _ value: GGUFValue, expected: String) -> WeightFileError {
    WeightFileError(path: path, kind: .header, problem: "metadata '\(key)' is \(value), expected \(expected)")
  }

  // MARK: Tensors

  public var names: [String] { tensorInfos.map(\.name) }

  public func contains(_ name: String) -> Bool { tensorIndex[name] != nil }

  /// The header entry of `name`: type, row-major shape, position in the file.
  public func tensorInfo(named name: String) throws(WeightFileError) -> GGUFTensorInfo {
    guard let i = tensorIndex[name] else { throw missingTensorError(name) }
    return tensorInfos[i]
  }

  /// The raw bytes of `name` in its stored type (quantized blocks as they are), zero copy.
  public func data(named name: String) throws(WeightFileError) -> GGUFTensorData {
    data(of: try tensorInfo(named: name))
  }

  /// The raw bytes of a tensor of this file (an element of `tensorInfos`), zero copy.
  public func data(of info: GGUFTensorInfo) -> GGUFTensorData {
    precondition(
      tensorIndex[info.name].map { tensorInfos[$0] == info } ?? false,
      "GGUFFile.data(of:): '\(info.name)' is not a tensor of \(path)")
    // The header check guarantees the range lies inside the mapping, which is non-empty (it
    // holds at least the magic).
    let start = file.bytes! + info.fileOffset
    return GGUFTensorData(
      info: info, storage: TensorStorage(borrowing: start, byteCount: info.byteCount, owner: file))
  }

  public func info(named name: String) throws(WeightFileError) -> TensorInfo {
    let info = try tensorInfo(named: name)
    return TensorInfo(dtype: try plainDType(info), shape: info.shape)
  }

  /// A plain tensor (F32, F16, BF16, F64, I8, I16, I32, I64) as a zero-copy `Tensor`.
  public func tensor(named name: String) throws(WeightFileError) -> Tensor {
    let info = try tensorInfo(named: name)
    let dtype = try plainDType(info)
    let shape = info.shape
    return Tensor(
      storage: data(of: info).storage, dtype: dtype, shape: shape, strides: Tensor.contiguousStrides(shape))
  }

  private func plainDType(_ info: GGUFTensorInfo) throws(WeightFileError) -> DType {
    guard let dtype = info.type.dtype else {
      throw WeightFileError(
        path: path, tensor: info.name, kind: .unsupported,
        problem:
          "is \(info.type.name) (quantized in blocks of \(info.type.blockLength)), not a plain dtype: read it with GGUFFile.data(named:)"
      )
    }
    return dtype
  }
}

/// One tensor's bytes in its stored ggml type, borrowed from the mapping (`storage` keeps the
/// file mapped). Rows are `info.rowByteCount` bytes apart; for quantized types a row is a
/// whole number of blocks, as the kernels of MMKernels (`QuantizedMatrix`) expect.
public struct GGUFTensorData: @unchecked Sendable {
  public let info: GGUFTensorInfo
  public let storage: TensorStorage

  public init(info: GGUFTensorInfo, storage: TensorStorage) {
    self.info = info
    self.storage = storage
  }

  public var type: GGMLType { info.type }
  public var bytes: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: storage.bytes, count: info.byteCount)
  }
  /// Start of row `index` (the tensor viewed as `[rowCount, rowLength]`).
  public func row(_ index: Int) -> UnsafeRawPointer {
    precondition(index >= 0 && index < info.rowCount, "row \(index) out of \(info.rowCount)")
    return UnsafeRawPointer(storage.bytes) + index * info.rowByteCount
  }
}

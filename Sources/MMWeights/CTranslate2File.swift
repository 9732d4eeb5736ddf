import MMCore

/// A CTranslate2 `model.bin`, memory-mapped: every tensor it returns is a zero-copy view of the
/// mapping.
///
/// Layout (binary version 6, as `ctranslate2/specs/model_spec.py` `ModelSpec._serialize` writes
/// it; all integers little-endian):
///
///     u32 version (6) · string spec name (`WhisperSpec`) · u32 spec revision · u32 variable count
///     per variable: string name · u8 rank · u32 × rank dims · u8 type id · u32 byte count · bytes
///     u32 alias count · per alias: string alias · string target variable
///     string: u16 length n (bytes including a trailing NUL) · n bytes, the last one 0
///
/// Type ids (`_dtype_to_type_id`, `include/ctranslate2/types.h`): 0 float32, 1 int8, 2 int16,
/// 3 int32, 4 float16, 5 bfloat16. Names are scopes joined by `/`
/// (`encoder/layer_0/self_attention/linear_0/weight`); rank-0 variables are the spec's
/// attributes (`encoder/num_heads`, `decoder/pre_norm`, …). Data is not padded: views start
/// wherever the file puts them, often at odd offsets (unaligned loads, fine on x86-64 and arm64).
///
/// Opening validates the whole layout as untrusted input — truncation, counts and sizes past the
/// end, a byte count that disagrees with the shape, unknown type ids, duplicate names, aliases to
/// nothing, trailing bytes — and throws a `WeightFileError` naming the file and tensor.
public final class CTranslate2File: WeightStore {
  /// One variable's record.
  public struct Entry: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// File offset of the first data byte.
    public let offset: Int
    public let byteCount: Int
  }

  /// The binary versions this reader understands.
  public static let supportedVersions: ClosedRange<UInt32> = 6...6

  public let path: String
  /// The mapping every returned tensor borrows.
  public let file: MappedFile
  public let version: Int
  /// The model specification's name (`WhisperSpec`, `TransformerSpec`, …).
  public let specName: String
  public let revision: Int
  /// Variables in file order.
  public let entries: [Entry]
  /// Alias → variable name (`decoder/projection/weight` → `decoder/embeddings/weight`).
  public let aliases: [String: String]
  private let index: [String: Int]

  /// Maps and validates `path`.
  public init(path: String) throws(WeightFileError) {
    do {
      file = try MappedFile(path: path)
    } catch {
      throw WeightFileError(error)
    }
    self.path = path
    let layout = try parseCTranslate2(file.buffer(0..<file.size), path: path)
    version = layout.version
    specName = layout.specName
    revision = layout.revision
    entries = layout.entries
    aliases = layout.aliases
    var index: [String: Int] = [:]
    for (i, entry) in entries.enumerated() { index[entry.name] = i }
    self.index = index
  }

  /// Variable names in file order, then the aliases (sorted).
  public var names: [String] { entries.map(\.name) + aliases.keys.sorted() }

  public func contains(_ name: String) -> Bool { index[name] != nil || aliases[name] != nil }

  /// The variable `name` or the variable an alias `name` points to.
  public func entry(named name: String) throws(WeightFileError) -> Entry {
    if let i = index[name] { return entries[i] }
    if let target = aliases[name], let i = index[target] { return entries[i] }
    throw missingTensorError(name)
  }

  public func info(named name: String) throws(WeightFileError) -> TensorInfo {
    let entry = try entry(named: name)
    return TensorInfo(dtype: entry.dtype, shape: entry.shape)
  }

  public func tensor(named name: String) throws(WeightFileError) -> Tensor {
    let entry = try entry(named: name)
    // The layout check guarantees the range lies inside the mapping; a zero-byte tensor borrows
    // the start of the (non-empty) mapping.
    guard let base = file.bytes else {
      throw WeightFileError(path: path, tensor: name, kind: .io, problem: "empty mapping")
    }
    let storage = TensorStorage(borrowing: base + entry.offset, byteCount: entry.byteCount, owner: file)
    return Tensor(
      storage: storage, dtype: entry.dtype, shape: entry.shape, strides: Tensor.contiguousStrides(entry.shape)
    )
  }

  /// A rank-0 integer or boolean attribute (`encoder/num_heads`, `decoder/pre_norm`) as an Int;
  /// nil when absent. Throws when it exists but is not an integer scalar.
  public func integer(_ name: String) throws(WeightFileError) -> Int? {
    guard contains(name) else { return nil }
    let entry = try entry(named: name)
    guard entry.shape.isEmpty || entry.shape == [1] else {
      throw WeightFileError(
        path: path, tensor: name, kind: .shape,
        problem: "expected a scalar attribute, found shape \(shapeText(entry.shape))")
    }
    let bytes = file.buffer(entry.offset..<entry.offset + entry.byteCount)
    switch entry.dtype {
    case .i8: return Int(bytes.loadUnaligned(as: Int8.self))
    case .i16: return Int(Int16(littleEndian: bytes.loadUnaligned(as: Int16.self)))
    case .i32: return Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))
    default:
      throw WeightFileError(
        path: path, tensor: name, kind: .dtype, problem: "expected an integer attribute, found \(entry.dtype)"
      )
    }
  }
}

/// The validated layout of a CTranslate2 model file.
struct CTranslate2Layout {
  var version = 0
  var specName = ""
  var revision = 0
  var entries: [CTranslate2File.Entry] = []
  var aliases: [String: String] = [:]
}

/// CTranslate2's type ids, in the order of `include/ctranslate2/types.h`.
let ctranslate2DTypes: [DType] = [.f32, .i8, .i16, .i32, .f16, .bf16]

/// Ranks above this are refused (CTranslate2 variables have at most 4 dimensions).
let ctranslate2MaxRank = 8

/// Validates the bytes of a CTranslate2 model file.
func parseCTranslate2(_ bytes: UnsafeRawBufferPointer, path: String) throws(WeightFileError)
  -> CTranslate2Layout
{
  var reader = CTranslate2Reader(bytes: bytes, fail: Fail(path: path))
  var layout = CTranslate2Layout()
  let version = try reader.u32("the binary version", nil)
  guard CTranslate2File.supportedVersions.contains(version) else {
    throw reader.fail(
      .unsupported,
      "binary version \(version); this reader supports version \(CTranslate2File.supportedVersions.lowerBound) (CTranslate2 ≥ 3)"
    )
  }
  layout.version = Int(version)
  layout.specName = try reader.string("the spec name", nil)
  layout.revision = Int(try reader.u32("the spec revision", nil))
  let count = Int(try reader.u32("the variable count", nil))
  // Every variable takes at least 2 + 1 + 1 + 1 + 4 bytes: a count past that is a lie.
  guard count <= reader.remaining / 9 else {
    throw reader.fail(.truncated, "variable count \(count) cannot fit in the \(reader.remaining) bytes left")
  }
  var seen = Set<String>()
  layout.entries.reserveCapacity(count)
  for i in 0..<count {
    let name = try reader.string("the name of variable \(i)", nil)
    guard seen.insert(name).inserted else { throw reader.fail(.duplicate, name, "variable appears twice") }
    let rank = Int(try reader.u8("its rank", name))
    guard rank <= ctranslate2MaxRank else {
      throw reader.fail(.shape, name, "rank \(rank) exceeds \(ctranslate2MaxRank)")
    }
    var shape: [Int] = []
    var elements = 1
    for axis in 0..<rank {
      let dim = Int(try reader.u32("dimension \(axis)", name))
      let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
      guard !overflow else { throw reader.fail(.shape, name, "shape element count overflows") }
      elements = product
      shape.append(dim)
    }
    let typeID = Int(try reader.u8("its type id", name))
    guard typeID < ctranslate2DTypes.count else {
      throw reader.fail(
        .dtype, name,
        "unknown type id \(typeID); expected 0–5 (float32, int8, int16, int32, float16, bfloat16)")
    }
    let dtype = ctranslate2DTypes[typeID]
    let byteCount = Int(try reader.u32("its byte count", name))
    let (needed, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
    guard !overflow, needed == byteCount else {
      throw reader.fail(
        .offsets, name,
        "byte count \(byteCount) but shape \(shapeText(shape)) of \(dtype) needs \(overflow ? "more than Int.max" : "\(needed)")"
      )
    }
    guard byteCount <= reader.remaining else {
      throw reader.fail(
        .truncated, name,
        "\(byteCount) data bytes at offset \(reader.offset) run past the end (\(reader.remaining) left)")
    }
    layout.entries.append(
      CTranslate2File.Entry(
        name: name, dtype: dtype, shape: shape, offset: reader.offset, byteCount: byteCount))
    reader.offset += byteCount
  }
  let aliasCount = Int(try reader.u32("the alias count", nil))
  guard aliasCount <= reader.remaining / 4 else {
    throw reader.fail(
      .truncated, "alias count \(aliasCount) cannot fit in the \(reader.remaining) bytes left")
  }
  for i in 0..<aliasCount {
    let alias = try reader.string("alias \(i)", nil)
    let target = try reader.string("the target of alias '\(alias)'", alias)
    guard !seen.contains(alias), layout.aliases[alias] == nil else {
      throw reader.fail(.duplicate, alias, "alias repeats a variable or alias name")
    }
    guard seen.contains(target) else {
      throw reader.fail(
        .missingTensor, alias, "alias points to '\(target)', which is not a variable of the file")
    }
    layout.aliases[alias] = target
  }
  guard reader.remaining == 0 else {
    throw reader.fail(
      .header, "\(reader.remaining) unexpected bytes after the aliases at offset \(reader.offset)")
  }
  return layout
}

/// A bounds-checked little-endian cursor over the file.
struct CTranslate2Reader {
  let bytes: UnsafeRawBufferPointer
  let fail: Fail
  var offset = 0

  var remaining: Int { bytes.count - offset }

  private mutating func take(_ size: Int, _ what: String, _ tensor: String?) throws(WeightFileError) -> Int {
    guard size <= remaining else {
      throw fail(
        .truncated, tensor, "file ends at byte \(bytes.count) while reading \(what) at offset \(offset)")
    }
    defer { offset += size }
    return offset
  }

  mutating func u8(_ what: String, _ tensor: String?) throws(WeightFileError) -> UInt8 {
    bytes[try take(1, what, tensor)]
  }

  mutating func u16(_ what: String, _ tensor: String?) throws(WeightFileError) -> UInt16 {
    UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2, what, tensor), as: UInt16.self))
  }

  mutating func u32(_ what: String, _ tensor: String?) throws(WeightFileError) -> UInt32 {
    UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4, what, tensor), as: UInt32.self))
  }

  /// A u16-length-prefixed, NUL-terminated UTF-8 string.
  mutating func string(_ what: String, _ tensor: String?) throws(WeightFileError) -> String {
    let length = Int(try u16("the length of \(what)", tensor))
    guard length >= 1 else {
      throw fail(.header, tensor, "\(what) at offset \(offset - 2) has length 0 (no NUL)")
    }
    let start = try take(length, what, tensor)
    guard bytes[start + length - 1] == 0 else {
      throw fail(.header, tensor, "\(what) at offset \(start) does not end with a NUL byte")
    }
    let body = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length - 1)])
    guard let text = String(validating: body, as: UTF8.self) else {
      throw fail(.header, tensor, "\(what) at offset \(start) is not valid UTF-8")
    }
    return text
  }
}

import MMCore

/// One `.safetensors` file, memory-mapped: every tensor it returns is a zero-copy view of the
/// mapping (the storage keeps the mapping alive).
///
/// Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
/// `n`, `n` bytes of UTF-8 JSON
/// `{"__metadata__": {...}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}`,
/// then the data section, which the tensors must cover exactly (no overlaps, no holes).
///
/// Opening validates the whole header as untrusted input and throws a `WeightFileError` that
/// names the file, the tensor and the problem; no input can crash the reader. Tensor data is
/// not scanned (a BOOL byte other than 0 or 1 is returned as is).
///
/// Alignment: views start wherever the file puts them. Files written by the reference library
/// or by `Safetensors.write` order tensors by descending element size, so every view is aligned
/// to its element size; other files may yield unaligned views (fine on x86-64 and arm64 loads).
public final class SafetensorsFile: WeightStore {
  /// One tensor's header entry.
  public struct Entry: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// The header's `data_offsets`: bytes relative to the start of the data section.
    public let dataOffsets: Range<Int>
  }

  /// Header lengths above this are refused (the reference library's limit).
  public static let maxHeaderLength = 100_000_000

  public let path: String
  /// The mapping every returned tensor borrows.
  public let file: MappedFile
  /// The `__metadata__` strings (empty when absent).
  public let metadata: [String: String]
  /// Entries in the order the header lists them.
  public let entries: [Entry]
  /// File offset of the data section: 8 + header length.
  public let dataStart: Int
  private let index: [String: Int]

  /// Maps and validates `path`.
  public init(path: String) throws(WeightFileError) {
    do {
      file = try MappedFile(path: path)
    } catch {
      throw WeightFileError(error)
    }
    self.path = path
    let header = try parseSafetensorsHeader(file.buffer(0..<file.size), path: path)
    metadata = header.metadata
    entries = header.entries
    dataStart = header.dataStart
    var index: [String: Int] = [:]
    for (i, entry) in entries.enumerated() { index[entry.name] = i }
    self.index = index
  }

  public var names: [String] { entries.map(\.name) }

  public func contains(_ name: String) -> Bool { index[name] != nil }

  public func entry(named name: String) throws(WeightFileError) -> Entry {
    guard let i = index[name] else { throw missingTensorError(name) }
    return entries[i]
  }

  public func info(named name: String) throws(WeightFileError) -> TensorInfo {
    let entry = try entry(named: name)
    return TensorInfo(dtype: entry.dtype, shape: entry.shape)
  }

  public func tensor(named name: String) throws(WeightFileError) -> Tensor {
    view(of: try entry(named: name))
  }

  /// Every tensor, in header order.
  public func tensors() -> [(name: String, tensor: Tensor)] {
    entries.map { ($0.name, view(of: $0)) }
  }

  private func view(of entry: Entry) -> Tensor {
    // The header check guarantees the range lies inside the mapping, which is non-empty.
    let start = file.bytes! + dataStart + entry.dataOffsets.lowerBound
    let storage = TensorStorage(borrowing: start, byteCount: entry.dataOffsets.count, owner: file)
    return Tensor(
      storage: storage, dtype: entry.dtype, shape: entry.shape,
      strides: Tensor.contiguousStrides(entry.shape))
  }
}

/// The validated content of a safetensors header.
struct SafetensorsHeader {
  var metadata: [String: String] = [:]
  var entries: [SafetensorsFile.Entry] = []
  var dataStart = 0
}

/// Validates the header of the safetensors file whose bytes are `file`.
func parseSafetensorsHeader(_ file: UnsafeRawBufferPointer, path: String)
  throws(WeightFileError) -> SafetensorsHeader
{
  let fail = Fail(path: path)
  guard file.count >= 8 else {
    throw fail(.truncated, "file is \(file.count) bytes, too short for the 8-byte header length")
  }
  let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
  guard declared <= UInt64(SafetensorsFile.maxHeaderLength) else {
    throw fail(
      .header,
      "header length \(declared) exceeds the limit of \(SafetensorsFile.maxHeaderLength) bytes")
  }
  let headerLength = Int(declared)
  guard 8 + headerLength <= file.count else {
    throw fail(
      .truncated,
      "header length \(headerLength) needs \(8 + headerLength) bytes but the file has \(file.count)")
  }
  let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)])
  guard String(validating: headerBytes, as: UTF8.self) != nil else {
    throw fail(.header, "header is not valid UTF-8")
  }
  guard headerBytes.first == UInt8(ascii: "{") else {
    throw fail(
      .header, "header must start with '{', found \(headerBytes.first.map { "byte \($0)" } ?? "nothing")")
  }
  let json: JSONValue
  do {
    json = try JSONParser.parse(headerBytes, file: path, maxDepth: 64, recordLocations: false).root
  } catch {
    throw fail(
      error.isDuplicateKey ? .duplicate : .header, "header JSON at byte \(8 + error.offset): \(error.message)"
    )
  }
  guard case .object(let members) = json else {
    throw fail(.header, "header must be a JSON object, found \(json.describedType)")
  }

  var header = SafetensorsHeader(dataStart: 8 + headerLength)
  let dataSize = file.count - header.dataStart
  for member in members {
    if member.key == "__metadata__" {
      header.metadata = try parseMetadata(member.value, fail: fail)
    } else {
      header.entries.append(try parseEntry(member, dataSize: dataSize, fail: fail))
    }
  }
  try checkCoverage(header.entries, dataSize: dataSize, fail: fail)
  return header
}

/// Builds the errors of one file: `fail(.offsets, "w", "…")` or `fail(.header, "…")`.
struct Fail {
  let path: String
  func callAsFunction(_ kind: WeightFileError.Kind, _ tensor: String?, _ problem: String)
    -> WeightFileError
  {
    WeightFileError(path: path, tensor: tensor, kind: kind, problem: problem)
  }

  func callAsFunction(_ kind: WeightFileError.Kind, _ problem: String) -> WeightFileError {
    WeightFileError(path: path, kind: kind, problem: problem)
  }
}

private func parseMetadata(_ value: JSONValue, fail: Fail) throws(WeightFileError)
  -> [String: String]
{
  guard case .object(let pairs) = value else {
    throw fail(.header, nil, "__metadata__ must be an object of strings, found \(value.describedType)")
  }
  var metadata: [String: String] = [:]
  for pair in pairs {
    guard case .string(let text) = pair.value else {
      throw fail(
        .header, nil, "__metadata__['\(pair.key)'] must be a string, found \(pair.value.describedType)")
    }
    metadata[pair.key] = text
  }
  return metadata
}

private func parseEntry(_ member: JSONMember, dataSize: Int, fail: Fail) throws(WeightFileError)
  -> SafetensorsFile.Entry
{
  let name = member.key
  guard case .object = member.value else {
    throw fail(.header, name, "entry must be an object, found \(member.value.describedType)")
  }
  guard case .string(let dtypeText)? = member.value["dtype"] else {
    throw fail(.header, name, "missing string field 'dtype'")
  }
  guard let dtype = DType(rawValue: dtypeText) else {
    let known = DType.allCases.map(\.rawValue).joined(separator: ", ")
    throw fail(.dtype, name, "unknown dtype '\(dtypeText)'; expected one of \(known)")
  }
  guard case .array(let dims)? = member.value["shape"] else {
    throw fail(.header, name, "missing array field 'shape'")
  }
  var shape: [Int] = []
  for dim in dims {
    guard let value = dim.nonNegativeInt else {
      throw fail(.shape, name, "shape entries must be non-negative integers, found \(dim.describedType)")
    }
    shape.append(value)
  }
  guard let count = checkedElementCount(shape),
    case (let needed, false) = count.multipliedReportingOverflow(by: dtype.byteSize)
  else {
    throw fail(.shape, name, "shape \(shapeText(shape)) of \(dtype.rawValue) overflows the byte count")
  }
  // A zero extent makes the count 0, but the view's strides must still fit in 64 bits.
  guard checkedElementCount(shape.map { max($0, 1) }) != nil else {
    throw fail(
      .shape, name, "shape \(shapeText(shape)): the product of its nonzero extents overflows 64 bits")
  }
  guard case .array(let offsets)? = member.value["data_offsets"] else {
    throw fail(.header, name, "missing array field 'data_offsets'")
  }
  guard offsets.count == 2, let begin = offsets[0].nonNegativeInt,
    let end = offsets[1].nonNegativeInt
  else {
    throw fail(
      .offsets, name,
      "data_offsets must be two non-negative integers [begin, end], found \(offsets.count) values")
  }
  guard begin <= end else {
    throw fail(.offsets, name, "data_offsets [\(begin), \(end)] end before they begin")
  }
  guard end <= dataSize else {
    throw fail(
      .offsets, name, "data_offsets [\(begin), \(end)] end past the \(dataSize)-byte data section")
  }
  guard end - begin == needed else {
    throw fail(
      .offsets, name,
      "data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shapeText(shape)) of \(dtype.rawValue) needs \(needed)"
    )
  }
  return SafetensorsFile.Entry(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
}

/// The tensors must tile the data section exactly, as the format requires.
private func checkCoverage(_ entries: [SafetensorsFile.Entry], dataSize: Int, fail: Fail)
  throws(WeightFileError)
{
  let ordered = entries.sorted {
    ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound)
      < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
  }
  var covered = 0
  var previous: SafetensorsFile.Entry?
  for entry in ordered {
    let range = entry.dataOffsets
    if range.lowerBound < covered, let previous {
      throw fail(
        .offsets, entry.name,
        "data_offsets [\(range.lowerBound), \(range.upperBound)] overlap tensor '\(previous.name)' at [\(previous.dataOffsets.lowerBound), \(previous.dataOffsets.upperBound)]"
      )
    }
    if range.lowerBound > covered {
      throw fail(
        .offsets, entry.name,
        "data_offsets start at \(range.lowerBound) but the bytes before end at \(covered): a hole of \(range.lowerBound - covered) bytes"
      )
    }
    covered = range.upperBound
    if !range.isEmpty { previous = entry }
  }
  guard covered == dataSize else {
    throw fail(
      .offsets, nil,
      "data section is \(dataSize) bytes but the tensors cover only [0, \(covered)): \(dataSize - covered) bytes belong to no tensor"
    )
  }
}

extension JSONValue {
  /// The value's JSON type for header messages, with the literal for scalars: `number -2`, `true`.
  var describedType: String {
    switch self {
    case .number(let text): return "number \(text)"
    case .bool(let value): return "\(value)"
    default: return typeName
    }
  }

  /// The value as a non-negative `Int` when it is a plain integer literal that fits.
  var nonNegativeInt: Int? {
    guard case .number(let text) = self, !text.isEmpty,
      text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
    else { return nil }
    return Int(text)
  }
}

extension JSONSyntaxError {
  var isDuplicateKey: Bool {
    if case .duplicateKey = kind { return true }
    return false
  }
}

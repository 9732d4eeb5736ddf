import MMCore

/// The validated header of a GGUF file.
struct GGUFHeader {
  var version: UInt32 = 0
  var metadata: [(key: String, value: GGUFValue)] = []
  var tensors: [GGUFTensorInfo] = []
  var alignment = GGUFFile.defaultAlignment
  /// File offset of the data section (the header's end rounded up to the alignment).
  var dataStart = 0
}

/// Validates the header of the GGUF file whose bytes are `file` (spec:
/// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) as untrusted input: every count
/// and length is checked against the bytes that remain before anything is allocated, every
/// offset and size is overflow-checked and must lie inside the file, and nothing can crash.
func parseGGUFHeader(_ file: UnsafeRawBufferPointer, path: String) throws(WeightFileError) -> GGUFHeader {
  let fail = Fail(path: path)
  var cursor = GGUFCursor(bytes: file, fail: fail)
  var header = GGUFHeader()

  let magic = try cursor.bytes(4, "the magic number")
  guard Array(magic) == Array("GGUF".utf8) else {
    let found = magic.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "." }.joined()
    throw fail(.header, "not a GGUF file: expected magic 'GGUF', found '\(found)'")
  }
  let version = try cursor.u32("the version")
  let swapped = version.byteSwapped
  if version & 0xFFFF == 0 && (1...3).contains(swapped) {
    throw fail(
      .unsupported,
      "big-endian GGUF (the version field reads \(version), version \(swapped) byte-swapped): only little-endian files are supported"
    )
  }
  if version == 1 {
    throw fail(
      .unsupported,
      "GGUF version 1 (the 2023 draft with 32-bit counts) is not supported: expected version 2 or 3; re-convert the model with a current llama.cpp"
    )
  }
  guard version == 2 || version == 3 else {
    throw fail(.unsupported, "GGUF version \(version) is not supported: expected version 2 or 3")
  }
  header.version = version

  let tensorCount = try cursor.u64("the tensor count")
  let kvCount = try cursor.u64("the metadata count")
  // The smallest tensor info: name length, dimension count, type and offset.
  try cursor.requireCount(tensorCount, minimumSize: 24, "tensor count")
  // The smallest key/value: key length, value type and a one-byte value.
  try cursor.requireCount(kvCount, minimumSize: 13, "metadata count")

  var keys = Set<String>()
  header.metadata.reserveCapacity(Int(kvCount))
  for index in 0..<Int(kvCount) {
    let key = try cursor.name("metadata key #\(index)")
    guard keys.insert(key).inserted else {
      throw fail(.duplicate, "metadata key '\(key)' appears twice")
    }
    let type = try cursor.valueType("metadata '\(key)'")
    let value = try cursor.value(type, depth: 0, "metadata '\(key)'")
    header.metadata.append((key, value))
  }

  if let entry = header.metadata.first(where: { $0.key == "general.alignment" }) {
    guard case .uint32(let value) = entry.value else {
      throw fail(.header, "metadata 'general.alignment' must be UINT32, found \(entry.value)")
    }
    guard value > 0 && value & (value - 1) == 0 else {
      throw fail(.header, "metadata 'general.alignment' must be a power of two, found \(value)")
    }
    header.alignment = Int(value)
  }

  var names = Set<String>()
  var relativeOffsets: [Int] = []
  header.tensors.reserveCapacity(Int(tensorCount))
  relativeOffsets.reserveCapacity(Int(tensorCount))
  for index in 0..<Int(tensorCount) {
    let name = try cursor.name("the name of tensor #\(index)")
    guard names.insert(name).inserted else {
      throw fail(.duplicate, name, "tensor name appears twice")
    }
    let (info, offset) = try cursor.tensorInfo(name: name, alignment: header.alignment)
    header.tensors.append(info)
    relativeOffsets.append(offset)
  }

  let headerEnd = cursor.position
  let padded = (headerEnd + header.alignment - 1) / header.alignment * header.alignment
  let hasData = header.tensors.contains { $0.byteCount > 0 }
  if hasData && padded > file.count {
    throw fail(
      .truncated,
      "the header ends at byte \(headerEnd) and the data section starts at \(padded) (alignment \(header.alignment)), past the end of the \(file.count)-byte file"
    )
  }
  header.dataStart = min(padded, file.count)
  try placeTensors(&header, relativeOffsets: relativeOffsets, fileSize: file.count, fail: fail)
  return header
}

/// Resolves each tensor's file offset and checks that its bytes lie inside the file and that no
/// two tensors overlap.
private func placeTensors(
  _ header: inout GGUFHeader, relativeOffsets: [Int], fileSize: Int, fail: Fail
) throws(WeightFileError) {
  let dataSize = fileSize - header.dataStart
  var placed: [GGUFTensorInfo] = []
  placed.reserveCapacity(header.tensors.count)
  for (info, offset) in zip(header.tensors, relativeOffsets) {
    guard offset <= dataSize, info.byteCount <= dataSize - offset else {
      throw fail(
        .offsets, info.name,
        "data at offset \(offset) needs \(info.byteCount) bytes (\(info.type.name) \(shapeText(info.shape))) but the data section has \(dataSize) bytes"
      )
    }
    placed.append(
      GGUFTensorInfo(
        name: info.name, type: info.type, dimensions: info.dimensions,
        fileOffset: header.dataStart + offset, byteCount: info.byteCount))
  }
  let ordered = placed.filter { $0.byteCount > 0 }.sorted { $0.fileOffset < $1.fileOffset }
  for (previous, next) in zip(ordered, ordered.dropFirst())
  where next.fileOffset < previous.fileOffset + previous.byteCount {
    let start = previous.fileOffset - header.dataStart
    throw fail(
      .offsets, next.name,
      "data at offset \(next.fileOffset - header.dataStart) overlaps tensor '\(previous.name)' at [\(start), \(start + previous.byteCount))"
    )
  }
  header.tensors = placed
}

/// A bounds-checked little-endian reader over the header bytes. Every read names what it is
/// reading, so a truncated file says where it ends.
struct GGUFCursor {
  let bytes: UnsafeRawBufferPointer
  let fail: Fail
  var position = 0

  /// Nested arrays deeper than this are refused (no real file nests more than twice).
  static let maximumDepth = 16

  var remaining: Int { bytes.count - position }

  mutating func bytes(_ count: Int, _ what: @autoclosure () -> String) throws(WeightFileError)
    -> UnsafeRawBufferPointer
  {
    guard count <= remaining else {
      throw fail(
        .truncated,
        "the file ends at byte \(bytes.count) inside \(what()): \(count) bytes needed at offset \(position)")
    }
    defer { position += count }
    return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
  }

  mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String)
    throws(WeightFileError) -> T
  {
    let raw = try bytes(MemoryLayout<T>.size, what())
    return T(littleEndian: raw.loadUnaligned(as: T.self))
  }

  mutating func u32(_ what: @autoclosure () -> String) throws(WeightFileError) -> UInt32 {
    try load(UInt32.self, what())
  }

  mutating func u64(_ what: @autoclosure () -> String) throws(WeightFileError) -> UInt64 {
    try load(UInt64.self, what())
  }

  /// Refuses a count whose elements, at `minimumSize` bytes each, cannot fit in what remains.
  func requireCount(_ count: UInt64, minimumSize: Int, _ what: @autoclosure () -> String)
    throws(WeightFileError)
  {
    guard count <= UInt64(remaining / minimumSize) else {
      throw fail(
        .truncated,
        "\(what()) \(count) cannot fit: each entry takes at least \(minimumSize) bytes and \(remaining) bytes remain after offset \(position)"
      )
    }
  }

  /// A GGUF string: a u64 length and that many bytes. Invalid UTF-8 is repaired (U+FFFD)
  /// unless `strict`, where it is an error.
  mutating func string(_ what: @autoclosure () -> String, strict: Bool = false) throws(WeightFileError)
    -> String
  {
    let length = try u64("the length of \(what())")
    guard length <= UInt64(remaining) else {
      throw fail(
        .truncated,
        "\(what()): string length \(length) runs past the end of the file (\(remaining) bytes remain after offset \(position))"
      )
    }
    let raw = try bytes(Int(length), what())
    if strict {
      guard let text = String(validating: raw, as: UTF8.self) else {
        throw fail(.header, "\(what()) is not valid UTF-8")
      }
      return text
    }
    return String(decoding: raw, as: UTF8.self)
  }

  /// A key or tensor name: valid UTF-8 and not empty.
  mutating func name(_ what: @autoclosure () -> String) throws(WeightFileError) -> String {
    let text = try string(what(), strict: true)
    guard !text.isEmpty else { throw fail(.header, "\(what()) is empty") }
    return text
  }

  mutating func valueType(_ what: @autoclosure () -> String) throws(WeightFileError) -> GGUFValueType {
    let raw = try u32("the value type of \(what())")
    guard let type = GGUFValueType(rawValue: raw) else {
      throw fail(.header, "\(what()): unknown value type \(raw); expected 0…12 (UINT8…FLOAT64)")
    }
    return type
  }

  mutating func value(_ type: GGUFValueType, depth: Int, _ what: @autoclosure () -> String)
    throws(WeightFileError) -> GGUFValue
  {
    switch type {
    case .uint8: return .uint8(try load(UInt8.self, what()))
    case .int8: return .int8(try load(Int8.self, what()))
    case .uint16: return .uint16(try load(UInt16.self, what()))
    case .int16: return .int16(try load(Int16.self, what()))
    case .uint32: return .uint32(try load(UInt32.self, what()))
    case .int32: return .int32(try load(Int32.self, what()))
    case .uint64: return .uint64(try load(UInt64.self, what()))
    case .int64: return .int64(try load(Int64.self, what()))
    case .float32: return .float32(Float(bitPattern: try load(UInt32.self, what())))
    case .float64: return .float64(Double(bitPattern: try load(UInt64.self, what())))
    case .bool: return .bool(try bool(what()))
    case .string: return .string(try string(what()))
    case .array: return .array(try array(depth: depth, what()))
    }
  }

  mutating func bool(_ what: @autoclosure () -> String) throws(WeightFileError) -> Bool {
    let byte = try load(UInt8.self, what())
    guard byte <= 1 else { throw fail(.header, "\(what()): BOOL must be 0 or 1, found \(byte)") }
    return byte == 1
  }

  mutating func array(depth: Int, _ what: @autoclosure () -> String) throws(WeightFileError) -> GGUFArray {
    guard depth < Self.maximumDepth else {
      throw fail(.header, "\(what()): arrays nested deeper than \(Self.maximumDepth) levels")
    }
    let type = try valueType("the element type of \(what())")
    let count64 = try u64("the element count of \(what())")
    try requireCount(count64, minimumSize: type.minimumByteSize, "\(what()): ARRAY[\(type)] element count")
    let count = Int(count64)
    switch type {
    case .uint8: return .uint8(try scalars(UInt8.self, count, what()))
    case .int8: return .int8(try scalars(Int8.self, count, what()))
    case .uint16: return .uint16(try scalars(UInt16.self, count, what()))
    case .int16: return .int16(try scalars(Int16.self, count, what()))
    case .uint32: return .uint32(try scalars(UInt32.self, count, what()))
    case .int32: return .int32(try scalars(Int32.self, count, what()))
    case .uint64: return .uint64(try scalars(UInt64.self, count, what()))
    case .int64: return .int64(try scalars(Int64.self, count, what()))
    case .float32: return .float32(try scalars(UInt32.self, count, what()).map { Float(bitPattern: $0) })
    case .float64: return .float64(try scalars(UInt64.self, count, what()).map { Double(bitPattern: $0) })
    case .bool:
      var values: [Bool] = []
      values.reserveCapacity(count)
      for i in 0..<count { values.append(try bool("\(what())[\(i)]")) }
      return .bool(values)
    case .string:
      var values: [String] = []
      values.reserveCapacity(count)
      for i in 0..<count { values.append(try string("\(what())[\(i)]")) }
      return .string(values)
    case .array:
      var values: [GGUFArray] = []
      values.reserveCapacity(count)
      for i in 0..<count { values.append(try array(depth: depth + 1, "\(what())[\(i)]")) }
      return .array(values)
    }
  }

  /// `count` little-endian integers (the count was bounded by `requireCount`).
  mutating func scalars<T: FixedWidthInteger>(_ type: T.Type, _ count: Int, _ what: @autoclosure () -> String)
    throws(WeightFileError) -> [T]
  {
    let raw = try bytes(count * MemoryLayout<T>.size, what())
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
      for i in 0..<count {
        buffer[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
      }
      initialized = count
    }
  }

  /// One tensor info after its name: dimension count, dimensions, type and data offset
  /// (relative to the data section). The shape and byte count are checked here; the offset
  /// against the file once the data section is known.
  mutating func tensorInfo(name: String, alignment: Int) throws(WeightFileError)
    -> (GGUFTensorInfo, offset: Int)
  {
    let rank = try u32("the dimension count of tensor '\(name)'")
    guard rank <= 4 else {
      throw fail(.shape, name, "\(rank) dimensions; GGUF allows at most 4 (GGML_MAX_DIMS)")
    }
    var dimensions: [Int] = []
    for axis in 0..<Int(rank) {
      let dim = try u64("dimension \(axis) of tensor '\(name)'")
      guard dim <= UInt64(Int.max) else {
        throw fail(.shape, name, "dimension \(axis) is \(dim), past the largest supported size")
      }
      dimensions.append(Int(dim))
    }
    let rawType = try u32("the type of tensor '\(name)'")
    guard let type = GGMLType(rawValue: rawType) else {
      throw fail(
        .dtype, name,
        "unknown tensor type \(rawType); expected a ggml type id (0–3, 6–30, 34, 35, 39–41), e.g. 0 F32, 1 F16, 2 Q4_0, 12 Q4_K"
      )
    }
    let shape = shapeText(dimensions.reversed())
    let rowLength = dimensions.first ?? 1
    guard rowLength % type.blockLength == 0 else {
      throw fail(
        .shape, name,
        "\(type.name) packs \(type.blockLength) elements per block but the row length (ne[0]) is \(rowLength), shape \(shape)"
      )
    }
    guard let count = checkedElementCount(dimensions),
      case (let bytes, false) = (count / type.blockLength).multipliedReportingOverflow(
        by: type.blockByteCount)
    else {
      throw fail(.shape, name, "shape \(shape) of \(type.name) overflows the byte count")
    }
    // A zero extent makes the count 0, but row counts and a view's strides (products of the
    // other extents) must still fit in 64 bits.
    guard checkedElementCount(dimensions.map { max($0, 1) }) != nil else {
      throw fail(.shape, name, "shape \(shape): the product of its nonzero extents overflows 64 bits")
    }
    let offset = try u64("the data offset of tensor '\(name)'")
    guard offset <= UInt64(Int.max) else {
      throw fail(.offsets, name, "data offset \(offset) is past the largest supported file size")
    }
    guard offset % UInt64(alignment) == 0 else {
      throw fail(.offsets, name, "data offset \(offset) is not a multiple of the alignment \(alignment)")
    }
    let info = GGUFTensorInfo(name: name, type: type, dimensions: dimensions, fileOffset: 0, byteCount: bytes)
    return (info, Int(offset))
  }
}

import MMCore
import MMGraph

/// The cache's binary encoding of `Value`s, version 1. Little-endian; every value starts with a
/// tag byte; strings are a u64 byte count then UTF-8; a tensor is its dtype name, rank (u32),
/// dimensions (u64 each) and its elements row-major. The same bytes feed SHA-256 to give a
/// value's content hash, so equal values hash equal whatever their strides.
///
///     tag 1 tensor | 2 audio (i64 rate, tensor) | 3 image (tensor) | 4 video (path)
///     5 point cloud (tensor) | 6 text | 7 tokens (u64 count, i32…) | 8 embedding (space, form,
///     tensor) | 9 json (compact text)
public enum ValueCodec {
  public static let version: UInt32 = 1

  /// Writes `value` into `sink`.
  public static func encode<S: ByteSink>(_ value: Value, into sink: inout S) {
    switch value {
    case .tensor(let t):
      sink.put(UInt8(1))
      encode(t, into: &sink)
    case .audio(let a):
      sink.put(UInt8(2))
      sink.put(Int64(a.sampleRate))
      encode(a.samples, into: &sink)
    case .image(let t):
      sink.put(UInt8(3))
      encode(t, into: &sink)
    case .video(let path):
      sink.put(UInt8(4))
      sink.put(path)
    case .pointCloud(let t):
      sink.put(UInt8(5))
      encode(t, into: &sink)
    case .text(let s):
      sink.put(UInt8(6))
      sink.put(s)
    case .tokens(let ids):
      sink.put(UInt8(7))
      sink.put(UInt64(ids.count))
      ids.withUnsafeBytes { sink.write($0) }
    case .embedding(let e):
      sink.put(UInt8(8))
      sink.put(e.space)
      sink.put(e.form.rawValue)
      encode(e.vectors, into: &sink)
    case .json(let j):
      sink.put(UInt8(9))
      encode(j, into: &sink)
    }
  }

  static func encode<S: ByteSink>(_ tensor: Tensor, into sink: inout S) {
    sink.put(tensor.dtype.rawValue)
    sink.put(UInt32(tensor.rank))
    for dim in tensor.shape { sink.put(UInt64(dim)) }
    let dense = tensor.contiguous()
    sink.write(UnsafeRawBufferPointer(start: dense.baseAddress, count: dense.byteCount))
  }

  /// The bytes of `value`.
  public static func encoded(_ value: Value) -> [UInt8] {
    var bytes = ByteBuffer()
    encode(value, into: &bytes)
    return bytes.bytes
  }

  /// SHA-256 of the encoding: the value's content address.
  public static func hash(_ value: Value) -> [UInt8] {
    var hasher = SHA256()
    encode(value, into: &hasher)
    return hasher.finalize()
  }

  /// Reads one value; throws `CacheError.corrupt` on anything malformed.
  public static func decode(_ reader: inout ByteReader) throws(CacheError) -> Value {
    switch try reader.get(UInt8.self) {
    case 1: return .tensor(try decodeTensor(&reader))
    case 2:
      let rate = try reader.get(Int64.self)
      return .audio(Audio(samples: try decodeTensor(&reader), sampleRate: Int(rate)))
    case 3: return .image(try decodeTensor(&reader))
    case 4: return .video(path: try reader.string())
    case 5: return .pointCloud(try decodeTensor(&reader))
    case 6: return .text(try reader.string())
    case 7:
      let count = try reader.count(elementSize: 4)
      let raw = try reader.bytes(count * 4)
      return .tokens(raw.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) })
    case 8:
      let space = try reader.string()
      let formName = try reader.string()
      guard let form = EmbeddingForm(rawValue: formName) else {
        throw .corrupt("unknown embedding form '\(formName)'")
      }
      return .embedding(Embedding(vectors: try decodeTensor(&reader), space: space, form: form))
    case 9: return .json(try decodeJSON(&reader, depth: 0))
    case let tag: throw .corrupt("unknown value tag \(tag)")
    }
  }

  /// JSON as a tree: tag (0 null, 1 false, 2 true, 3 number text, 4 string, 5 array, 6 object).
  static func encode<S: ByteSink>(_ json: JSONValue, into sink: inout S) {
    switch json {
    case .null: sink.put(UInt8(0))
    case .bool(let b): sink.put(UInt8(b ? 2 : 1))
    case .number(let text):
      sink.put(UInt8(3))
      sink.put(text)
    case .string(let s):
      sink.put(UInt8(4))
      sink.put(s)
    case .array(let items):
      sink.put(UInt8(5))
      sink.put(UInt64(items.count))
      for item in items { encode(item, into: &sink) }
    case .object(let members):
      sink.put(UInt8(6))
      sink.put(UInt64(members.count))
      for member in members {
        sink.put(member.key)
        encode(member.value, into: &sink)
      }
    }
  }

  static func decodeJSON(_ reader: inout ByteReader, depth: Int) throws(CacheError) -> JSONValue {
    guard depth < 512 else { throw .corrupt("JSON nested deeper than 512") }
    switch try reader.get(UInt8.self) {
    case 0: return .null
    case 1: return .bool(false)
    case 2: return .bool(true)
    case 3: return .number(try reader.string())
    case 4: return .string(try reader.string())
    case 5:
      let count = try reader.count(elementSize: 1)
      var items: [JSONValue] = []
      for _ in 0..<count { items.append(try decodeJSON(&reader, depth: depth + 1)) }
      return .array(items)
    case 6:
      let count = try reader.count(elementSize: 9)
      var members: [JSONMember] = []
      for _ in 0..<count {
        let key = try reader.string()
        members.append(JSONMember(key, try decodeJSON(&reader, depth: depth + 1)))
      }
      return .object(members)
    case let tag: throw .corrupt("unknown JSON tag \(tag)")
    }
  }

  static func decodeTensor(_ reader: inout ByteReader) throws(CacheError) -> Tensor {
    let name = try reader.string()
    guard let dtype = DType(rawValue: name) else { throw .corrupt("unknown dtype '\(name)'") }
    let rank = Int(try reader.get(UInt32.self))
    guard rank <= 64 else { throw .corrupt("tensor rank \(rank)") }
    var shape: [Int] = []
    for _ in 0..<rank {
      let dim = try reader.get(UInt64.self)
      guard dim < UInt64(Int.max) else { throw .corrupt("dimension \(dim)") }
      shape.append(Int(dim))
    }
    guard let count = checkedElementCount(shape), count <= reader.remaining / max(dtype.byteSize, 1)
    else { throw .corrupt("tensor \(shapeText(shape)) of \(dtype.name) is longer than the entry") }
    let tensor = Tensor(zeros: shape, dtype: dtype)
    try reader.copy(into: tensor.baseAddress, count: tensor.byteCount)
    return tensor
  }
}

/// Where encoded bytes go: a buffer, a hasher or a file.
public protocol ByteSink {
  mutating func write(_ bytes: UnsafeRawBufferPointer)
}

extension ByteSink {
  mutating func put<T: FixedWidthInteger>(_ value: T) {
    var little = value.littleEndian
    withUnsafeBytes(of: &little) { write($0) }
  }
  mutating func put(_ text: String) {
    let utf8 = Array(text.utf8)
    put(UInt64(utf8.count))
    utf8.withUnsafeBytes { write($0) }
  }
}

extension SHA256: ByteSink {
  public mutating func write(_ bytes: UnsafeRawBufferPointer) { update(bytes) }
}

/// Bytes in memory.
public struct ByteBuffer: ByteSink {
  public var bytes: [UInt8] = []
  public init() {}
  public mutating func write(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
}

/// A bounds-checked cursor over bytes read from the cache.
public struct ByteReader {
  let bytes: [UInt8]
  public private(set) var offset = 0
  public init(_ bytes: [UInt8]) { self.bytes = bytes }
  public var remaining: Int { bytes.count - offset }

  mutating func get<T: FixedWidthInteger>(_ type: T.Type) throws(CacheError) -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { throw .corrupt("entry ends inside a \(size)-byte field") }
    let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    offset += size
    return T(littleEndian: value)
  }

  /// A u64 element count that must fit in the rest of the entry.
  mutating func count(elementSize: Int) throws(CacheError) -> Int {
    let count = try get(UInt64.self)
    guard count <= UInt64(remaining / max(elementSize, 1)) else {
      throw .corrupt("count \(count) is longer than the entry")
    }
    return Int(count)
  }

  mutating func bytes(_ count: Int) throws(CacheError) -> [UInt8] {
    guard count >= 0, remaining >= count else { throw .corrupt("entry ends inside a \(count)-byte field") }
    defer { offset += count }
    return Array(bytes[offset..<(offset + count)])
  }

  mutating func copy(into destination: UnsafeMutableRawPointer, count: Int) throws(CacheError) {
    guard count >= 0, remaining >= count else { throw .corrupt("entry ends inside a \(count)-byte field") }
    bytes.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
    offset += count
  }

  mutating func string() throws(CacheError) -> String {
    let count = try self.count(elementSize: 1)
    let raw = try bytes(count)
    guard let text = String(validating: raw, as: UTF8.self) else { throw .corrupt("string is not UTF-8") }
    return text
  }
}

/// A cache problem. A corrupt entry is treated as a miss (and removed); I/O problems on store
/// are reported as warnings, never failing a run.
public enum CacheError: Error, CustomStringConvertible, Sendable {
  case corrupt(String)
  case io(path: String, problem: String)

  public var description: String {
    switch self {
    case .corrupt(let problem): return "corrupt cache entry: \(problem)"
    case .io(let path, let problem): return "cache: \(path): \(problem)"
    }
  }
}

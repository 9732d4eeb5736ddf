import MMGraph

/// One cache entry file: the outputs of one node run.
///
///     "MMGCACHE" | u32 version | u32 output count
///     per output: name (u64 length + UTF-8) | 32-byte SHA-256 of the value | u64 payload length
///     the payloads (`ValueCodec`), in the same order
///
/// The header comes first so `mmgraph plan` can read the output hashes without the values.
enum CacheEntry {
  static let magic = Array("MMGCACHE".utf8)

  struct Item {
    var name: String
    var hash: [UInt8]
    var length: Int
  }

  static func encode(_ outputs: [(port: String, value: Value)]) -> [UInt8] {
    let payloads = outputs.map { ValueCodec.encoded($0.value) }
    var out = ByteBuffer()
    magic.withUnsafeBytes { out.write($0) }
    out.put(ValueCodec.version)
    out.put(UInt32(outputs.count))
    for (output, payload) in zip(outputs, payloads) {
      out.put(output.port)
      var hasher = SHA256()
      hasher.update(payload)
      hasher.finalize().withUnsafeBytes { out.write($0) }
      out.put(UInt64(payload.count))
    }
    for payload in payloads { payload.withUnsafeBytes { out.write($0) } }
    return out.bytes
  }

  static func readHeader(_ reader: inout ByteReader) throws(CacheError) -> [Item] {
    guard try reader.bytes(magic.count) == magic else { throw .corrupt("not a cache entry") }
    let version = try reader.get(UInt32.self)
    guard version == ValueCodec.version else { throw .corrupt("entry version \(version)") }
    let count = Int(try reader.get(UInt32.self))
    guard count <= 4096 else { throw .corrupt("\(count) outputs") }
    var items: [Item] = []
    for _ in 0..<count {
      let name = try reader.string()
      let hash = try reader.bytes(32)
      let length = try reader.get(UInt64.self)
      guard length <= UInt64(Int.max) else { throw .corrupt("payload length \(length)") }
      items.append(Item(name: name, hash: hash, length: Int(length)))
    }
    return items
  }

  /// The outputs, each checked against its stored hash.
  static func decode(_ bytes: [UInt8]) throws(CacheError) -> [(port: String, value: Value)] {
    var reader = ByteReader(bytes)
    let items = try readHeader(&reader)
    var outputs: [(port: String, value: Value)] = []
    for item in items {
      var payload = ByteReader(try reader.bytes(item.length))
      var hasher = SHA256()
      payload.bytes.withUnsafeBytes { hasher.update($0) }
      guard hasher.finalize() == item.hash else { throw .corrupt("output '\(item.name)' fails its hash") }
      let value = try ValueCodec.decode(&payload)
      guard payload.remaining == 0 else { throw .corrupt("output '\(item.name)' has trailing bytes") }
      outputs.append((item.name, value))
    }
    guard reader.remaining == 0 else { throw .corrupt("trailing bytes after the outputs") }
    return outputs
  }
}

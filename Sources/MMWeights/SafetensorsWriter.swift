import MMCore

/// Writing `.safetensors` files.
public enum Safetensors {
  /// The order tensors take in the written file.
  public enum Order: Sendable {
    /// As the reference `safetensors` library writes them: by dtype, widest first (U64, I64,
    /// F64, F32, U32, I32, BF16, F16, U16, I16, F8_E4M3, F8_E5M2, I8, U8, BOOL), then by name.
    /// Every tensor then starts at a multiple of its element size, and the same tensors give
    /// byte-identical files to Python's `save_file` (with at most one metadata entry, since
    /// Python orders metadata by hash).
    case reference
    /// In the order given.
    case given
  }

  /// The reference library's dtype sort key (its Rust enum order).
  static func referenceRank(_ dtype: DType) -> Int {
    switch dtype {
    case .bool: return 0
    case .u8: return 1
    case .i8: return 2
    case .f8e5m2: return 3
    case .f8e4m3: return 4
    case .i16: return 5
    case .u16: return 6
    case .f16: return 7
    case .bf16: return 8
    case .i32: return 9
    case .u32: return 10
    case .f32: return 11
    case .f64: return 12
    case .i64: return 13
    case .u64: return 14
    }
  }

  /// Writes `tensors` and `metadata` to `path` atomically (a temporary file in the same
  /// directory, renamed into place; a failure leaves no partial file under `path`).
  ///
  /// Views that are not contiguous are densified while writing. The header is compact JSON:
  /// `__metadata__` first (keys sorted), then the tensors in `order`, padded with spaces to a
  /// multiple of 8 bytes as the reference library does. Names must be unique and may not be
  /// `__metadata__`.
  public static func write(
    _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
    to path: String, order: Order = .reference
  ) throws(WeightFileError) {
    let ordered = try arrange(tensors, order: order, path: path)
    let header = headerBytes(ordered, metadata: metadata)
    guard header.count - 8 <= SafetensorsFile.maxHeaderLength else {
      throw WeightFileError(
        path: path, kind: .unsupported,
        problem:
          "header would be \(header.count - 8) bytes, over the \(SafetensorsFile.maxHeaderLength)-byte limit readers accept"
      )
    }
    try writeAtomically(to: path) { (sink) throws(WeightFileError) in
      try sink.write(header)
      for (_, tensor) in ordered {
        let dense = tensor.contiguous()
        try sink.write(UnsafeRawBufferPointer(start: dense.baseAddress, count: dense.byteCount))
      }
    }
  }

  /// Checks names and puts the tensors in the file order.
  static func arrange(
    _ tensors: [(name: String, tensor: Tensor)], order: Order, path: String
  ) throws(WeightFileError) -> [(name: String, tensor: Tensor)] {
    var seen: Set<String> = []
    for (name, _) in tensors {
      guard name != "__metadata__" else {
        throw WeightFileError(
          path: path, tensor: name, kind: .header, problem: "the name is reserved for metadata")
      }
      guard seen.insert(name).inserted else {
        throw WeightFileError(
          path: path, tensor: name, kind: .duplicate, problem: "the name is given twice")
      }
    }
    switch order {
    case .given:
      return tensors
    case .reference:
      return tensors.sorted {
        let (a, b) = (referenceRank($0.tensor.dtype), referenceRank($1.tensor.dtype))
        return a != b ? a > b : $0.name < $1.name
      }
    }
  }

  /// The 8-byte length prefix plus the padded JSON header for tensors already in file order.
  static func headerBytes(
    _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]
  ) -> [UInt8] {
    var fields: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.keys.sorted().map { JSONValue.quoted($0) + ":" + JSONValue.quoted(metadata[$0]!) }
      fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
    }
    var offset = 0
    for (name, tensor) in tensors {
      let end = offset + tensor.byteCount
      let shape = tensor.shape.map(String.init).joined(separator: ",")
      fields.append(
        JSONValue.quoted(name) + ":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
          + "\"data_offsets\":[\(offset),\(end)]}")
      offset = end
    }
    var json = Array(("{" + fields.joined(separator: ",") + "}").utf8)
    json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + json.count)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: json)
    return bytes
  }
}

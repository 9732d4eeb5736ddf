import MMCore

/// PCD (Point Cloud Library) v0.7 / v0.6: `DATA ascii` and `DATA binary` (point-interleaved, little
/// endian). `binary_compressed` is rejected as unsupported. Fields become columns (x y z first,
/// then the others in file order; a field with COUNT n becomes `name_0 … name_{n-1}`; `_` padding
/// fields are dropped). A 4-byte `rgb`/`rgba` field (PCL packs 0xAARRGGBB into it) becomes
/// `red green blue` in 0…255.
enum PCDReader {
  struct Field {
    let name: String
    let kind: PointCloudScalar
    let count: Int
  }

  static func decode(_ bytes: [UInt8], file: String) throws(PointCloudError) -> PointCloud {
    var header: [String: [Substring]] = [:]
    var position = 0
    var lineNumber = 0
    var dataMode: Substring?
    while dataMode == nil {
      guard position < bytes.count else {
        throw PointCloudError(
          .truncated, file: file, lineNumber == 0 ? "empty file" : "header has no DATA line")
      }
      var end = position
      while end < bytes.count, bytes[end] != 0x0A { end += 1 }
      guard end - position < 65_536 else {
        throw PointCloudError(.header, file: file, "header line \(lineNumber + 1) is too long")
      }
      let words = pointCloudWords(bytes, position..<end)
      position = min(end + 1, bytes.count)
      lineNumber += 1
      guard let keyword = words.first, !keyword.hasPrefix("#") else { continue }
      let key = keyword.uppercased()
      guard
        ["VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "VIEWPOINT", "POINTS", "DATA"]
          .contains(key)
      else {
        throw PointCloudError(
          .header, file: file,
          lineNumber == 1
            ? "not a PCD file (first line '\(words.joined(separator: " "))')"
            : "header line \(lineNumber): unknown keyword '\(keyword)'")
      }
      header[key] = Array(words.dropFirst())
      if key == "DATA" { dataMode = words.count > 1 ? words[1] : "" }
    }
    func integer(_ key: String) throws(PointCloudError) -> Int? {
      guard let words = header[key] else { return nil }
      guard words.count == 1, let value = Int(words[0]), value >= 0 else {
        throw PointCloudError(
          .header, file: file,
          "\(key) must be one non-negative integer, found '\(words.joined(separator: " "))'")
      }
      return value
    }
    guard let names = header["FIELDS"], !names.isEmpty else {
      throw PointCloudError(.header, file: file, "header has no FIELDS")
    }
    guard let sizes = header["SIZE"], sizes.count == names.count, let types = header["TYPE"],
      types.count == names.count
    else {
      throw PointCloudError(
        .header, file: file, "SIZE and TYPE must list one entry per field (\(names.count) fields)")
    }
    let counts = header["COUNT"] ?? Array(repeating: "1", count: names.count)
    guard counts.count == names.count else {
      throw PointCloudError(
        .header, file: file, "COUNT lists \(counts.count) entries for \(names.count) fields")
    }
    var fields: [Field] = []
    for i in 0..<names.count {
      let kind: PointCloudScalar?
      switch (types[i].uppercased(), sizes[i]) {
      case ("F", "4"): kind = .float32
      case ("F", "8"): kind = .float64
      case ("I", "1"): kind = .int8
      case ("I", "2"): kind = .int16
      case ("I", "4"): kind = .int32
      case ("I", "8"): kind = .int64
      case ("U", "1"): kind = .uint8
      case ("U", "2"): kind = .uint16
      case ("U", "4"): kind = .uint32
      case ("U", "8"): kind = .uint64
      default: kind = nil
      }
      guard let kind else {
        throw PointCloudError(
          .unsupported, file: file, "field '\(names[i])': unknown TYPE \(types[i]) with SIZE \(sizes[i])")
      }
      guard let count = Int(counts[i]), count >= 1, count <= 65_536 else {
        throw PointCloudError(.header, file: file, "field '\(names[i])': bad COUNT '\(counts[i])'")
      }
      fields.append(Field(name: String(names[i]), kind: kind, count: count))
    }
    // Column plan: (field, element within field, isPackedColour).
    var slots: [(field: Int, element: Int)] = []
    var columns: [String] = []
    for axis in ["x", "y", "z"] {
      guard let f = fields.firstIndex(where: { $0.name == axis && $0.count == 1 }) else {
        throw PointCloudError(.header, file: file, "no single-valued field '\(axis)'")
      }
      slots.append((f, 0))
      columns.append(axis)
    }
    for (f, field) in fields.enumerated() where !["x", "y", "z", "_"].contains(field.name) {
      if field.name == "rgb" || field.name == "rgba", field.count == 1, field.kind.size == 4 {
        for (c, name) in ["red", "green", "blue"].enumerated() {
          slots.append((f, -1 - c))
          columns.append(name)
        }
      } else {
        for e in 0..<field.count {
          slots.append((f, e))
          columns.append(field.count == 1 ? field.name : "\(field.name)_\(e)")
        }
      }
    }
    let width = try integer("WIDTH")
    let height = try integer("HEIGHT") ?? 1
    guard
      let pointCount = try integer("POINTS")
        ?? width.flatMap({ $0.multipliedReportingOverflow(by: height).overflow ? nil : $0 * height })
    else {
      throw PointCloudError(.header, file: file, "header has neither POINTS nor WIDTH")
    }
    let valuesPerPoint = fields.reduce(0) { $0 + $1.count }
    let rowBytes = fields.reduce(0) { $0 + $1.count * $1.kind.size }
    let remaining = bytes.count - position
    let mode = dataMode!.lowercased()
    guard mode == "ascii" || mode == "binary" else {
      throw PointCloudError(.unsupported, file: file, "DATA \(mode) is not supported (only ascii and binary)")
    }
    let minimum = mode == "binary" ? rowBytes : 2 * valuesPerPoint - 1
    guard pointCount <= remaining / max(1, minimum) else {
      throw PointCloudError(
        .truncated, file: file,
        "header declares \(pointCount) points but only \(remaining) bytes of data follow")
    }
    // Start of each field's values within a row (in values for ascii, in bytes for binary).
    var valueStart: [Int] = [], byteStart: [Int] = []
    var v = 0, b = 0
    for field in fields {
      valueStart.append(v)
      byteStart.append(b)
      v += field.count
      b += field.count * field.kind.size
    }
    var values = [Float](repeating: 0, count: pointCount * columns.count)
    func store(_ point: Int, _ raw: [Double]) {
      for (c, slot) in slots.enumerated() {
        let base = valueStart[slot.field]
        if slot.element >= 0 {
          values[point * columns.count + c] = Float(raw[base + slot.element])
        } else {
          let value = raw[base]
          let bits =
            fields[slot.field].kind == .float32
            ? Float(value).bitPattern : (value >= 0 && value < 4_294_967_296 ? UInt32(value) : 0)
          values[point * columns.count + c] = Float((bits >> UInt32(16 - 8 * (-1 - slot.element))) & 0xFF)
        }
      }
    }
    var raw = [Double](repeating: 0, count: valuesPerPoint)
    if mode == "ascii" {
      var lines = pointCloudLines(bytes, from: position).lazy.filter { !$0.isEmpty }.makeIterator()
      for point in 0..<pointCount {
        guard let line = lines.next() else {
          throw PointCloudError(
            .truncated, file: file, "point \(point): data ends after \(point) of \(pointCount) points")
        }
        let words = pointCloudWords(bytes, line)
        guard words.count == valuesPerPoint else {
          throw PointCloudError(
            .value, file: file, "point \(point): expected \(valuesPerPoint) values, found \(words.count)")
        }
        for (i, word) in words.enumerated() {
          guard let value = Double(word) else {
            throw PointCloudError(.value, file: file, "point \(point): '\(word)' is not a number")
          }
          raw[i] = value
        }
        store(point, raw)
      }
    } else {
      bytes.withUnsafeBytes { buffer in
        for point in 0..<pointCount {
          let row = position + point * rowBytes
          for (f, field) in fields.enumerated() {
            for e in 0..<field.count {
              raw[valueStart[f] + e] = field.kind.load(
                buffer, at: row + byteStart[f] + e * field.kind.size, bigEndian: false)
            }
          }
          store(point, raw)
        }
      }
    }
    return try PointCloud(values: values, columns: columns, file: file, item: "point")
  }
}

import MMCore

/// PLY (Stanford polygon format): ascii, binary_little_endian and binary_big_endian. The `vertex`
/// element's scalar properties become the columns (x y z first, then the rest in file order); other
/// elements (faces, edges, custom ones) and list properties are skipped, byte-exactly.
enum PLYReader {
  struct Property {
    let name: String
    let kind: PointCloudScalar
    /// For `property list <countKind> <kind> name`.
    let countKind: PointCloudScalar?
  }
  struct Element {
    let name: String
    let count: Int
    var properties: [Property]
  }
  enum Format {
    case ascii
    case binary(bigEndian: Bool)
  }

  static func scalarKind(_ text: Substring) -> PointCloudScalar? {
    switch text {
    case "char", "int8": return .int8
    case "uchar", "uint8": return .uint8
    case "short", "int16": return .int16
    case "ushort", "uint16": return .uint16
    case "int", "int32": return .int32
    case "uint", "uint32": return .uint32
    case "float", "float32": return .float32
    case "double", "float64": return .float64
    default: return nil
    }
  }

  static func decode(_ bytes: [UInt8], file: String) throws(PointCloudError) -> PointCloud {
    guard bytes.count >= 4, bytes[0] == 0x70, bytes[1] == 0x6C, bytes[2] == 0x79,
      bytes[3] == 0x0A || bytes[3] == 0x0D
    else { throw PointCloudError(.header, file: file, "not a PLY file (missing 'ply' magic line)") }
    // Header: lines up to and including `end_header`.
    var format: Format?
    var elements: [Element] = []
    var position = 0
    var ended = false
    var lineNumber = 0
    while position < bytes.count, !ended {
      var end = position
      while end < bytes.count, bytes[end] != 0x0A { end += 1 }
      guard end < bytes.count else { break }
      lineNumber += 1
      let words = pointCloudWords(bytes, position..<end)
      position = end + 1
      guard let keyword = words.first else { continue }
      switch keyword {
      case "ply", "comment", "obj_info": continue
      case "format":
        switch words.count > 1 ? words[1] : "" {
        case "ascii": format = .ascii
        case "binary_little_endian": format = .binary(bigEndian: false)
        case "binary_big_endian": format = .binary(bigEndian: true)
        default:
          throw PointCloudError(
            .unsupported, file: file,
            "header line \(lineNumber): unknown PLY format '\(words.dropFirst().joined(separator: " "))'")
        }
      case "element":
        guard words.count == 3, let count = Int(words[2]), count >= 0 else {
          throw PointCloudError(
            .header, file: file,
            "header line \(lineNumber): expected 'element <name> <count>', found '\(words.joined(separator: " "))'"
          )
        }
        elements.append(Element(name: String(words[1]), count: count, properties: []))
      case "property":
        guard !elements.isEmpty else {
          throw PointCloudError(.header, file: file, "header line \(lineNumber): property before any element")
        }
        if words.count == 5, words[1] == "list" {
          guard let countKind = scalarKind(words[2]), countKind.isInteger, let kind = scalarKind(words[3])
          else {
            throw PointCloudError(
              .unsupported, file: file,
              "header line \(lineNumber): unknown list property types '\(words[2]) \(words[3])'")
          }
          elements[elements.count - 1].properties.append(
            Property(name: String(words[4]), kind: kind, countKind: countKind))
        } else if words.count == 3 {
          guard let kind = scalarKind(words[1]) else {
            throw PointCloudError(
              .unsupported, file: file, "header line \(lineNumber): unknown property type '\(words[1])'")
          }
          elements[elements.count - 1].properties.append(
            Property(name: String(words[2]), kind: kind, countKind: nil))
        } else {
          throw PointCloudError(
            .header, file: file,
            "header line \(lineNumber): malformed property '\(words.joined(separator: " "))'")
        }
      case "end_header": ended = true
      default:
        throw PointCloudError(.header, file: file, "header line \(lineNumber): unknown keyword '\(keyword)'")
      }
    }
    guard ended else { throw PointCloudError(.truncated, file: file, "header has no 'end_header' line") }
    guard let format else { throw PointCloudError(.header, file: file, "header has no 'format' line") }
    guard let vertexIndex = elements.firstIndex(where: { $0.name == "vertex" }) else {
      throw PointCloudError(.header, file: file, "no 'vertex' element")
    }
    let vertex = elements[vertexIndex]
    // Columns: x y z, then the other scalar properties in file order.
    let scalars = vertex.properties.enumerated().filter { $0.element.countKind == nil }
    var order: [Int] = []  // property index for each column
    for axis in ["x", "y", "z"] {
      guard let found = scalars.first(where: { $0.element.name == axis }) else {
        throw PointCloudError(.header, file: file, "vertex element has no scalar property '\(axis)'")
      }
      order.append(found.offset)
    }
    order += scalars.map(\.offset).filter { !order.contains($0) }
    let columns = order.map { vertex.properties[$0].name }
    let width = columns.count
    let columnOf = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
    // Hostile counts: a vertex needs at least `minimum` bytes (its binary size, or one character
    // and a separator per ASCII value), so a count beyond that is a lie; this also bounds `values`.
    let remaining = bytes.count - position
    let minimum: Int
    if case .binary = format {
      minimum = vertex.properties.reduce(0) { $0 + ($1.countKind?.size ?? $1.kind.size) }
    } else {
      minimum = 2 * vertex.properties.count - 1
    }
    guard vertex.count <= remaining / max(1, minimum) else {
      throw PointCloudError(
        .truncated, file: file,
        "header declares \(vertex.count) vertices but only \(remaining) bytes of data follow")
    }
    var values = [Float](repeating: 0, count: vertex.count * width)

    switch format {
    case .ascii:
      var lines = pointCloudLines(bytes, from: position)[...]
      for (e, element) in elements.enumerated() {
        for item in 0..<element.count {
          guard let line = lines.popFirst() else {
            throw PointCloudError(
              .truncated, file: file, "\(element.name) \(item): data ends after \(item) of \(element.count)")
          }
          let words = pointCloudWords(bytes, line)
          var w = 0
          for (p, property) in element.properties.enumerated() {
            if property.countKind != nil {
              guard w < words.count, let n = Int(words[w]), n >= 0, n <= words.count - w - 1 else {
                throw PointCloudError(
                  .value, file: file, "\(element.name) \(item): bad list length for '\(property.name)'")
              }
              w += 1 + n
              continue
            }
            guard w < words.count else {
              throw PointCloudError(
                .truncated, file: file, "\(element.name) \(item): missing value for '\(property.name)'")
            }
            guard let value = Double(words[w]) else {
              throw PointCloudError(
                .value, file: file,
                "\(element.name) \(item): '\(words[w])' is not a number (property \(property.name))")
            }
            w += 1
            if e == vertexIndex, let column = columnOf[p] { values[item * width + column] = Float(value) }
          }
        }
      }
    case .binary(let bigEndian):
      // Parsed through a local function: withUnsafeBytes rethrows untyped errors.
      func readBinary(_ raw: UnsafeRawBufferPointer) throws(PointCloudError) {
        var offset = position
        for (e, element) in elements.enumerated() {
          let fixed = element.properties.allSatisfy { $0.countKind == nil }
          let minimum = element.properties.reduce(0) { $0 + ($1.countKind?.size ?? $1.kind.size) }
          let (need, overflow) = element.count.multipliedReportingOverflow(by: minimum)
          guard !overflow, need <= raw.count - offset else {
            throw PointCloudError(
              .truncated, file: file,
              "header declares \(element.count) \(element.name) items needing at least \(overflow ? "more than Int.max" : String(need)) bytes, but only \(raw.count - offset) remain"
            )
          }
          if fixed && e != vertexIndex {
            offset += need
            continue
          }
          for item in 0..<element.count {
            for (p, property) in element.properties.enumerated() {
              if let countKind = property.countKind {
                guard countKind.size <= raw.count - offset else {
                  throw PointCloudError(
                    .truncated, file: file, "\(element.name) \(item): data ends in list '\(property.name)'")
                }
                let n = countKind.load(raw, at: offset, bigEndian: bigEndian)
                offset += countKind.size
                guard n >= 0, n <= Double(raw.count - offset) / Double(property.kind.size) else {
                  throw PointCloudError(
                    .truncated, file: file,
                    "\(element.name) \(item): list '\(property.name)' of \(Int64(n)) items runs past the end of the file"
                  )
                }
                offset += Int(n) * property.kind.size
                continue
              }
              guard property.kind.size <= raw.count - offset else {
                throw PointCloudError(
                  .truncated, file: file, "\(element.name) \(item): data ends at property '\(property.name)'")
              }
              if e == vertexIndex, let column = columnOf[p] {
                values[item * width + column] = Float(
                  property.kind.load(raw, at: offset, bigEndian: bigEndian))
              }
              offset += property.kind.size
            }
          }
        }
      }
      let failure: PointCloudError? = bytes.withUnsafeBytes { raw in
        do throws(PointCloudError) {
          try readBinary(raw)
          return nil
        } catch { return error }
      }
      if let failure { throw failure }
    }
    return try PointCloud(values: values, columns: columns, file: file, item: "vertex")
  }
}

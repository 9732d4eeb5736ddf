import MMCore

/// The Python literals a `.npy` header may contain, parsed without evaluating anything.
indirect enum PythonLiteral: Equatable {
  case string(String)
  /// An integer's text (`12`, `-3`); `Int(text)` is nil when it overflows.
  case integer(String)
  case bool(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])
  case dict([(key: String, value: PythonLiteral)])

  static func == (a: PythonLiteral, b: PythonLiteral) -> Bool {
    switch (a, b) {
    case (.string(let x), .string(let y)), (.integer(let x), .integer(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.none, .none): return true
    case (.tuple(let x), .tuple(let y)), (.list(let x), .list(let y)): return x == y
    case (.dict(let x), .dict(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  var text: String {
    switch self {
    case .string(let s): return "'\(s)'"
    case .integer(let s): return s
    case .bool(let b): return b ? "True" : "False"
    case .none: return "None"
    case .tuple(let items):
      return "(" + items.map(\.text).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
    case .list(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
    case .dict(let pairs):
      return "{" + pairs.map { "'\($0.key)': \($0.value.text)" }.joined(separator: ", ") + "}"
    }
  }
}

/// Parses `text` as one Python literal (strings, integers, True/False/None, tuples, lists and
/// dicts with string keys) surrounded by optional whitespace. Nothing is evaluated; nesting is
/// bounded; duplicate dict keys are rejected. Throws a message naming the offending position.
func parsePythonLiteral(_ text: [UInt8]) throws(PythonLiteralError) -> PythonLiteral {
  var parser = PythonLiteralParser(bytes: text)
  parser.skipSpace()
  let value = try parser.value(depth: 0)
  parser.skipSpace()
  guard parser.position == text.count else { throw parser.failure("expected the end of the header") }
  return value
}

struct PythonLiteralError: Error {
  let message: String
}

private struct PythonLiteralParser {
  let bytes: [UInt8]
  var position = 0

  var current: UInt8 { position < bytes.count ? bytes[position] : 0 }

  func failure(_ expected: String) -> PythonLiteralError {
    let found =
      position >= bytes.count
      ? "the end"
      : (32..<127).contains(bytes[position])
        ? "'\(Character(Unicode.Scalar(bytes[position])))'" : "byte \(bytes[position])"
    return PythonLiteralError(message: "\(expected) at header byte \(position), found \(found)")
  }

  mutating func skipSpace() {
    while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) {
      position += 1
    }
  }

  mutating func value(depth: Int) throws(PythonLiteralError) -> PythonLiteral {
    guard depth < 16 else { throw failure("expected nesting at most 16 deep") }
    switch current {
    case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try integer()
    case UInt8(ascii: "("): return try sequence(close: UInt8(ascii: ")"), depth: depth)
    case UInt8(ascii: "["): return try sequence(close: UInt8(ascii: "]"), depth: depth)
    case UInt8(ascii: "{"): return try dict(depth: depth)
    default:
      for (word, literal) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)]
      where bytes[position...].starts(with: word.utf8) {
        position += word.utf8.count
        return literal
      }
      throw failure("expected a Python literal")
    }
  }

  mutating func string() throws(PythonLiteralError) -> String {
    let quote = current
    position += 1
    var scalars = String.UnicodeScalarView()
    while position < bytes.count, bytes[position] != quote {
      var byte = bytes[position]
      if byte == UInt8(ascii: "\\") {
        position += 1
        guard position < bytes.count, [UInt8(ascii: "\\"), 0x27, 0x22].contains(bytes[position]) else {
          throw failure("expected only \\\\, \\' or \\\" escapes in a string")
        }
        byte = bytes[position]
      } else if byte == 0x0A {
        throw failure("expected a closing quote before the line ends")
      }
      // Header bytes are latin-1 (v1, v2) or validated UTF-8 (v3, decoded before parsing).
      scalars.append(Unicode.Scalar(byte))
      position += 1
    }
    guard position < bytes.count else { throw failure("expected a closing quote") }
    position += 1
    return String(scalars)
  }

  mutating func integer() throws(PythonLiteralError) -> PythonLiteral {
    var text = ""
    if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
      if current == UInt8(ascii: "-") { text = "-" }
      position += 1
    }
    let start = position
    while (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(current) {
      text.append(Character(Unicode.Scalar(current)))
      position += 1
    }
    guard position > start else { throw failure("expected a digit") }
    if current == UInt8(ascii: "L") { position += 1 }  // Python 2 long suffix
    if [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "j")].contains(current) {
      throw failure("expected an integer")
    }
    return .integer(text)
  }

  /// `(…)` or `[…]`. `(x)` without a comma is just `x`, as in Python.
  mutating func sequence(close: UInt8, depth: Int) throws(PythonLiteralError) -> PythonLiteral {
    let isTuple = close == UInt8(ascii: ")")
    position += 1
    var items: [PythonLiteral] = []
    var sawComma = false
    while true {
      skipSpace()
      if current == close { break }
      items.append(try value(depth: depth + 1))
      skipSpace()
      if current == UInt8(ascii: ",") {
        sawComma = true
        position += 1
      } else if current != close {
        throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))'")
      }
    }
    position += 1
    if isTuple && items.count == 1 && !sawComma { return items[0] }
    return isTuple ? .tuple(items) : .list(items)
  }

  mutating func dict(depth: Int) throws(PythonLiteralError) -> PythonLiteral {
    position += 1
    var pairs: [(key: String, value: PythonLiteral)] = []
    while true {
      skipSpace()
      if current == UInt8(ascii: "}") { break }
      guard current == UInt8(ascii: "'") || current == UInt8(ascii: "\"") else {
        throw failure("expected a string key")
      }
      let key = try string()
      guard !pairs.contains(where: { $0.key == key }) else {
        throw PythonLiteralError(message: "duplicate key '\(key)' in the header")
      }
      skipSpace()
      guard current == UInt8(ascii: ":") else { throw failure("expected ':' after key '\(key)'") }
      position += 1
      skipSpace()
      pairs.append((key, try value(depth: depth + 1)))
      skipSpace()
      if current == UInt8(ascii: ",") {
        position += 1
      } else if current != UInt8(ascii: "}") {
        throw failure("expected ',' or '}'")
      }
    }
    position += 1
    return .dict(pairs)
  }
}

/// NumPy dtype descriptors (`'<f4'`, `'>i8'`, `'|b1'`) ↔ `DType`.
enum NPYDescr {
  /// Kind letter + item size → dtype, for every kind this reader supports.
  static let table: [String: DType] = [
    "f2": .f16, "f4": .f32, "f8": .f64, "i1": .i8, "i2": .i16, "i4": .i32, "i8": .i64,
    "u1": .u8, "u2": .u16, "u4": .u32, "u8": .u64, "b1": .bool,
  ]

  /// The dtype and whether its bytes are big-endian, or nil when unsupported.
  static func parse(_ descr: String) -> (dtype: DType, bigEndian: Bool)? {
    var body = Substring(descr)
    var bigEndian = false
    if let first = body.first, "<>|=".contains(first) {
      bigEndian = first == ">"
      body = body.dropFirst()
    }
    guard let dtype = table[String(body)] else { return nil }
    return (dtype, bigEndian && dtype.byteSize > 1)
  }

  /// What NumPy writes for `dtype` (little-endian), or nil for dtypes NumPy lacks (bf16, f8).
  static func descr(for dtype: DType) -> String? {
    guard let code = table.first(where: { $0.value == dtype })?.key else { return nil }
    return (dtype.byteSize == 1 ? "|" : "<") + code
  }
}

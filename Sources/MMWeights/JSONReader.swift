/// A small strict JSON reader for untrusted headers (safetensors, `*.index.json`).
///
/// Unlike `JSONSerialization` it keeps object keys in document order (safetensors lists tensors
/// in file order), rejects duplicate keys at every level instead of silently keeping one, bounds
/// the nesting depth so hostile input cannot exhaust the stack, and keeps numbers as their text
/// so that integers beyond 2^53 are read exactly or rejected, never rounded.
enum JSONValue: Equatable, Sendable {
  case object([JSONMember])
  case array([JSONValue])
  case string(String)
  /// The number's text as written (`12`, `-3.5e2`).
  case number(String)
  case bool(Bool)
  case null

  /// The JSON type, for messages: `object`, `string`, `number` …
  var typeName: String {
    switch self {
    case .object: return "object"
    case .array: return "array"
    case .string: return "string"
    case .number(let text): return "number \(text)"
    case .bool(let value): return "\(value)"
    case .null: return "null"
    }
  }

  /// The value as a non-negative `Int` when it is a plain integer literal that fits.
  var nonNegativeInt: Int? {
    guard case .number(let text) = self, !text.isEmpty,
      text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
    else { return nil }
    return Int(text)
  }

  /// A member's value by key (objects only).
  subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.key == key }?.value
  }
}

struct JSONMember: Equatable, Sendable {
  let key: String
  let value: JSONValue
}

/// Where and why JSON text failed to parse.
struct JSONParseError: Error {
  let offset: Int
  let message: String
}

/// Parses `bytes` (already validated as UTF-8) as exactly one JSON value, allowing surrounding
/// whitespace.
func parseJSON(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONParseError)
  -> JSONValue
{
  var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
  parser.skipWhitespace()
  let value = try parser.parseValue(depth: 0)
  parser.skipWhitespace()
  if parser.position < bytes.count {
    throw parser.failure("expected the end of the JSON text")
  }
  return value
}

private struct JSONParser {
  let bytes: UnsafeRawBufferPointer
  let maxDepth: Int
  var position = 0

  init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
    self.bytes = bytes
    self.maxDepth = maxDepth
  }

  func failure(_ expected: String) -> JSONParseError {
    let found: String
    if position >= bytes.count {
      found = "the end of the text"
    } else {
      let byte = bytes[position]
      found = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
    }
    return JSONParseError(offset: position, message: "\(expected), found \(found)")
  }

  var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  mutating func skipWhitespace() {
    while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
      position += 1
    }
  }

  mutating func expect(_ byte: UInt8, _ what: String) throws(JSONParseError) {
    guard current == byte else { throw failure("expected \(what)") }
    position += 1
  }

  mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
    guard depth < maxDepth else { throw failure("expected nesting at most \(maxDepth) deep") }
    switch current ?? 0 {
    case UInt8(ascii: "{"): return try parseObject(depth: depth)
    case UInt8(ascii: "["): return try parseArray(depth: depth)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
    case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
    case UInt8(ascii: "n"): return try parseLiteral("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw failure("expected a JSON value")
    }
  }

  mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(JSONParseError)
    -> JSONValue
  {
    for byte in word.utf8 { try expect(byte, "'\(word)'") }
    return value
  }

  mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
    position += 1
    var members: [JSONMember] = []
    var seen: Set<String> = []
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      position += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
      let keyStart = position
      let key = try parseString()
      guard seen.insert(key).inserted else {
        throw JSONParseError(offset: keyStart, message: "duplicate key '\(key)'")
      }
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "':' after key '\(key)'")
      skipWhitespace()
      members.append(JSONMember(key: key, value: try parseValue(depth: depth + 1)))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "}"), "',' or '}' in an object")
      return .object(members)
    }
  }

  mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
    position += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth + 1))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "]"), "',' or ']' in an array")
      return .array(elements)
    }
  }

  mutating func parseNumber() throws(JSONParseError) -> JSONValue {
    let start = position
    func digits(_ parser: inout JSONParser) -> Int {
      var n = 0
      while let byte = parser.current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
        parser.position += 1
        n += 1
      }
      return n
    }
    if current == UInt8(ascii: "-") { position += 1 }
    if current == UInt8(ascii: "0") {
      position += 1
    } else if digits(&self) == 0 {
      throw failure("expected a digit")
    }
    if current == UInt8(ascii: ".") {
      position += 1
      guard digits(&self) > 0 else { throw failure("expected a digit after '.'") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard digits(&self) > 0 else { throw failure("expected an exponent digit") }
    }
    return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
  }

  mutating func parseString() throws(JSONParseError) -> String {
    position += 1
    var utf8: [UInt8] = []
    while true {
      guard let byte = current else { throw failure("expected a closing '\"'") }
      position += 1
      switch byte {
      case UInt8(ascii: "\""):
        return String(decoding: utf8, as: UTF8.self)
      case UInt8(ascii: "\\"):
        try parseEscape(into: &utf8)
      case 0..<0x20:
        position -= 1
        throw failure("expected no raw control character inside a string")
      default:
        utf8.append(byte)
      }
    }
  }

  mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONParseError) {
    guard let byte = current else { throw failure("expected an escape character") }
    position += 1
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
    case UInt8(ascii: "b"): utf8.append(0x08)
    case UInt8(ascii: "f"): utf8.append(0x0C)
    case UInt8(ascii: "n"): utf8.append(0x0A)
    case UInt8(ascii: "r"): utf8.append(0x0D)
    case UInt8(ascii: "t"): utf8.append(0x09)
    case UInt8(ascii: "u"):
      var scalar = try parseHex4()
      if (0xD800..<0xDC00).contains(scalar) {
        guard current == UInt8(ascii: "\\") else { throw failure("expected a low surrogate") }
        position += 1
        try expect(UInt8(ascii: "u"), "a low surrogate")
        let low = try parseHex4()
        guard (0xDC00..<0xE000).contains(low) else { throw failure("expected a low surrogate") }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00..<0xE000).contains(scalar) {
        throw failure("expected no lone low surrogate")
      }
      guard let unicode = Unicode.Scalar(scalar) else { throw failure("expected a valid scalar") }
      utf8.append(contentsOf: String(Character(unicode)).utf8)
    default:
      position -= 1
      throw failure("expected a valid escape")
    }
  }

  mutating func parseHex4() throws(JSONParseError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = current, let digit = hexDigit(byte) else {
        throw failure("expected 4 hex digits after \\u")
      }
      value = value << 4 | digit
      position += 1
    }
    return value
  }
}

private func hexDigit(_ byte: UInt8) -> UInt32? {
  switch byte {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
  case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
  case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
  default: return nil
  }
}

/// `text` as a JSON string literal, escaped as serde_json (the safetensors reference) does:
/// `"` `\` and control characters only; non-ASCII stays as UTF-8.
func jsonQuoted(_ text: String) -> String {
  var out = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case "\u{08}": out += "\\b"
    case "\u{0C}": out += "\\f"
    case "\u{00}"..."\u{1F}":
      let hex = String(scalar.value, radix: 16)
      out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}

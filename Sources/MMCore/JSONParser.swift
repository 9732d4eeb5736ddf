/// A strict JSON parser (RFC 8259) that remembers where every value and every object key came
/// from, so that messages about a document can say `file:line:column` and a JSON pointer.
///
/// Strict: one value with optional surrounding whitespace, no comments, no trailing commas, no
/// leading zeros, no raw control characters in strings, UTF-8 validated byte by byte, surrogate
/// escapes paired, nesting bounded (hostile input cannot exhaust the stack), duplicate keys
/// rejected with both locations (or recorded, for tools that report every problem at once).
/// Numbers keep their text, so 64-bit integers survive exactly.
///
///     let document = try JSONParser.parse(text, file: "graph.json")
///     document.location(of: "/nodes/sum/type")  // (line: 4, column: 22)
public enum JSONParser {
  /// What to do with a key that appears twice in one object.
  public enum DuplicateKeys: Sendable {
    /// Throw a `JSONSyntaxError` naming the key and both locations.
    case reject
    /// Keep the first member, list the others in `JSONDocument.duplicateKeys`.
    case record
  }

  /// Parses `text` as exactly one JSON value.
  public static func parse(
    _ text: String, file: String, maxDepth: Int = 128, duplicateKeys: DuplicateKeys = .reject,
    recordLocations: Bool = true
  ) throws(JSONSyntaxError) -> JSONDocument {
    var text = text
    let result = text.withUTF8 { buffer in
      Result { () throws(JSONSyntaxError) -> JSONDocument in
        try parse(
          UnsafeRawBufferPointer(buffer), file: file, maxDepth: maxDepth, duplicateKeys: duplicateKeys,
          recordLocations: recordLocations)
      }
    }
    return try result.get()
  }

  /// Parses UTF-8 `bytes` as exactly one JSON value.
  public static func parse(
    _ bytes: some Collection<UInt8>, file: String, maxDepth: Int = 128,
    duplicateKeys: DuplicateKeys = .reject, recordLocations: Bool = true
  ) throws(JSONSyntaxError) -> JSONDocument {
    let result = Array(bytes).withUnsafeBytes { buffer in
      Result { () throws(JSONSyntaxError) -> JSONDocument in
        try parse(
          buffer, file: file, maxDepth: maxDepth, duplicateKeys: duplicateKeys,
          recordLocations: recordLocations)
      }
    }
    return try result.get()
  }

  /// Parses UTF-8 `bytes` as exactly one JSON value. `recordLocations: false` skips the location
  /// tables (large machine-written headers); errors still carry their location.
  public static func parse(
    _ bytes: UnsafeRawBufferPointer, file: String, maxDepth: Int = 128,
    duplicateKeys: DuplicateKeys = .reject, recordLocations: Bool = true
  ) throws(JSONSyntaxError) -> JSONDocument {
    var reader = JSONReader(
      bytes: bytes, file: file, maxDepth: maxDepth, duplicates: duplicateKeys, record: recordLocations)
    reader.skipWhitespace()
    let root = try reader.parseValue(pointer: "", depth: 0)
    reader.skipWhitespace()
    if reader.position < bytes.count { throw reader.failure("the end of the JSON text") }
    return JSONDocument(
      file: file, root: root, valueLocations: reader.valueLocations, keyLocations: reader.keyLocations,
      duplicateKeys: reader.duplicateKeys)
  }
}

/// A line and column (both from 1; the column counts Unicode scalars) and the byte offset.
public struct JSONPosition: Hashable, Sendable, CustomStringConvertible {
  public var line: Int
  public var column: Int
  public var offset: Int
  public init(line: Int, column: Int, offset: Int) {
    self.line = line
    self.column = column
    self.offset = offset
  }
  public var description: String { "\(line):\(column)" }
}

/// A parsed document: the value tree and where each part of it was written.
public struct JSONDocument: Sendable {
  public var file: String
  public var root: JSONValue
  /// Value positions by RFC 6901 pointer (`""` is the root).
  public var valueLocations: [String: JSONPosition]
  /// Object-key positions by the pointer of the member (`/nodes/sum` → where `"sum"` is written).
  public var keyLocations: [String: JSONPosition]
  /// Keys that repeated an earlier key of the same object (only with `duplicateKeys: .record`).
  public var duplicateKeys: [JSONDuplicateKey]

  /// Where the value at `pointer` begins.
  public func location(of pointer: String) -> (line: Int, column: Int)? {
    valueLocations[pointer].map { ($0.line, $0.column) }
  }

  /// Where the key of the member at `pointer` is written.
  public func keyLocation(of pointer: String) -> (line: Int, column: Int)? {
    keyLocations[pointer].map { ($0.line, $0.column) }
  }

  /// The value at `pointer`, or nil.
  public func value(at pointer: String) -> JSONValue? {
    var value = root
    for token in JSONPointer.tokens(pointer) {
      switch value {
      case .object(let members):
        guard let member = members.first(where: { $0.key == token }) else { return nil }
        value = member.value
      case .array(let items):
        guard let index = Int(token), items.indices.contains(index) else { return nil }
        value = items[index]
      default: return nil
      }
    }
    return value
  }
}

/// A key written twice in one object: the member pointer and both key positions.
public struct JSONDuplicateKey: Hashable, Sendable {
  public var key: String
  public var pointer: String
  public var first: JSONPosition
  public var duplicate: JSONPosition
}

/// RFC 6901 pointers: `/nodes/a~1b` names member `a/b` of `nodes`.
public enum JSONPointer {
  public static func appending(_ token: String, to pointer: String) -> String {
    guard token.contains("~") || token.contains("/") else { return pointer + "/" + token }
    var escaped = ""
    for character in token {
      switch character {
      case "~": escaped += "~0"
      case "/": escaped += "~1"
      default: escaped.append(character)
      }
    }
    return pointer + "/" + escaped
  }

  /// The unescaped reference tokens of `pointer` (`"/a~1b/0"` → `["a/b", "0"]`).
  public static func tokens(_ pointer: String) -> [String] {
    guard !pointer.isEmpty else { return [] }
    return pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { token in
      var out = ""
      var tilde = false
      for character in token {
        if tilde {
          out.append(character == "1" ? "/" : character == "0" ? "~" : character)
          tilde = false
        } else if character == "~" {
          tilde = true
        } else {
          out.append(character)
        }
      }
      return out
    }
  }
}

/// Why JSON text did not parse, and where: `file:line:column: expected X, found Y`.
public struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Hashable, Sendable {
    case unexpected
    case duplicateKey(String, first: JSONPosition)
    case tooDeep
    case invalidUTF8
  }

  public var kind: Kind
  public var file: String
  public var position: JSONPosition
  /// The pointer of the value being read when it failed (its parent for a bad key).
  public var pointer: String
  public var expected: String
  public var found: String

  public var line: Int { position.line }
  public var column: Int { position.column }
  /// Byte offset into the text.
  public var offset: Int { position.offset }

  /// The problem without its location.
  public var message: String {
    if case .duplicateKey(let key, let first) = kind {
      return "duplicate key '\(key)' (first written at line \(first.line), column \(first.column))"
    }
    return "expected \(expected), found \(found)"
  }

  public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// The byte-level reader behind `JSONParser`.
private struct JSONReader {
  let bytes: UnsafeRawBufferPointer
  let file: String
  let maxDepth: Int
  let duplicates: JSONParser.DuplicateKeys
  var record: Bool
  var position = 0
  var valueLocations: [String: JSONPosition] = [:]
  var keyLocations: [String: JSONPosition] = [:]
  var duplicateKeys: [JSONDuplicateKey] = []
  /// Line bookkeeping: newlines occur only in whitespace, so `skipWhitespace` advances these.
  var line = 1
  var lineStart = 0
  /// The last computed column on the current line, to count scalars incrementally.
  var columnMark = (offset: 0, column: 1)

  init(
    bytes: UnsafeRawBufferPointer, file: String, maxDepth: Int, duplicates: JSONParser.DuplicateKeys,
    record: Bool
  ) {
    self.bytes = bytes
    self.file = file
    self.maxDepth = maxDepth
    self.duplicates = duplicates
    self.record = record
  }

  var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  /// The line and column of byte `offset` on the current line (offsets never go backwards).
  mutating func here(_ offset: Int? = nil) -> JSONPosition {
    let offset = offset ?? position
    if columnMark.offset < lineStart || columnMark.offset > offset { columnMark = (lineStart, 1) }
    var column = columnMark.column
    var index = columnMark.offset
    while index < offset && index < bytes.count {
      if bytes[index] & 0xC0 != 0x80 { column += 1 }
      index += 1
    }
    columnMark = (offset, column)
    return JSONPosition(line: line, column: column, offset: offset)
  }

  var pointerStack: [String] = [""]

  mutating func failure(_ expected: String, kind: JSONSyntaxError.Kind = .unexpected) -> JSONSyntaxError {
    let found: String
    if let byte = current {
      switch byte {
      case 0x20..<0x7F: found = "'\(Character(Unicode.Scalar(byte)))'"
      case 0x0A: found = "a line break"
      case 0x09: found = "a tab"
      case 0xEF where position == 0 && bytes.count >= 3 && bytes[1] == 0xBB && bytes[2] == 0xBF:
        found = "a byte-order mark"
      default: found = "byte \(byte)"
      }
    } else {
      found = "the end of the text"
    }
    return JSONSyntaxError(
      kind: kind, file: file, position: here(), pointer: pointerStack.last ?? "", expected: expected,
      found: found)
  }

  mutating func skipWhitespace() {
    while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
      position += 1
      if byte == 0x0A {
        line += 1
        lineStart = position
      }
    }
  }

  mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
    guard current == byte else { throw failure(what) }
    position += 1
  }

  mutating func parseValue(pointer: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
    guard depth < maxDepth else { throw failure("nesting at most \(maxDepth) deep", kind: .tooDeep) }
    if record { valueLocations[pointer] = here() }
    switch current ?? 0 {
    case UInt8(ascii: "{"): return try parseObject(pointer: pointer, depth: depth)
    case UInt8(ascii: "["): return try parseArray(pointer: pointer, depth: depth)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
    case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
    case UInt8(ascii: "n"): return try parseLiteral("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw failure("a JSON value")
    }
  }

  mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
    for byte in word.utf8 { try expect(byte, "'\(word)'") }
    return value
  }

  mutating func parseObject(pointer: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
    position += 1
    var members: [JSONMember] = []
    var seen: [String: JSONPosition] = [:]
    pointerStack.append(pointer)
    defer { pointerStack.removeLast() }
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      position += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw failure("a string key") }
      let keyPosition = here()
      let key = try parseString()
      let memberPointer = JSONPointer.appending(key, to: pointer)
      var keep = true
      if let first = seen[key] {
        switch duplicates {
        case .reject:
          throw JSONSyntaxError(
            kind: .duplicateKey(key, first: first), file: file, position: keyPosition, pointer: memberPointer,
            expected: "a key not already in the object", found: "'\(key)' again")
        case .record:
          duplicateKeys.append(
            JSONDuplicateKey(key: key, pointer: memberPointer, first: first, duplicate: keyPosition))
          keep = false
        }
      } else {
        seen[key] = keyPosition
      }
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "':' after key '\(key)'")
      skipWhitespace()
      // A dropped duplicate is still parsed (for syntax) but its locations are not kept.
      let recording = record
      if keep && record { keyLocations[memberPointer] = keyPosition }
      record = record && keep
      let value = try parseValue(pointer: memberPointer, depth: depth + 1)
      record = recording
      if keep { members.append(JSONMember(key, value)) }
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "}"), "',' or '}' in an object")
      return .object(members)
    }
  }

  mutating func parseArray(pointer: String, depth: Int) throws(JSONSyntaxError) -> JSONValue {
    position += 1
    var elements: [JSONValue] = []
    pointerStack.append(pointer)
    defer { pointerStack.removeLast() }
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(pointer: pointer + "/" + String(elements.count), depth: depth + 1))
      skipWhitespace()
      if current == UInt8(ascii: ",") {
        position += 1
        continue
      }
      try expect(UInt8(ascii: "]"), "',' or ']' in an array")
      return .array(elements)
    }
  }

  mutating func digits() -> Int {
    var n = 0
    while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
      position += 1
      n += 1
    }
    return n
  }

  mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
    let start = position
    if current == UInt8(ascii: "-") { position += 1 }
    if current == UInt8(ascii: "0") {
      position += 1
      if let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
        throw failure("no leading zero")
      }
    } else if digits() == 0 {
      throw failure("a digit")
    }
    if current == UInt8(ascii: ".") {
      position += 1
      guard digits() > 0 else { throw failure("a digit after '.'") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard digits() > 0 else { throw failure("an exponent digit") }
    }
    return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
  }

  mutating func parseString() throws(JSONSyntaxError) -> String {
    position += 1
    var utf8: [UInt8] = []
    while true {
      guard let byte = current else { throw failure("a closing '\"'") }
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return String(decoding: utf8, as: UTF8.self)
      case UInt8(ascii: "\\"):
        position += 1
        try parseEscape(into: &utf8)
      case 0..<0x20:
        throw failure("no raw control character inside a string (write \\n, \\t or \\u00XX)")
      case 0x80...:
        try copyScalar(into: &utf8)
      default:
        utf8.append(byte)
        position += 1
      }
    }
  }

  /// Copies one multi-byte UTF-8 scalar, rejecting overlong forms, surrogates and values past U+10FFFF.
  mutating func copyScalar(into utf8: inout [UInt8]) throws(JSONSyntaxError) {
    let lead = bytes[position]
    let (length, low, high): (Int, UInt8, UInt8)
    switch lead {
    case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
    case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
    case 0xED: (length, low, high) = (3, 0x80, 0x9F)
    case 0xE1...0xEF: (length, low, high) = (3, 0x80, 0xBF)
    case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
    case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
    case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
    default: throw failure("valid UTF-8", kind: .invalidUTF8)
    }
    for i in 1..<length {
      let index = position + i
      let (lo, hi) = i == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
      guard index < bytes.count, bytes[index] >= lo, bytes[index] <= hi else {
        position = index
        throw failure("valid UTF-8", kind: .invalidUTF8)
      }
    }
    utf8.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]))
    position += length
  }

  mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONSyntaxError) {
    guard let byte = current else { throw failure("an escape character") }
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
    case UInt8(ascii: "b"): utf8.append(0x08)
    case UInt8(ascii: "f"): utf8.append(0x0C)
    case UInt8(ascii: "n"): utf8.append(0x0A)
    case UInt8(ascii: "r"): utf8.append(0x0D)
    case UInt8(ascii: "t"): utf8.append(0x09)
    case UInt8(ascii: "u"):
      position += 1
      var scalar = try parseHex4()
      if (0xD800..<0xDC00).contains(scalar) {
        guard current == UInt8(ascii: "\\") else { throw failure("a low surrogate \\uDC00-\\uDFFF") }
        position += 1
        try expect(UInt8(ascii: "u"), "a low surrogate \\uDC00-\\uDFFF")
        let low = try parseHex4()
        guard (0xDC00..<0xE000).contains(low) else {
          position -= 4
          throw failure("a low surrogate \\uDC00-\\uDFFF")
        }
        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00..<0xE000).contains(scalar) {
        position -= 4
        throw failure("no lone low surrogate")
      }
      // Every value left is a valid scalar: surrogates are handled above and 4 hex digits stay below U+10000.
      utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
      return
    default:
      throw failure("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
    }
    position += 1
  }

  mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = current, let digit = hexDigit(byte) else { throw failure("4 hex digits after \\u") }
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

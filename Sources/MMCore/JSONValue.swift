/// A JSON document as data: objects keep their members in document order, numbers keep their
/// text (so 64-bit integers survive exactly). Parsing (with source locations) is `JSONParser`;
/// `encoded()` writes compact or pretty JSON.
public enum JSONValue: Hashable, Sendable {
  case null
  case bool(Bool)
  /// The number's text as written (`12`, `-3.5e2`).
  case number(String)
  case string(String)
  case array([JSONValue])
  case object([JSONMember])

  public init(_ value: Int) { self = .number(String(value)) }
  public init(_ value: Double) { self = .number(value.isFinite ? "\(value)" : "null") }

  /// The JSON type, for messages: `object`, `string`, `number`, …
  public var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .number: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }

  /// A member's value by key (objects only).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.key == key }?.value
  }

  public var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The value as an exact `Int` (an integer literal that fits), else nil.
  public var int: Int? {
    guard case .number(let text) = self else { return nil }
    return Int(text)
  }

  public var double: Double? {
    guard case .number(let text) = self else { return nil }
    return Double(text)
  }

  public var bool: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  public var members: [JSONMember]? {
    if case .object(let m) = self { return m }
    return nil
  }

  public var elements: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  /// JSON text: compact, or pretty with two-space indentation.
  public func encoded(pretty: Bool = false) -> String {
    var out = ""
    write(into: &out, pretty: pretty, indent: 0)
    return out
  }

  private func write(into out: inout String, pretty: Bool, indent: Int) {
    let newline = pretty ? "\n" : ""
    let pad = { (level: Int) in pretty ? String(repeating: "  ", count: level) : "" }
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let text): out += text
    case .string(let s): out += JSONValue.quoted(s)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "[" + newline
      for (i, item) in items.enumerated() {
        out += pad(indent + 1)
        item.write(into: &out, pretty: pretty, indent: indent + 1)
        out += (i + 1 < items.count ? "," : "") + newline
      }
      out += pad(indent) + "]"
    case .object(let members):
      if members.isEmpty {
        out += "{}"
        return
      }
      out += "{" + newline
      for (i, member) in members.enumerated() {
        out += pad(indent + 1) + JSONValue.quoted(member.key) + (pretty ? ": " : ":")
        member.value.write(into: &out, pretty: pretty, indent: indent + 1)
        out += (i + 1 < members.count ? "," : "") + newline
      }
      out += pad(indent) + "}"
    }
  }

  /// `s` as a JSON string literal, escaped as serde_json and Python's `json` do: `"`, `\` and
  /// control characters only (short forms where JSON has them); non-ASCII stays UTF-8.
  public static func quoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

/// One `"key": value` pair of a JSON object.
public struct JSONMember: Hashable, Sendable {
  public var key: String
  public var value: JSONValue
  public init(_ key: String, _ value: JSONValue) {
    self.key = key
    self.value = value
  }
}

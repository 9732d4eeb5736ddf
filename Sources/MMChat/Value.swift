import Foundation
import MMCore

/// An insertion-ordered string-keyed dictionary (Python 3.7+ dict order).
struct OrderedDict: Sendable {
  private(set) var keys: [String] = []
  private(set) var storage: [String: Value] = [:]
  init() {}
  init(_ pairs: [(String, Value)]) { for (k, v) in pairs { self[k] = v } }
  subscript(key: String) -> Value? {
    get { storage[key] }
    set {
      if storage[key] == nil, newValue != nil { keys.append(key) }
      if newValue == nil { keys.removeAll { $0 == key } }
      storage[key] = newValue
    }
  }
  var pairs: [(String, Value)] { keys.map { ($0, storage[$0]!) } }
  var count: Int { keys.count }
}

/// `namespace()`: the one mutable object of the template language.
final class Namespace: @unchecked Sendable {
  var values: OrderedDict
  init(_ values: OrderedDict) { self.values = values }
}

struct Macro: Sendable {
  var name: String
  var parameters: [(String, Expr?)]
  var body: [Node]
}

/// A runtime value, with Python's semantics where jinja2 has them.
indirect enum Value: Sendable {
  /// jinja2's `Undefined`, carrying the message an error about it reports.
  case undefined(String)
  case none
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case list([Value])
  case tuple([Value])
  case dict(OrderedDict)
  case namespace(Namespace)
  case macro(Macro)
  case function(String)
  case method(Value, String)

  init(_ json: JSONValue) {
    switch json {
    case .null: self = .none
    case .bool(let b): self = .bool(b)
    case .number(let text):
      if let i = Int(text) { self = .int(i) } else { self = .double(Double(text) ?? .nan) }
    case .string(let s): self = .string(s)
    case .array(let a): self = .list(a.map(Value.init))
    case .object(let members): self = .dict(OrderedDict(members.map { ($0.key, Value($0.value)) }))
    }
  }

  var isUndefined: Bool {
    if case .undefined = self { return true }
    return false
  }

  /// Python's `type(x).__name__`-based wording jinja2 uses in messages (`'dict object'`).
  var typeName: String {
    switch self {
    case .undefined: return "Undefined"
    case .none: return "NoneType"
    case .bool: return "bool"
    case .int: return "int"
    case .double: return "float"
    case .string: return "str"
    case .list: return "list"
    case .tuple: return "tuple"
    case .dict: return "dict"
    case .namespace: return "Namespace"
    case .macro: return "Macro"
    case .function, .method: return "function"
    }
  }

  /// jinja2's `object_type_repr`.
  var objectDescription: String {
    if case .none = self { return "None" } else { return "\(typeName) object" }
  }

  var truthy: Bool {
    switch self {
    case .undefined, .none: return false
    case .bool(let b): return b
    case .int(let i): return i != 0
    case .double(let d): return d != 0
    case .string(let s): return !s.isEmpty
    case .list(let a), .tuple(let a): return !a.isEmpty
    case .dict(let d): return d.count > 0
    default: return true
    }
  }

  /// Python `str(x)`.
  var str: String {
    switch self {
    case .undefined: return ""
    case .string(let s): return s
    default: return repr
    }
  }

  /// Python `repr(x)`.
  var repr: String {
    switch self {
    case .undefined: return ""
    case .none: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return String(i)
    case .double(let d): return Value.pythonFloat(d)
    case .string(let s): return Value.pythonQuoted(s)
    case .list(let a): return "[" + a.map(\.repr).joined(separator: ", ") + "]"
    case .tuple(let a):
      return a.count == 1 ? "(\(a[0].repr),)" : "(" + a.map(\.repr).joined(separator: ", ") + ")"
    case .dict(let d):
      return "{" + d.pairs.map { Value.pythonQuoted($0.0) + ": " + $0.1.repr }.joined(separator: ", ") + "}"
    case .namespace(let n):
      return "<Namespace " + Value.dict(n.values).repr + ">"
    case .macro(let m): return "<Macro '\(m.name)'>"
    case .function(let f): return "<function \(f)>"
    case .method(_, let m): return "<built-in method \(m)>"
    }
  }

  static func pythonFloat(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
    return "\(d)"
  }

  static func pythonQuoted(_ s: String) -> String {
    let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where Character(scalar) == quote: out += "\\" + String(quote)
      case _ where scalar.value < 0x20 || scalar.value == 0x7F:
        out += "\\x" + (scalar.value < 16 ? "0" : "") + String(scalar.value, radix: 16)
      default: out.unicodeScalars.append(scalar)
      }
    }
    out.append(quote)
    return out
  }

  /// Python `==`.
  static func equal(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let x), .string(let y)): return x == y
    case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
    case (.dict(let x), .dict(let y)):
      return x.count == y.count && x.pairs.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
    case (.namespace(let x), .namespace(let y)): return x === y
    default:
      if let x = a.number, let y = b.number { return x == y }
      return false
    }
  }

  /// Numbers (and bools, as Python treats them) as Double, for comparisons.
  var number: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let d): return d
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }

  var integer: Int? {
    switch self {
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }

  /// json.dumps(x, ensure_ascii=False, indent=…, separators=…, sort_keys=…).
  func json(indent: Int?, itemSeparator: String, keySeparator: String, sortKeys: Bool, level: Int = 0)
    -> String?
  {
    let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
    let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
    func items(_ parts: [String], _ open: String, _ close: String) -> String {
      if parts.isEmpty { return open + close }
      guard let newline else { return open + parts.joined(separator: itemSeparator) + close }
      return open + newline + parts.joined(separator: itemSeparator + newline) + closing + close
    }
    switch self {
    case .none: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d):
      if d.isNaN { return "NaN" }
      if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
      return Value.pythonFloat(d)
    case .string(let s): return JSONValue.quoted(s)
    case .list(let a), .tuple(let a):
      var parts: [String] = []
      for v in a {
        guard
          let p = v.json(
            indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys,
            level: level + 1)
        else { return nil }
        parts.append(p)
      }
      return items(parts, "[", "]")
    case .dict(let d):
      var parts: [String] = []
      let pairs =
        sortKeys
        ? d.pairs.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } : d.pairs
      for (k, v) in pairs {
        guard
          let p = v.json(
            indent: indent, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys,
            level: level + 1)
        else { return nil }
        parts.append(JSONValue.quoted(k) + keySeparator + p)
      }
      return items(parts, "{", "}")
    default: return nil
    }
  }
}

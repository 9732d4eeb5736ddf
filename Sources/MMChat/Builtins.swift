import Foundation

extension Interpreter {
  static let dictMethods: Set<String> = ["items", "keys", "values", "get"]
  static let stringMethods: Set<String> = [
    "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "title", "lower", "upper",
    "capitalize", "replace",
  ]
  static let unsupportedGlobals: Set<String> = ["cycler", "joiner", "lipsum", "zip", "self", "caller"]

  mutating func call(
    _ f: Value, _ args: [Value], _ kwargs: [(String, Value)], _ loc: Location, callee: Expr
  ) throws(ChatTemplateError) -> Value {
    switch f {
    case .function(let name): return try callGlobal(name, args, kwargs, loc)
    case .method(let target, let name): return try callMethod(target, name, args, loc)
    case .macro(let macro):
      var scope: [String: Value] = [:]
      for (i, (p, defaultExpr)) in macro.parameters.enumerated() {
        if i < args.count {
          scope[p] = args[i]
        } else if let kw = kwargs.first(where: { $0.0 == p }) {
          scope[p] = kw.1
        } else if let defaultExpr {
          scope[p] = try evaluate(defaultExpr)
        } else {
          scope[p] = .undefined("parameter '\(p)' was not provided")
        }
      }
      if args.count > macro.parameters.count {
        throw Self.fail("macro '\(macro.name)' takes not more than \(macro.parameters.count) arguments", loc)
      }
      let savedScopes = scopes
      let savedOutput = output
      scopes = [scopes[0], scopes[1], scope]
      output = ""
      defer {
        scopes = savedScopes
        output = savedOutput
      }
      _ = try execute(macro.body)
      return .string(output)
    case .undefined(let hint):
      if case .name(let n, _) = callee, Self.unsupportedGlobals.contains(n) {
        throw Self.fail("unsupported function '\(n)'", loc, .unsupported)
      }
      if case .attribute(let target, let n, _) = callee, case .string = (try? evaluate(target)) ?? .none {
        throw Self.fail("unsupported string method '\(n)'", loc, .unsupported)
      }
      if case .attribute(_, let n, _) = callee, ["append", "extend", "pop", "update", "insert"].contains(n) {
        throw Self.fail("unsupported method '\(n)' (templates are immutable)", loc, .unsupported)
      }
      throw Self.fail(hint, loc)
    default: throw Self.fail("'\(f.typeName)' object is not callable", loc)
    }
  }

  func callGlobal(_ name: String, _ args: [Value], _ kwargs: [(String, Value)], _ loc: Location)
    throws(ChatTemplateError) -> Value
  {
    switch name {
    case "raise_exception":
      throw Self.fail(args.first?.str ?? "", loc, .raised)
    case "namespace", "dict":
      var d = OrderedDict()
      if case .dict(let initial)? = args.first { d = initial }
      for (k, v) in kwargs { d[k] = v }
      return name == "dict" ? .dict(d) : .namespace(Namespace(d))
    case "range":
      let ints = args.compactMap(\.integer)
      guard ints.count == args.count, (1...3).contains(ints.count) else {
        throw Self.fail("range() takes 1 to 3 integer arguments", loc)
      }
      let (lo, hi, step) =
        ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
      guard step != 0 else { throw Self.fail("range() arg 3 must not be zero", loc) }
      return .list(stride(from: lo, to: hi, by: step).map { .int($0) })
    case "strftime_now":
      guard case .string(let format)? = args.first else {
        throw Self.fail("strftime_now needs a format", loc)
      }
      var now = time(nil)
      var parts = tm()
      localtime_r(&now, &parts)
      var buffer = [CChar](repeating: 0, count: 512)
      let n = strftime(&buffer, buffer.count, format, &parts)
      return .string(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    default: throw Self.fail("unsupported function '\(name)'", loc, .unsupported)
    }
  }

  static func isPythonSpace(_ c: Unicode.Scalar) -> Bool { Lexer.isSpace(c) }

  static func strip(_ s: String, _ chars: Value?, leading: Bool, trailing: Bool) -> String {
    let set: (Unicode.Scalar) -> Bool
    if case .string(let c)? = chars {
      let members = Set(c.unicodeScalars)
      set = { members.contains($0) }
    } else {
      set = isPythonSpace
    }
    var scalars = Array(s.unicodeScalars)[...]
    if leading { while let f = scalars.first, set(f) { scalars.removeFirst() } }
    if trailing { while let l = scalars.last, set(l) { scalars.removeLast() } }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: scalars)
    return String(out)
  }

  static func title(_ s: String) -> String {
    var out = ""
    var previousCased = false
    for c in s {
      let cased = c.isLetter
      out += cased ? (previousCased ? c.lowercased() : c.uppercased()) : String(c)
      previousCased = cased
    }
    return out
  }

  static func capitalize(_ s: String) -> String {
    guard let first = s.first else { return s }
    return first.uppercased() + s.dropFirst().lowercased()
  }

  static func split(_ s: String, _ separator: String?, _ maxSplit: Int) -> [Value] {
    var parts: [String] = []
    if let separator {
      var rest = Substring(s)
      while maxSplit < 0 || parts.count < maxSplit, let r = rest.range(of: separator) {
        parts.append(String(rest[..<r.lowerBound]))
        rest = rest[r.upperBound...]
      }
      parts.append(String(rest))
    } else {
      var current = String.UnicodeScalarView()
      var scalars = Array(s.unicodeScalars)[...]
      while let f = scalars.first, isPythonSpace(f) { scalars.removeFirst() }
      while let c = scalars.first {
        scalars.removeFirst()
        if isPythonSpace(c) {
          parts.append(String(current))
          current = String.UnicodeScalarView()
          while let f = scalars.first, isPythonSpace(f) { scalars.removeFirst() }
          if maxSplit >= 0, parts.count >= maxSplit, !scalars.isEmpty {
            current.append(contentsOf: scalars)
            var tail = scalars
            while let l = tail.last, isPythonSpace(l) { tail.removeLast() }
            current = String.UnicodeScalarView()
            current.append(contentsOf: tail)
            scalars = []
          }
        } else {
          current.append(c)
        }
      }
      if !current.isEmpty { parts.append(String(current)) }
    }
    return parts.map { .string($0) }
  }

  static func replace(_ s: String, _ old: String, _ new: String, _ count: Int) -> String {
    if count < 0 { return old.isEmpty ? s : s.replacingOccurrences(of: old, with: new) }
    var out = ""
    var rest = Substring(s)
    var n = 0
    while n < count, !old.isEmpty, let r = rest.range(of: old) {
      out += rest[..<r.lowerBound] + new
      rest = rest[r.upperBound...]
      n += 1
    }
    return out + rest
  }

  func callMethod(_ target: Value, _ name: String, _ args: [Value], _ loc: Location)
    throws(ChatTemplateError) -> Value
  {
    if case .dict(let d) = target {
      switch name {
      case "items": return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
      case "keys": return .list(d.keys.map { .string($0) })
      case "values": return .list(d.pairs.map(\.1))
      default:
        guard case .string(let k)? = args.first else { return args.count > 1 ? args[1] : .none }
        return d[k] ?? (args.count > 1 ? args[1] : .none)
      }
    }
    guard case .string(let s) = target else {
      throw Self.fail("unsupported method '\(name)'", loc, .unsupported)
    }
    func stringArg(_ i: Int) throws(ChatTemplateError) -> String? {
      guard i < args.count else { return nil }
      if case .none = args[i] { return nil }
      guard case .string(let a) = args[i] else {
        throw Self.fail("\(name)() argument must be str, not \(args[i].typeName)", loc)
      }
      return a
    }
    switch name {
    case "strip", "lstrip", "rstrip":
      return .string(
        Self.strip(s, args.first, leading: name != "rstrip", trailing: name != "lstrip"))
    case "startswith", "endswith":
      var candidates: [Value] = []
      if case .tuple(let t)? = args.first { candidates = t } else if let a = args.first { candidates = [a] }
      for c in candidates {
        guard case .string(let p) = c else { throw Self.fail("\(name) needs a string", loc) }
        if name == "startswith"
          ? s.unicodeScalars.starts(with: p.unicodeScalars)
          : s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed())
        {
          return .bool(true)
        }
      }
      return .bool(false)
    case "split":
      let separator = try stringArg(0)
      if separator == "" { throw Self.fail("empty separator", loc) }
      return .list(Self.split(s, separator, args.count > 1 ? args[1].integer ?? -1 : -1))
    case "title": return .string(Self.title(s))
    case "lower": return .string(s.lowercased())
    case "upper": return .string(s.uppercased())
    case "capitalize": return .string(Self.capitalize(s))
    default:
      guard let old = try stringArg(0), let new = try stringArg(1) else {
        throw Self.fail("replace() takes two string arguments", loc)
      }
      return .string(Self.replace(s, old, new, args.count > 2 ? args[2].integer ?? -1 : -1))
    }
  }
}

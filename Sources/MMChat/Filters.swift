extension Interpreter {
  mutating func applyFilter(
    _ name: String, _ v: Value, _ args: [Value], _ kwargs: [String: Value], _ loc: Location
  ) throws(ChatTemplateError) -> Value {
    func arg(_ i: Int, _ key: String) -> Value? { i < args.count ? args[i] : kwargs[key] }
    func text(_ v: Value) throws(ChatTemplateError) -> String { v.str }
    switch name {
    case "default", "d":
      let fallback = arg(0, "default_value") ?? .string("")
      let boolean = arg(1, "boolean")?.truthy ?? false
      return v.isUndefined || (boolean && !v.truthy) ? fallback : v
    case "safe": return v
    case "string": return .string(v.str)
    case "trim": return .string(Self.strip(v.str, arg(0, "chars"), leading: true, trailing: true))
    case "upper": return .string(v.str.uppercased())
    case "lower": return .string(v.str.lowercased())
    case "capitalize": return .string(Self.capitalize(v.str))
    case "title": return .string(Self.title(v.str))
    case "replace":
      guard case .string(let old)? = arg(0, "old"), case .string(let new)? = arg(1, "new") else {
        throw Self.fail("replace needs two strings", loc)
      }
      return .string(Self.replace(v.str, old, new, arg(2, "count")?.integer ?? -1))
    case "length", "count":
      switch v {
      case .undefined: return .int(0)
      case .string(let s): return .int(s.unicodeScalars.count)
      case .list(let a), .tuple(let a): return .int(a.count)
      case .dict(let d): return .int(d.count)
      default: throw Self.fail("object of type '\(v.typeName)' has no len()", loc)
      }
    case "tojson":
      let indent = arg(0, "indent")
      var indentWidth: Int?
      if let indent, !({ if case .none = indent { return true } else { return false } }()) {
        guard let i = indent.integer else { throw Self.fail("unsupported tojson indent", loc, .unsupported) }
        indentWidth = i
      }
      var itemSeparator = indentWidth == nil ? ", " : ","
      var keySeparator = ": "
      if let seps = kwargs["separators"], case .tuple(let parts) = seps, parts.count == 2 {
        itemSeparator = parts[0].str
        keySeparator = parts[1].str
      } else if let seps = kwargs["separators"], case .list(let parts) = seps, parts.count == 2 {
        itemSeparator = parts[0].str
        keySeparator = parts[1].str
      }
      guard
        let json = v.json(
          indent: indentWidth, itemSeparator: itemSeparator, keySeparator: keySeparator,
          sortKeys: kwargs["sort_keys"]?.truthy ?? false)
      else {
        if case .undefined(let hint) = v { throw Self.fail(hint, loc) }
        throw Self.fail("Object of type \(v.typeName) is not JSON serializable", loc)
      }
      return .string(json)
    case "int":
      let fallback = arg(0, "default") ?? .int(0)
      switch v {
      case .int: return v
      case .bool(let b): return .int(b ? 1 : 0)
      case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
      case .string(let s):
        let t = Self.strip(s, nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
        if let i = Int(t) { return .int(i) }
        if let d = Double(t), d.isFinite { return .int(Int(d)) }
        return fallback
      default: return fallback
      }
    case "float":
      let fallback = arg(0, "default") ?? .double(0)
      if let n = v.number { return .double(n) }
      if case .string(let s) = v, let d = Double(Self.strip(s, nil, leading: true, trailing: true)) {
        return .double(d)
      }
      return fallback
    case "abs":
      switch v {
      case .int(let i): return .int(abs(i))
      case .double(let d): return .double(abs(d))
      default: throw Self.fail("bad operand type for abs(): '\(v.typeName)'", loc)
      }
    case "round":
      guard let n = v.number else { throw Self.fail("round needs a number", loc) }
      let precision = arg(0, "precision")?.integer ?? 0
      let method = arg(1, "method")?.str ?? "common"
      var scale = 1.0
      for _ in 0..<max(precision, 0) { scale *= 10 }
      let rule: FloatingPointRoundingRule =
        method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrAwayFromZero
      return .double((n * scale).rounded(rule) / scale)
    case "items":
      guard case .dict(let d) = v else {
        if v.isUndefined { return .list([]) }
        throw Self.fail("can only get item pairs from a mapping", loc)
      }
      return .list(d.pairs.map { .tuple([.string($0.0), $0.1]) })
    case "list": return .list(try iterate(v, loc))
    case "first":
      return try iterate(v, loc).first ?? .undefined("No first item, sequence was empty.")
    case "last":
      return try iterate(v, loc).last ?? .undefined("No last item, sequence was empty.")
    case "reverse":
      if case .string(let s) = v { return .string(String(s.unicodeScalars.reversed().map(Character.init))) }
      return .list(try iterate(v, loc).reversed())
    case "unique":
      var seen: [Value] = []
      for item in try iterate(v, loc) where !seen.contains(where: { Value.equal($0, item) }) {
        seen.append(item)
      }
      return .list(seen)
    case "join":
      var items = try iterate(v, loc)
      if let attribute = kwargs["attribute"] {
        var mapped: [Value] = []
        for item in items { mapped.append(try attributePath(item, attribute, loc)) }
        items = mapped
      }
      return .string(items.map(\.str).joined(separator: arg(0, "d")?.str ?? ""))
    case "sum":
      var total = Value.int(0)
      for item in try iterate(v, loc) { total = try binary("+", total, item, loc) }
      return total
    case "min", "max", "sort", "dictsort":
      var items =
        name == "dictsort" ? try applyFilter("items", v, [], [:], loc).elementsOrEmpty : try iterate(v, loc)
      let reverse = kwargs["reverse"]?.truthy ?? false
      var failure: ChatTemplateError?
      items.sort { a, b in
        let (x, y) = name == "dictsort" ? (a.elementsOrEmpty[0], b.elementsOrEmpty[0]) : (a, b)
        do throws(ChatTemplateError) {
          return try compare(reverse ? ">" : "<", x, y, loc)
        } catch {
          failure = failure ?? error
          return false
        }
      }
      if let failure { throw failure }
      if name == "min" { return items.first ?? .undefined("No aggregated item, sequence was empty.") }
      if name == "max" { return items.last ?? .undefined("No aggregated item, sequence was empty.") }
      return .list(items)
    case "selectattr", "rejectattr":
      guard case .string? = args.first else { throw Self.fail("\(name) needs an attribute name", loc) }
      var kept: [Value] = []
      for item in try iterate(v, loc) {
        let value = try attributePath(item, args[0], loc)
        var passed: Bool
        if args.count > 1 {
          guard case .string(let test) = args[1], Builtins.tests.contains(test) else {
            throw Self.fail("unsupported test '\(args[1].str)'", loc, .unsupported)
          }
          passed = try applyTest(test, value, Array(args.dropFirst(2)), loc)
        } else {
          passed = value.truthy
        }
        if name == "rejectattr" { passed.toggle() }
        if passed { kept.append(item) }
      }
      return .list(kept)
    case "map":
      var out: [Value] = []
      if let attribute = kwargs["attribute"] {
        for item in try iterate(v, loc) {
          var value = try attributePath(item, attribute, loc)
          if value.isUndefined, let fallback = kwargs["default"] { value = fallback }
          out.append(value)
        }
        return .list(out)
      }
      guard case .string(let filter)? = args.first, Builtins.filters.contains(filter) else {
        throw Self.fail("unsupported map() arguments", loc, .unsupported)
      }
      for item in try iterate(v, loc) {
        out.append(try applyFilter(filter, item, Array(args.dropFirst()), [:], loc))
      }
      return .list(out)
    default:
      throw Self.fail("unsupported filter '\(name)'", loc, .unsupported)
    }
  }

  /// `attribute='a.b'` / `attribute=0` paths of jinja2's `make_attrgetter`.
  func attributePath(_ item: Value, _ path: Value, _ loc: Location) throws(ChatTemplateError) -> Value {
    if let i = path.integer { return try self.item(item, .int(i), loc) }
    var value = item
    for part in path.str.split(separator: ".") {
      let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
      value = try self.item(value, key, loc)
    }
    return value
  }

  func applyTest(_ name: String, _ v: Value, _ args: [Value], _ loc: Location) throws(ChatTemplateError)
    -> Bool
  {
    switch name {
    case "defined": return !v.isUndefined
    case "undefined": return v.isUndefined
    case "none": if case .none = v { return true } else { return false }
    case "string": if case .string = v { return true } else { return false }
    case "boolean": if case .bool = v { return true } else { return false }
    case "true": if case .bool(true) = v { return true } else { return false }
    case "false": if case .bool(false) = v { return true } else { return false }
    case "integer": if case .int = v { return true } else { return false }
    case "float": if case .double = v { return true } else { return false }
    case "number": return v.number != nil
    case "mapping": if case .dict = v { return true } else { return false }
    case "sequence", "iterable":
      switch v {
      case .string, .list, .tuple, .dict: return true
      default: return false
      }
    case "callable":
      switch v {
      case .macro, .function, .method: return true
      default: return false
      }
    case "odd", "even", "divisibleby":
      guard let i = v.integer else { throw Self.fail(undefinedOr(v, "\(name) needs an integer"), loc) }
      if name == "divisibleby" {
        guard let d = args.first?.integer, d != 0 else { throw Self.fail("divisibleby needs a divisor", loc) }
        return i % d == 0
      }
      return (i % 2 != 0) == (name == "odd")
    case "equalto", "eq": return Value.equal(v, args.first ?? .undefined(""))
    case "ne": return !Value.equal(v, args.first ?? .undefined(""))
    case "sameas":
      switch (v, args.first ?? .undefined("")) {
      case (.none, .none): return true
      case (.bool(let a), .bool(let b)): return a == b
      default: return false
      }
    case "lower": return v.str == v.str.lowercased()
    case "upper": return v.str == v.str.uppercased()
    case "in": return try compare("in", v, args.first ?? .undefined(""), loc)
    default: throw Self.fail("unsupported test '\(name)'", loc, .unsupported)
    }
  }
}

extension Value {
  var elementsOrEmpty: [Value] {
    switch self {
    case .list(let a), .tuple(let a): return a
    default: return []
    }
  }
}

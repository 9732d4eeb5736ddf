import Foundation

/// Walks the parsed template. Scopes follow jinja2: a `for` body gets a fresh scope every
/// iteration (reading through to the enclosing ones), `if` does not open one, a macro call sees
/// the template's top-level scope and its parameters.
struct Interpreter {
  /// scopes[0] holds the globals, scopes[1] the render context and top-level `set`s.
  var scopes: [[String: Value]]
  var output = ""

  enum Flow { case normal, breakLoop, continueLoop }

  init(context: [String: Value]) {
    let globals: [String: Value] = [
      "range": .function("range"), "namespace": .function("namespace"),
      "raise_exception": .function("raise_exception"), "strftime_now": .function("strftime_now"),
      "dict": .function("dict"),
    ]
    scopes = [globals, context]
  }

  mutating func run(_ body: [Node]) throws(ChatTemplateError) -> String {
    _ = try execute(body)
    return output
  }

  func lookup(_ name: String) -> Value {
    for scope in scopes.reversed() { if let v = scope[name] { return v } }
    return .undefined("'\(name)' is undefined")
  }

  mutating func assign(_ name: String, _ value: Value) { scopes[scopes.count - 1][name] = value }

  static func fail(_ message: String, _ loc: Location, _ kind: ChatTemplateError.Kind = .runtime)
    -> ChatTemplateError
  {
    ChatTemplateError(kind, message, line: loc.line, column: loc.column)
  }

  mutating func execute(_ nodes: [Node]) throws(ChatTemplateError) -> Flow {
    for node in nodes {
      switch node {
      case .text(let s): output += s
      case .output(let e):
        let v = try evaluate(e)
        output += v.str
      case .conditional(let branches, let otherwise):
        var taken = false
        for (condition, body) in branches where try evaluate(condition).truthy {
          taken = true
          let flow = try execute(body)
          if flow != .normal { return flow }
          break
        }
        if !taken {
          let flow = try execute(otherwise)
          if flow != .normal { return flow }
        }
      case .loop(let targets, let iterable, let filter, let body, let otherwise, let loc):
        try runLoop(targets, iterable, filter, body, otherwise, loc)
      case .assign(let target, let expr, let loc):
        let value = try evaluate(expr)
        switch target {
        case .names(let names) where names.count == 1: assign(names[0], value)
        case .names(let names):
          let items = try iterate(value, loc)
          guard items.count == names.count else {
            throw Self.fail("cannot unpack \(items.count) values into \(names.count) names", loc)
          }
          for (n, v) in zip(names, items) { assign(n, v) }
        case .attribute(let object, let attribute, let attrLoc):
          guard case .namespace(let ns) = lookup(object) else {
            throw Self.fail("cannot assign attribute on non-namespace object", attrLoc)
          }
          ns.values[attribute] = value
        }
      case .assignBlock(let name, let body):
        let saved = output
        output = ""
        _ = try execute(body)
        let text = output
        output = saved
        assign(name, .string(text))
      case .macro(let name, let parameters, let body):
        assign(name, .macro(Macro(name: name, parameters: parameters, body: body)))
      case .breakLoop: return .breakLoop
      case .continueLoop: return .continueLoop
      }
    }
    return .normal
  }

  mutating func runLoop(
    _ targets: [String], _ iterable: Expr, _ filter: Expr?, _ body: [Node], _ otherwise: [Node],
    _ loc: Location
  ) throws(ChatTemplateError) {
    var items = try iterate(try evaluate(iterable), loc)
    func bind(_ item: Value, into scope: inout [String: Value]) throws(ChatTemplateError) {
      if targets.count == 1 {
        scope[targets[0]] = item
        return
      }
      let parts = try iterate(item, loc)
      guard parts.count == targets.count else {
        throw Self.fail("cannot unpack \(parts.count) values into \(targets.count) names", loc)
      }
      for (n, v) in zip(targets, parts) { scope[n] = v }
    }
    if let filter {
      var kept: [Value] = []
      for item in items {
        var scope: [String: Value] = [:]
        try bind(item, into: &scope)
        scopes.append(scope)
        defer { scopes.removeLast() }
        if try evaluate(filter).truthy { kept.append(item) }
      }
      items = kept
    }
    if items.isEmpty {
      _ = try execute(otherwise)
      return
    }
    let n = items.count
    for (i, item) in items.enumerated() {
      var scope: [String: Value] = [:]
      try bind(item, into: &scope)
      scope["loop"] = .dict(
        OrderedDict([
          ("index0", .int(i)), ("index", .int(i + 1)), ("revindex0", .int(n - i - 1)),
          ("revindex", .int(n - i)), ("first", .bool(i == 0)), ("last", .bool(i == n - 1)),
          ("length", .int(n)), ("depth", .int(1)), ("depth0", .int(0)),
          ("previtem", i > 0 ? items[i - 1] : .undefined("there is no previous item")),
          ("nextitem", i + 1 < n ? items[i + 1] : .undefined("there is no next item")),
        ]))
      scopes.append(scope)
      let flow: Flow
      do { flow = try execute(body) } catch {
        scopes.removeLast()
        throw error
      }
      scopes.removeLast()
      if flow == .breakLoop { break }
    }
  }

  /// Python iteration: list/tuple items, dict keys, string characters; Undefined is empty.
  func iterate(_ value: Value, _ loc: Location) throws(ChatTemplateError) -> [Value] {
    switch value {
    case .undefined: return []
    case .list(let a), .tuple(let a): return a
    case .dict(let d): return d.keys.map { .string($0) }
    case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
    default: throw Self.fail("'\(value.typeName)' object is not iterable", loc)
    }
  }

  // MARK: Expressions

  mutating func evaluate(_ expr: Expr) throws(ChatTemplateError) -> Value {
    switch expr {
    case .literal(let v): return v
    case .name(let n, _): return lookup(n)
    case .list(let items):
      var out: [Value] = []
      for e in items { out.append(try evaluate(e)) }
      return .list(out)
    case .tuple(let items):
      var out: [Value] = []
      for e in items { out.append(try evaluate(e)) }
      return .tuple(out)
    case .dict(let items, let loc):
      var d = OrderedDict()
      for (k, v) in items {
        guard case .string(let key) = try evaluate(k) else {
          throw Self.fail("unsupported non-string dict key", loc, .unsupported)
        }
        d[key] = try evaluate(v)
      }
      return .dict(d)
    case .attribute(let target, let name, let loc):
      return try attribute(try evaluate(target), name, loc)
    case .subscript(let target, let key, let loc):
      return try item(try evaluate(target), try evaluate(key), loc)
    case .slice(let target, let a, let b, let c, let loc):
      let v = try evaluate(target)
      let bounds = [a, b, c]
      var parts: [Int?] = []
      for e in bounds {
        guard let e else {
          parts.append(nil)
          continue
        }
        let x = try evaluate(e)
        if case .none = x {
          parts.append(nil)
        } else if let i = x.integer {
          parts.append(i)
        } else {
          throw Self.fail("slice indices must be integers", loc)
        }
      }
      return try slice(v, parts[0], parts[1], parts[2], loc)
    case .call(let callee, let argExprs, let kwargExprs, let loc):
      let f = try evaluate(callee)
      var args: [Value] = []
      for e in argExprs { args.append(try evaluate(e)) }
      var kwargs: [(String, Value)] = []
      for (k, e) in kwargExprs { kwargs.append((k, try evaluate(e))) }
      return try call(f, args, kwargs, loc, callee: callee)
    case .filter(let target, let name, let argExprs, let kwargExprs, let loc):
      let v = try evaluate(target)
      var args: [Value] = []
      for e in argExprs { args.append(try evaluate(e)) }
      var kwargs: [String: Value] = [:]
      for (k, e) in kwargExprs { kwargs[k] = try evaluate(e) }
      return try applyFilter(name, v, args, kwargs, loc)
    case .test(let target, let name, let negated, let argExprs, let loc):
      let v = try evaluate(target)
      var args: [Value] = []
      for e in argExprs { args.append(try evaluate(e)) }
      return .bool(try applyTest(name, v, args, loc) != negated)
    case .unary(let op, let operand, let loc):
      let v = try evaluate(operand)
      switch op {
      case "not": return .bool(!v.truthy)
      case "-":
        switch v {
        case .int(let i): return .int(-i)
        case .double(let d): return .double(-d)
        case .bool(let b): return .int(b ? -1 : 0)
        default: throw Self.fail(undefinedOr(v, "bad operand type for unary -: '\(v.typeName)'"), loc)
        }
      default:
        guard v.number != nil else {
          throw Self.fail(undefinedOr(v, "bad operand type for unary +: '\(v.typeName)'"), loc)
        }
        return v
      }
    case .binary(let op, let lhs, let rhs, let loc):
      if op == "and" {
        let l = try evaluate(lhs)
        return l.truthy ? try evaluate(rhs) : l
      }
      if op == "or" {
        let l = try evaluate(lhs)
        return l.truthy ? l : try evaluate(rhs)
      }
      return try binary(op, try evaluate(lhs), try evaluate(rhs), loc)
    case .compare(let first, let rest, let loc):
      var left = try evaluate(first)
      for (op, e) in rest {
        let right = try evaluate(e)
        guard try compare(op, left, right, loc) else { return .bool(false) }
        left = right
      }
      return .bool(true)
    case .conditional(let then, let condition, let otherwise):
      if try evaluate(condition).truthy { return try evaluate(then) }
      guard let otherwise else { return .undefined("the inline if-expression evaluated to false") }
      return try evaluate(otherwise)
    }
  }

  /// The message for an operation on Undefined (its own hint), else `message`.
  func undefinedOr(_ v: Value, _ message: String) -> String {
    if case .undefined(let hint) = v { return hint }
    return message
  }

  func attribute(_ v: Value, _ name: String, _ loc: Location) throws(ChatTemplateError) -> Value {
    switch v {
    case .undefined(let hint): throw Self.fail(hint, loc)
    case .dict(let d):
      if Self.dictMethods.contains(name) { return .method(v, name) }
      return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
    case .string:
      if Self.stringMethods.contains(name) { return .method(v, name) }
    case .namespace(let ns):
      return ns.values[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
    default: break
    }
    return .undefined("\(Value.pythonQuoted(v.objectDescription)) has no attribute '\(name)'")
  }

  func item(_ v: Value, _ key: Value, _ loc: Location) throws(ChatTemplateError) -> Value {
    switch (v, key) {
    case (.undefined(let hint), _): throw Self.fail(hint, loc)
    case (.dict(let d), .string(let k)):
      if let found = d[k] { return found }
    case (.list(let a), _), (.tuple(let a), _):
      if let i = key.integer {
        let j = i < 0 ? a.count + i : i
        if j >= 0 && j < a.count { return a[j] }
        return .undefined("\(Value.pythonQuoted(v.objectDescription)) has no element \(i)")
      }
    case (.string(let s), _):
      if let i = key.integer {
        let scalars = Array(s.unicodeScalars)
        let j = i < 0 ? scalars.count + i : i
        if j >= 0 && j < scalars.count { return .string(String(scalars[j])) }
        return .undefined("'str object' has no element \(i)")
      }
    case (.namespace, _): break
    default: break
    }
    if case .string(let name) = key { return try attribute(v, name, loc) }
    return .undefined("\(Value.pythonQuoted(v.objectDescription)) has no element \(key.repr)")
  }

  func slice(_ v: Value, _ start: Int?, _ stop: Int?, _ step: Int?, _ loc: Location) throws(ChatTemplateError)
    -> Value
  {
    let step = step ?? 1
    guard step != 0 else { throw Self.fail("slice step cannot be zero", loc) }
    func indices(_ count: Int) -> [Int] {
      func clamp(_ x: Int?, _ defaultValue: Int) -> Int {
        guard var x else { return defaultValue }
        if x < 0 { x += count }
        return step > 0 ? min(max(x, 0), count) : min(max(x, -1), count - 1)
      }
      let lo = clamp(start, step > 0 ? 0 : count - 1)
      let hi = clamp(stop, step > 0 ? count : -1)
      return Array(stride(from: lo, to: hi, by: step))
    }
    switch v {
    case .undefined(let hint): throw Self.fail(hint, loc)
    case .list(let a): return .list(indices(a.count).map { a[$0] })
    case .tuple(let a): return .tuple(indices(a.count).map { a[$0] })
    case .string(let s):
      let scalars = Array(s.unicodeScalars)
      var out = String.UnicodeScalarView()
      for i in indices(scalars.count) { out.append(scalars[i]) }
      return .string(String(out))
    default: throw Self.fail("'\(v.typeName)' object is not subscriptable", loc)
    }
  }

  func binary(_ op: String, _ l: Value, _ r: Value, _ loc: Location) throws(ChatTemplateError) -> Value {
    if op == "~" { return .string(l.str + r.str) }
    for v in [l, r] { if case .undefined(let hint) = v { throw Self.fail(hint, loc) } }
    let typeError = Self.fail(
      "unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'", loc)
    switch (op, l, r) {
    case ("+", .string(let a), .string(let b)): return .string(a + b)
    case ("+", .string, _): throw Self.fail("can only concatenate str (not \"\(r.typeName)\") to str", loc)
    case ("+", .list(let a), .list(let b)): return .list(a + b)
    case ("+", .tuple(let a), .tuple(let b)): return .tuple(a + b)
    case ("*", .string(let s), _), ("*", _, .string(let s)):
      guard let n = (l.integer ?? r.integer) else { throw typeError }
      return .string(String(repeating: s, count: max(n, 0)))
    case ("*", .list(let a), _):
      guard let n = r.integer else { throw typeError }
      return .list(Array(repeatElement(a, count: max(n, 0)).joined()))
    case ("%", .string, _):
      throw Self.fail("unsupported string formatting with '%'", loc, .unsupported)
    default: break
    }
    if let a = l.integer, let b = r.integer {
      switch op {
      case "+": return .int(a &+ b)
      case "-": return .int(a &- b)
      case "*": return .int(a &* b)
      case "/":
        guard b != 0 else { throw Self.fail("division by zero", loc) }
        return .double(Double(a) / Double(b))
      case "//", "%":
        guard b != 0 else { throw Self.fail("integer division or modulo by zero", loc) }
        var q = a / b
        if (a % b != 0) && ((a < 0) != (b < 0)) { q -= 1 }
        return .int(op == "//" ? q : a - q * b)
      case "**":
        if b >= 0 {
          var result = 1
          for _ in 0..<b { result = result &* a }
          return .int(result)
        }
        return .double(pow(Double(a), Double(b)))
      default: break
      }
    }
    guard let a = l.number, let b = r.number else { throw typeError }
    switch op {
    case "+": return .double(a + b)
    case "-": return .double(a - b)
    case "*": return .double(a * b)
    case "/":
      guard b != 0 else { throw Self.fail("float division by zero", loc) }
      return .double(a / b)
    case "//":
      guard b != 0 else { throw Self.fail("float divmod()", loc) }
      return .double((a / b).rounded(.down))
    case "%":
      guard b != 0 else { throw Self.fail("float modulo", loc) }
      let m = a.truncatingRemainder(dividingBy: b)
      return .double(m != 0 && (m < 0) != (b < 0) ? m + b : m)
    case "**": return .double(pow(a, b))
    default: throw typeError
    }
  }

  func compare(_ op: String, _ l: Value, _ r: Value, _ loc: Location) throws(ChatTemplateError) -> Bool {
    switch op {
    case "==": return Value.equal(l, r)
    case "!=": return !Value.equal(l, r)
    case "in", "notin":
      let found: Bool
      switch r {
      case .string(let s):
        guard case .string(let needle) = l else {
          throw Self.fail("'in <string>' requires string as left operand, not \(l.typeName)", loc)
        }
        found = needle.isEmpty || s.contains(needle)
      case .list(let a), .tuple(let a): found = a.contains { Value.equal($0, l) }
      case .dict(let d):
        if case .string(let k) = l { found = d[k] != nil } else { found = false }
      case .undefined(let hint): throw Self.fail(hint, loc)
      default: throw Self.fail("argument of type '\(r.typeName)' is not iterable", loc)
      }
      return op == "in" ? found : !found
    default:
      let ordering: Int
      if let a = l.number, let b = r.number {
        ordering = a < b ? -1 : a > b ? 1 : 0
      } else if case .string(let a) = l, case .string(let b) = r {
        let x = Array(a.unicodeScalars.map(\.value))
        let y = Array(b.unicodeScalars.map(\.value))
        ordering = x == y ? 0 : x.lexicographicallyPrecedes(y) ? -1 : 1
      } else {
        for v in [l, r] { if case .undefined(let hint) = v { throw Self.fail(hint, loc) } }
        let symbol = op
        throw Self.fail(
          "'\(symbol)' not supported between instances of '\(l.typeName)' and '\(r.typeName)'", loc)
      }
      switch op {
      case "<": return ordering < 0
      case ">": return ordering > 0
      case "<=": return ordering <= 0
      default: return ordering >= 0
      }
    }
  }
}

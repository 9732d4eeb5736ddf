indirect enum Expr: Sendable {
  case literal(Value)
  case name(String, Location)
  case list([Expr])
  case tuple([Expr])
  case dict([(Expr, Expr)], Location)
  case attribute(Expr, String, Location)
  case `subscript`(Expr, Expr, Location)
  case slice(Expr, Expr?, Expr?, Expr?, Location)
  case call(Expr, [Expr], [(String, Expr)], Location)
  case filter(Expr, String, [Expr], [(String, Expr)], Location)
  case test(Expr, String, negated: Bool, [Expr], Location)
  case unary(String, Expr, Location)
  case binary(String, Expr, Expr, Location)
  case compare(Expr, [(String, Expr)], Location)
  case conditional(then: Expr, condition: Expr, otherwise: Expr?)
}

enum AssignTarget: Sendable {
  case names([String])
  case attribute(String, String, Location)
}

indirect enum Node: Sendable {
  case text(String)
  case output(Expr)
  case conditional([(Expr, [Node])], otherwise: [Node])
  case loop(targets: [String], iterable: Expr, filter: Expr?, body: [Node], otherwise: [Node], Location)
  case assign(AssignTarget, Expr, Location)
  case assignBlock(String, [Node])
  case macro(name: String, parameters: [(String, Expr?)], body: [Node])
  case breakLoop, continueLoop
}

/// The filters, tests and tags this subset implements; anything else is reported at parse time.
enum Builtins {
  static let filters: Set<String> = [
    "trim", "upper", "lower", "length", "count", "tojson", "default", "d", "replace", "join", "first",
    "last", "capitalize", "title", "string", "int", "float", "items", "list", "selectattr", "rejectattr",
    "map", "abs", "reverse", "safe", "unique", "sort", "dictsort", "sum", "min", "max", "round",
  ]
  static let tests: Set<String> = [
    "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false",
    "mapping", "iterable", "sequence", "callable", "odd", "even", "divisibleby", "equalto", "eq", "ne",
    "lower", "upper", "in", "sameas",
  ]
}

/// A recursive-descent parser with jinja2's grammar and operator precedence.
struct Parser {
  let tokens: [Token]
  var index = 0

  init(tokens: [Token]) { self.tokens = tokens }

  var current: Token { tokens[index] }
  mutating func advance() -> Token {
    let t = tokens[index]
    if index < tokens.count - 1 { index += 1 }
    return t
  }

  func error(_ message: String, _ loc: Location? = nil, _ kind: ChatTemplateError.Kind = .syntax)
    -> ChatTemplateError
  {
    let l = loc ?? current.location
    return ChatTemplateError(kind, message, line: l.line, column: l.column)
  }

  func describe(_ kind: TokenKind) -> String {
    switch kind {
    case .text: return "text"
    case .variableBegin: return "'{{'"
    case .variableEnd: return "'}}'"
    case .blockBegin: return "'{%'"
    case .blockEnd: return "'%}'"
    case .name(let n): return "'\(n)'"
    case .string: return "a string"
    case .integer, .float: return "a number"
    case .op(let o): return "'\(o)'"
    case .end: return "the end of the template"
    }
  }

  func isOp(_ op: String) -> Bool { current.kind == .op(op) }
  func isName(_ name: String) -> Bool { current.kind == .name(name) }

  mutating func skipOp(_ op: String) -> Bool {
    guard isOp(op) else { return false }
    _ = advance()
    return true
  }
  mutating func skipName(_ name: String) -> Bool {
    guard isName(name) else { return false }
    _ = advance()
    return true
  }

  mutating func expect(_ kind: TokenKind) throws(ChatTemplateError) {
    guard current.kind == kind else {
      throw error("expected \(describe(kind)), found \(describe(current.kind))")
    }
    _ = advance()
  }

  mutating func expectName() throws(ChatTemplateError) -> String {
    guard case .name(let n) = current.kind else {
      throw error("expected a name, found \(describe(current.kind))")
    }
    _ = advance()
    return n
  }

  // MARK: Statements

  mutating func parseTemplate() throws(ChatTemplateError) -> [Node] {
    let (body, _) = try parseBody(until: [])
    return body
  }

  /// Parses nodes until a `{% name` with `name` in `until` (consumed, returned) or the end.
  mutating func parseBody(until: Set<String>) throws(ChatTemplateError) -> ([Node], String?) {
    var nodes: [Node] = []
    while true {
      let token = current
      switch token.kind {
      case .end:
        if !until.isEmpty {
          let names = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
          throw error("unexpected end of template, expected \(names)")
        }
        return (nodes, nil)
      case .text(let s):
        _ = advance()
        nodes.append(.text(s))
      case .variableBegin:
        _ = advance()
        let expr = try parseTuple(withCondexpr: true)
        try expect(.variableEnd)
        nodes.append(.output(expr))
      case .blockBegin:
        _ = advance()
        if case .name(let n) = current.kind, until.contains(n) {
          _ = advance()
          return (nodes, n)
        }
        nodes.append(try parseStatement())
      default:
        throw error("unexpected \(describe(token.kind))")
      }
    }
  }

  mutating func parseStatement() throws(ChatTemplateError) -> Node {
    let loc = current.location
    let tag = try expectName()
    switch tag {
    case "if":
      var branches: [(Expr, [Node])] = []
      var condition = try parseTuple(withCondexpr: false)
      while true {
        try expect(.blockEnd)
        let (body, end) = try parseBody(until: ["elif", "else", "endif"])
        branches.append((condition, body))
        if end == "elif" {
          condition = try parseTuple(withCondexpr: false)
          continue
        }
        var otherwise: [Node] = []
        if end == "else" {
          try expect(.blockEnd)
          (otherwise, _) = try parseBody(until: ["endif"])
        }
        try expect(.blockEnd)
        return .conditional(branches, otherwise: otherwise)
      }
    case "for":
      var targets = [try expectName()]
      while skipOp(",") { targets.append(try expectName()) }
      guard skipName("in") else { throw error("expected 'in' in for loop") }
      let iterable = try parseTuple(withCondexpr: false)
      var filter: Expr?
      if skipName("if") { filter = try parseExpression() }
      if isName("recursive") { throw error("unsupported for-loop option 'recursive'", nil, .unsupported) }
      try expect(.blockEnd)
      let (body, end) = try parseBody(until: ["endfor", "else"])
      var otherwise: [Node] = []
      if end == "else" {
        try expect(.blockEnd)
        (otherwise, _) = try parseBody(until: ["endfor"])
      }
      try expect(.blockEnd)
      return .loop(
        targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, loc)
    case "set":
      let first = try expectName()
      var target = AssignTarget.names([first])
      if isOp(".") {
        _ = advance()
        let attrLoc = current.location
        target = .attribute(first, try expectName(), attrLoc)
      } else if isOp(",") {
        var names = [first]
        while skipOp(",") { names.append(try expectName()) }
        target = .names(names)
      }
      if skipOp("=") {
        let value = try parseTuple(withCondexpr: true)
        try expect(.blockEnd)
        return .assign(target, value, loc)
      }
      guard case .names(let names) = target, names.count == 1 else {
        throw error("expected '=' in set")
      }
      if isOp("|") { throw error("unsupported filtered block set", nil, .unsupported) }
      try expect(.blockEnd)
      let (body, _) = try parseBody(until: ["endset"])
      try expect(.blockEnd)
      return .assignBlock(first, body)
    case "macro":
      let name = try expectName()
      try expect(.op("("))
      var parameters: [(String, Expr?)] = []
      while !isOp(")") {
        if !parameters.isEmpty { try expect(.op(",")) }
        if isOp(")") { break }
        let p = try expectName()
        parameters.append((p, skipOp("=") ? try parseExpression() : nil))
      }
      try expect(.op(")"))
      try expect(.blockEnd)
      let (body, _) = try parseBody(until: ["endmacro"])
      if case .name = current.kind { _ = advance() }
      try expect(.blockEnd)
      return .macro(name: name, parameters: parameters, body: body)
    case "break", "continue":
      try expect(.blockEnd)
      return tag == "break" ? .breakLoop : .continueLoop
    case "generation":
      // transformers' AssistantTracker: renders its body unchanged.
      try expect(.blockEnd)
      let (body, _) = try parseBody(until: ["endgeneration"])
      try expect(.blockEnd)
      return .conditional([(.literal(.bool(true)), body)], otherwise: [])
    case "raw", "filter", "call", "include", "import", "from", "extends", "block", "with", "do",
      "autoescape", "trans":
      throw error("unsupported tag '\(tag)'", loc, .unsupported)
    default:
      throw error("unknown tag '\(tag)'", loc)
    }
  }

  // MARK: Expressions

  mutating func parseTuple(withCondexpr: Bool) throws(ChatTemplateError) -> Expr {
    let first = withCondexpr ? try parseExpression() : try parseOr()
    guard isOp(",") else { return first }
    var items = [first]
    while skipOp(",") {
      if case .blockEnd = current.kind { break }
      if case .variableEnd = current.kind { break }
      items.append(withCondexpr ? try parseExpression() : try parseOr())
    }
    return .tuple(items)
  }

  mutating func parseExpression() throws(ChatTemplateError) -> Expr {
    var expr = try parseOr()
    while skipName("if") {
      let condition = try parseOr()
      let otherwise = skipName("else") ? try parseExpression() : nil
      expr = .conditional(then: expr, condition: condition, otherwise: otherwise)
    }
    return expr
  }

  mutating func parseOr() throws(ChatTemplateError) -> Expr {
    var left = try parseAnd()
    while isName("or") {
      let loc = advance().location
      left = .binary("or", left, try parseAnd(), loc)
    }
    return left
  }

  mutating func parseAnd() throws(ChatTemplateError) -> Expr {
    var left = try parseNot()
    while isName("and") {
      let loc = advance().location
      left = .binary("and", left, try parseNot(), loc)
    }
    return left
  }

  mutating func parseNot() throws(ChatTemplateError) -> Expr {
    if isName("not") {
      let loc = advance().location
      return .unary("not", try parseNot(), loc)
    }
    return try parseCompare()
  }

  mutating func parseCompare() throws(ChatTemplateError) -> Expr {
    let loc = current.location
    let left = try parseMath1()
    var ops: [(String, Expr)] = []
    while true {
      if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
        _ = advance()
        ops.append((o, try parseMath1()))
      } else if isName("in") {
        _ = advance()
        ops.append(("in", try parseMath1()))
      } else if isName("not"), index + 1 < tokens.count, tokens[index + 1].kind == .name("in") {
        _ = advance()
        _ = advance()
        ops.append(("notin", try parseMath1()))
      } else {
        break
      }
    }
    return ops.isEmpty ? left : .compare(left, ops, loc)
  }

  mutating func parseMath1() throws(ChatTemplateError) -> Expr {
    var left = try parseConcat()
    while case .op(let o) = current.kind, o == "+" || o == "-" {
      let loc = advance().location
      left = .binary(o, left, try parseConcat(), loc)
    }
    return left
  }

  mutating func parseConcat() throws(ChatTemplateError) -> Expr {
    var left = try parseMath2()
    while isOp("~") {
      let loc = advance().location
      left = .binary("~", left, try parseMath2(), loc)
    }
    return left
  }

  mutating func parseMath2() throws(ChatTemplateError) -> Expr {
    var left = try parsePow()
    while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
      let loc = advance().location
      left = .binary(o, left, try parsePow(), loc)
    }
    return left
  }

  mutating func parsePow() throws(ChatTemplateError) -> Expr {
    var left = try parseUnary(withFilter: true)
    while isOp("**") {
      let loc = advance().location
      left = .binary("**", left, try parseUnary(withFilter: true), loc)
    }
    return left
  }

  mutating func parseUnary(withFilter: Bool) throws(ChatTemplateError) -> Expr {
    var node: Expr
    if case .op(let o) = current.kind, o == "-" || o == "+" {
      let loc = advance().location
      node = .unary(o, try parseUnary(withFilter: false), loc)
    } else {
      node = try parsePrimary()
    }
    node = try parsePostfix(node)
    return withFilter ? try parseFilterExpr(node) : node
  }

  mutating func parsePrimary() throws(ChatTemplateError) -> Expr {
    let token = advance()
    switch token.kind {
    case .name(let n):
      switch n {
      case "true", "True": return .literal(.bool(true))
      case "false", "False": return .literal(.bool(false))
      case "none", "None": return .literal(.none)
      default: return .name(n, token.location)
      }
    case .string(var s):
      while case .string(let more) = current.kind {
        s += more
        _ = advance()
      }
      return .literal(.string(s))
    case .integer(let i): return .literal(.int(i))
    case .float(let d): return .literal(.double(d))
    case .op("("):
      if skipOp(")") { return .tuple([]) }
      let first = try parseExpression()
      if isOp(",") {
        var items = [first]
        while skipOp(",") {
          if isOp(")") { break }
          items.append(try parseExpression())
        }
        try expect(.op(")"))
        return .tuple(items)
      }
      try expect(.op(")"))
      return first
    case .op("["):
      var items: [Expr] = []
      while !isOp("]") {
        if !items.isEmpty { try expect(.op(",")) }
        if isOp("]") { break }
        items.append(try parseExpression())
      }
      try expect(.op("]"))
      return .list(items)
    case .op("{"):
      var items: [(Expr, Expr)] = []
      while !isOp("}") {
        if !items.isEmpty { try expect(.op(",")) }
        if isOp("}") { break }
        let key = try parseExpression()
        try expect(.op(":"))
        items.append((key, try parseExpression()))
      }
      try expect(.op("}"))
      return .dict(items, token.location)
    default:
      throw error("unexpected \(describe(token.kind))", token.location)
    }
  }

  mutating func parsePostfix(_ start: Expr) throws(ChatTemplateError) -> Expr {
    var node = start
    while true {
      if isOp(".") {
        _ = advance()
        let loc = current.location
        if case .integer(let i) = current.kind {
          _ = advance()
          node = .subscript(node, .literal(.int(i)), loc)
        } else {
          node = .attribute(node, try expectName(), loc)
        }
      } else if isOp("[") {
        let loc = advance().location
        node = try parseSubscript(node, loc)
      } else if isOp("(") {
        node = try parseCall(node)
      } else {
        return node
      }
    }
  }

  mutating func parseSubscript(_ target: Expr, _ loc: Location) throws(ChatTemplateError) -> Expr {
    var parts: [Expr?] = []
    var current: Expr? = nil
    var sawColon = false
    while !isOp("]") {
      if skipOp(":") {
        parts.append(current)
        current = nil
        sawColon = true
      } else {
        guard current == nil else { throw error("expected ']'") }
        current = try parseExpression()
      }
    }
    _ = advance()
    if !sawColon {
      guard let key = current else { throw error("empty subscript", loc) }
      return .subscript(target, key, loc)
    }
    parts.append(current)
    guard parts.count <= 3 else { throw error("invalid slice", loc) }
    while parts.count < 3 { parts.append(nil) }
    return .slice(target, parts[0], parts[1], parts[2], loc)
  }

  mutating func parseArguments() throws(ChatTemplateError) -> ([Expr], [(String, Expr)]) {
    try expect(.op("("))
    var args: [Expr] = []
    var kwargs: [(String, Expr)] = []
    while !isOp(")") {
      if !(args.isEmpty && kwargs.isEmpty) { try expect(.op(",")) }
      if isOp(")") { break }
      if isOp("*") || isOp("**") { throw error("unsupported argument unpacking", nil, .unsupported) }
      if case .name(let n) = current.kind, index + 1 < tokens.count, tokens[index + 1].kind == .op("=") {
        _ = advance()
        _ = advance()
        kwargs.append((n, try parseExpression()))
      } else {
        args.append(try parseExpression())
      }
    }
    try expect(.op(")"))
    return (args, kwargs)
  }

  mutating func parseCall(_ callee: Expr) throws(ChatTemplateError) -> Expr {
    let loc = current.location
    let (args, kwargs) = try parseArguments()
    return .call(callee, args, kwargs, loc)
  }

  mutating func parseFilterExpr(_ start: Expr) throws(ChatTemplateError) -> Expr {
    var node = start
    while true {
      if isOp("|") {
        _ = advance()
        let loc = current.location
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        guard Builtins.filters.contains(name) else {
          throw error("unsupported filter '\(name)'", loc, .unsupported)
        }
        var (args, kwargs): ([Expr], [(String, Expr)]) = ([], [])
        if isOp("(") { (args, kwargs) = try parseArguments() }
        node = .filter(node, name, args, kwargs, loc)
      } else if isName("is") {
        _ = advance()
        let negated = skipName("not")
        let loc = current.location
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        guard Builtins.tests.contains(name) else {
          throw error("unsupported test '\(name)'", loc, .unsupported)
        }
        var args: [Expr] = []
        if isOp("(") {
          args = try parseArguments().0
        } else if startsTestArgument() {
          args = [try parsePostfix(try parsePrimary())]
        }
        node = .test(node, name, negated: negated, args, loc)
      } else if isOp("(") {
        node = try parseCall(node)
      } else {
        return node
      }
    }
  }

  /// jinja2 reads `x is divisibleby 3` / `x is equalto 'a'`: a bare argument after a test name.
  func startsTestArgument() -> Bool {
    switch current.kind {
    case .name(let n): return !["else", "or", "and"].contains(n)
    case .string, .integer, .float: return true
    case .op(let o): return o == "[" || o == "{"
    default: return false
    }
  }
}

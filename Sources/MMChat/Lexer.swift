/// A source position, 1-based line and column (in Unicode scalars).
struct Location: Hashable, Sendable {
  var line: Int
  var column: Int
}

enum TokenKind: Hashable, Sendable {
  case text(String)
  case variableBegin, variableEnd, blockBegin, blockEnd
  case name(String)
  case string(String)
  case integer(Int)
  case float(Double)
  case op(String)
  case end
}

struct Token: Sendable {
  var kind: TokenKind
  var location: Location
}

/// Splits template text into data and tag tokens the way jinja2's lexer does with
/// `trim_blocks=True, lstrip_blocks=True`: newlines normalized to `\n`, one trailing newline
/// dropped, `-` strips whitespace on its side, `+` keeps it.
struct Lexer {
  let chars: [Unicode.Scalar]
  var pos = 0
  var tokens: [Token] = []
  /// Line-start offsets, for locations.
  var lineStarts: [Int] = [0]

  init(source: String) {
    var scalars: [Unicode.Scalar] = []
    var iterator = source.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = iterator.next()
    while let c = pending {
      pending = iterator.next()
      if c == "\r" {
        scalars.append("\n")
        if pending == "\n" { pending = iterator.next() }
      } else {
        scalars.append(c)
      }
    }
    if scalars.last == "\n" { scalars.removeLast() }
    chars = scalars
    for (i, c) in chars.enumerated() where c == "\n" { lineStarts.append(i + 1) }
  }

  func location(_ offset: Int) -> Location {
    var lo = 0
    var hi = lineStarts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
    }
    return Location(line: lo + 1, column: offset - lineStarts[lo] + 1)
  }

  func error(_ message: String, at offset: Int) -> ChatTemplateError {
    let loc = location(offset)
    return ChatTemplateError(.syntax, message, line: loc.line, column: loc.column)
  }

  func at(_ offset: Int, _ text: String) -> Bool {
    var i = offset
    for c in text.unicodeScalars {
      guard i < chars.count, chars[i] == c else { return false }
      i += 1
    }
    return true
  }

  static func isSpace(_ c: Unicode.Scalar) -> Bool {
    c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
  }

  mutating func tokenize() throws(ChatTemplateError) -> [Token] {
    while pos < chars.count {
      var tagStart = pos
      var kind: Character = " "
      while tagStart + 1 < chars.count {
        if chars[tagStart] == "{", ["{", "%", "#"].contains(chars[tagStart + 1]) {
          kind = Character(chars[tagStart + 1])
          break
        }
        tagStart += 1
      }
      if kind == " " {
        emitText(pos, chars.count)
        pos = chars.count
        break
      }
      let sign: Unicode.Scalar? =
        tagStart + 2 < chars.count && (chars[tagStart + 2] == "-" || chars[tagStart + 2] == "+")
        ? chars[tagStart + 2] : nil
      var textEnd = tagStart
      if sign == "-" {
        while textEnd > pos, Self.isSpace(chars[textEnd - 1]) { textEnd -= 1 }
      } else if sign != "+" && kind != "{" {
        var lineStart = textEnd
        while lineStart > pos, chars[lineStart - 1] != "\n" { lineStart -= 1 }
        let lineStarting = lineStart > pos || pos == 0 || chars[pos - 1] == "\n"
        if lineStarting, lineStart < textEnd, chars[lineStart..<textEnd].allSatisfy(Self.isSpace) {
          textEnd = lineStart
        }
      }
      emitText(pos, textEnd)
      pos = tagStart + 2 + (sign == nil ? 0 : 1)
      switch kind {
      case "#":
        var end = pos
        while end + 1 < chars.count, !(chars[end] == "#" && chars[end + 1] == "}") { end += 1 }
        guard end + 1 < chars.count else { throw error("unclosed comment", at: tagStart) }
        let stripAfter = end > pos && chars[end - 1] == "-"
        let keep = end > pos && chars[end - 1] == "+"
        pos = end + 2
        finishTag(stripAfter: stripAfter, trimNewline: !keep)
      case "%":
        tokens.append(Token(kind: .blockBegin, location: location(tagStart)))
        try lexInside(block: true, opened: tagStart)
      default:
        tokens.append(Token(kind: .variableBegin, location: location(tagStart)))
        try lexInside(block: false, opened: tagStart)
      }
    }
    tokens.append(Token(kind: .end, location: location(chars.count)))
    return tokens
  }

  mutating func emitText(_ start: Int, _ end: Int) {
    guard start < end else { return }
    var s = String.UnicodeScalarView()
    s.append(contentsOf: chars[start..<end])
    tokens.append(Token(kind: .text(String(s)), location: location(start)))
  }

  mutating func finishTag(stripAfter: Bool, trimNewline: Bool) {
    if stripAfter {
      while pos < chars.count, Self.isSpace(chars[pos]) { pos += 1 }
    } else if trimNewline, pos < chars.count, chars[pos] == "\n" {
      pos += 1
    }
  }

  static let operators = [
    "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ",", ":",
    "|", "(", ")", "[", "]", "{", "}",
  ]

  mutating func lexInside(block: Bool, opened: Int) throws(ChatTemplateError) {
    var depth = 0
    let close = block ? "%}" : "}}"
    while true {
      while pos < chars.count, Self.isSpace(chars[pos]) { pos += 1 }
      guard pos < chars.count else {
        throw error(block ? "unclosed block tag '{%'" : "unclosed expression '{{'", at: opened)
      }
      let start = pos
      let c = chars[pos]
      if depth == 0 {
        if at(pos, "-" + close) {
          pos += 3
          tokens.append(Token(kind: block ? .blockEnd : .variableEnd, location: location(start)))
          finishTag(stripAfter: true, trimNewline: false)
          return
        }
        if block && at(pos, "+%}") {
          pos += 3
          tokens.append(Token(kind: .blockEnd, location: location(start)))
          return
        }
        if at(pos, close) {
          pos += 2
          tokens.append(Token(kind: block ? .blockEnd : .variableEnd, location: location(start)))
          finishTag(stripAfter: false, trimNewline: block)
          return
        }
      }
      if c == "_" || c.properties.isAlphabetic && c.isASCII {
        while pos < chars.count,
          chars[pos] == "_" || (chars[pos].isASCII && chars[pos].properties.isAlphabetic)
            || ("0"..."9").contains(chars[pos])
        {
          pos += 1
        }
        tokens.append(Token(kind: .name(string(start, pos)), location: location(start)))
      } else if ("0"..."9").contains(c) {
        try lexNumber(start)
      } else if c == "'" || c == "\"" {
        try lexString(start)
      } else if let op = Self.operators.first(where: { at(pos, $0) }) {
        pos += op.unicodeScalars.count
        if op == "(" || op == "[" || op == "{" { depth += 1 }
        if op == ")" || op == "]" || op == "}" { depth -= 1 }
        tokens.append(Token(kind: .op(op), location: location(start)))
      } else {
        throw error("unexpected character '\(c)'", at: start)
      }
    }
  }

  func string(_ start: Int, _ end: Int) -> String {
    var s = String.UnicodeScalarView()
    s.append(contentsOf: chars[start..<end])
    return String(s)
  }

  mutating func lexNumber(_ start: Int) throws(ChatTemplateError) {
    func digits() {
      while pos < chars.count, ("0"..."9").contains(chars[pos]) || chars[pos] == "_" { pos += 1 }
    }
    digits()
    var isFloat = false
    if pos + 1 < chars.count, chars[pos] == ".", ("0"..."9").contains(chars[pos + 1]) {
      isFloat = true
      pos += 1
      digits()
    }
    if pos < chars.count, chars[pos] == "e" || chars[pos] == "E" {
      var p = pos + 1
      if p < chars.count, chars[p] == "+" || chars[p] == "-" { p += 1 }
      if p < chars.count, ("0"..."9").contains(chars[p]) {
        isFloat = true
        pos = p
        digits()
      }
    }
    let text = string(start, pos).replacingOccurrences(of: "_", with: "")
    if isFloat, let d = Double(text) {
      tokens.append(Token(kind: .float(d), location: location(start)))
    } else if let i = Int(text) {
      tokens.append(Token(kind: .integer(i), location: location(start)))
    } else {
      throw error("invalid number '\(text)'", at: start)
    }
  }

  mutating func lexString(_ start: Int) throws(ChatTemplateError) {
    let quote = chars[pos]
    pos += 1
    var out = String.UnicodeScalarView()
    while true {
      guard pos < chars.count else { throw error("unterminated string", at: start) }
      let c = chars[pos]
      pos += 1
      if c == quote { break }
      guard c == "\\" else {
        out.append(c)
        continue
      }
      guard pos < chars.count else { throw error("unterminated string", at: start) }
      let e = chars[pos]
      pos += 1
      switch e {
      case "n": out.append("\n")
      case "t": out.append("\t")
      case "r": out.append("\r")
      case "\\", "'", "\"": out.append(e)
      case "\n": break
      case "0": out.append("\0")
      case "a": out.append("\u{07}")
      case "b": out.append("\u{08}")
      case "f": out.append("\u{0C}")
      case "v": out.append("\u{0B}")
      case "x", "u", "U":
        let count = e == "x" ? 2 : e == "u" ? 4 : 8
        guard pos + count <= chars.count, let v = UInt32(string(pos, pos + count), radix: 16),
          let scalar = Unicode.Scalar(v)
        else { throw error("invalid escape in string", at: pos - 2) }
        out.append(scalar)
        pos += count
      default:
        out.append("\\")
        out.append(e)
      }
    }
    tokens.append(Token(kind: .string(String(out)), location: location(start)))
  }
}

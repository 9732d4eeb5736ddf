import MMCore

// The text form of port and option types, as written in graph files and printed by the catalog.
//
//     any | tensor[<dtype>][[dims]] | audio[<rate[, channels]>] | image | video | pointcloud
//     | text | tokens | embedding[<space[, dimension][, form]>] | json | stream<type>
//
// `_` in any parameter position is a wildcard: `audio<_, 1>`, `tensor[_, 768]`. Missing trailing
// parameters are wildcards too. Dimensions are integers or symbols (`n`, `tokens`).

extension PortType: CustomStringConvertible {
  /// Parses the text form: `tensor<f32>[n, 768]`, `audio<16000, 1>`, `stream<image>`.
  public init(parsing text: String) throws(TypeSyntaxError) {
    var scanner = TypeScanner(text)
    self = try scanner.portType()
    try scanner.end()
  }

  /// The canonical text form; `PortType(parsing: t.description) == t`.
  public var description: String {
    switch self {
    case .any: return "any"
    case .tensor(let dtype, let shape):
      var out = "tensor"
      if let dtype { out += "<\(dtype.name)>" }
      if let shape { out += "[" + shape.map(\.description).joined(separator: ", ") + "]" }
      return out
    case .audio(let rate, let channels):
      return "audio" + parameters([rate.map(String.init), channels.map(String.init)])
    case .image: return "image"
    case .video: return "video"
    case .pointCloud: return "pointcloud"
    case .text: return "text"
    case .tokens: return "tokens"
    case .embedding(let space, let dimension, let form):
      return "embedding" + parameters([space, dimension.map(String.init), form?.rawValue])
    case .json: return "json"
    case .stream(let element): return "stream<\(element)>"
    }
  }
}

/// `<a, b>` with `_` for missing parameters and trailing missing ones dropped.
private func parameters(_ values: [String?]) -> String {
  guard let last = values.lastIndex(where: { $0 != nil }) else { return "" }
  return "<" + values[...last].map { $0 ?? "_" }.joined(separator: ", ") + ">"
}

extension OptionType: CustomStringConvertible {
  /// Parses `bool`, `int`, `int<0, 10>`, `float`, `string`, `path`, `json`, `choice<a, b>`, `list<T>`.
  public init(parsing text: String) throws(TypeSyntaxError) {
    var scanner = TypeScanner(text)
    self = try scanner.optionType()
    try scanner.end()
  }

  public var description: String {
    switch self {
    case .bool: return "bool"
    case .int(let range): return range.map { "int<\($0.lowerBound), \($0.upperBound)>" } ?? "int"
    case .float: return "float"
    case .string: return "string"
    case .path: return "path"
    case .choice(let names): return "choice<" + names.joined(separator: ", ") + ">"
    case .list(let element): return "list<\(element)>"
    case .json: return "json"
    }
  }
}

/// A type written wrongly: which text, where (column from 1), what was expected and found.
public struct TypeSyntaxError: Error, Sendable, CustomStringConvertible {
  public var text: String
  public var column: Int
  public var expected: String
  public var found: String
  public var description: String {
    "type '\(text)' at column \(column): expected \(expected), found \(found)"
  }
}

/// Tokens of type text: words (`f32`, `n`, `clip-vit.b32`), integers and punctuation.
private struct TypeScanner {
  let text: String
  let characters: [Character]
  var index = 0

  init(_ text: String) {
    self.text = text
    characters = Array(text)
  }

  static let portKinds = [
    "any", "tensor", "audio", "image", "video", "pointcloud", "text", "tokens", "embedding", "json", "stream",
  ]
  static let optionKinds = ["bool", "int", "float", "string", "path", "json", "choice", "list"]

  mutating func skipSpaces() {
    while index < characters.count, characters[index] == " " { index += 1 }
  }

  func failure(_ expected: String, at start: Int? = nil) -> TypeSyntaxError {
    let start = start ?? index
    let found: String
    if start >= characters.count {
      found = "the end"
    } else if let word = word(at: start), !word.isEmpty {
      found = "'\(word)'"
    } else {
      found = "'\(characters[start])'"
    }
    return TypeSyntaxError(text: text, column: start + 1, expected: expected, found: found)
  }

  static func isWordCharacter(_ c: Character) -> Bool {
    c.isLetter || c.isNumber || c == "_" || c == "-" || c == "."
  }

  func word(at start: Int) -> String? {
    var end = start
    while end < characters.count, Self.isWordCharacter(characters[end]) { end += 1 }
    return String(characters[start..<end])
  }

  /// The next word (letters, digits, `_ - .`), or nil without consuming anything.
  mutating func nextWord() -> String? {
    skipSpaces()
    guard let word = word(at: index), !word.isEmpty else { return nil }
    index += word.count
    return word
  }

  mutating func take(_ c: Character) -> Bool {
    skipSpaces()
    guard index < characters.count, characters[index] == c else { return false }
    index += 1
    return true
  }

  mutating func expect(_ c: Character) throws(TypeSyntaxError) {
    guard take(c) else { throw failure("'\(c)'") }
  }

  mutating func end() throws(TypeSyntaxError) {
    skipSpaces()
    guard index == characters.count else { throw failure("the end of the type") }
  }

  /// A word; `_` gives nil (wildcard). `what` names it for messages.
  mutating func parameter(_ what: String) throws(TypeSyntaxError) -> String? {
    skipSpaces()
    let start = index
    guard let word = nextWord() else { throw failure(what, at: start) }
    return word == "_" ? nil : word
  }

  /// A positive integer parameter or `_`.
  mutating func integer(_ what: String, minimum: Int = 1) throws(TypeSyntaxError) -> Int? {
    skipSpaces()
    let start = index
    guard let word = try parameter(what) else { return nil }
    guard let value = Int(word), value >= minimum else { throw failure(what, at: start) }
    return value
  }

  mutating func portType() throws(TypeSyntaxError) -> PortType {
    skipSpaces()
    let start = index
    let kinds = Self.portKinds.joined(separator: ", ")
    guard let kind = nextWord() else { throw failure("a port type (\(kinds))") }
    switch kind {
    case "any": return .any
    case "image": return .image
    case "video": return .video
    case "pointcloud": return .pointCloud
    case "text": return .text
    case "tokens": return .tokens
    case "json": return .json
    case "stream":
      try expect("<")
      let element = try portType()
      try expect(">")
      return .stream(element)
    case "tensor":
      var dtype: DType?
      if take("<") {
        skipSpaces()
        let at = index
        if let name = try parameter("a dtype") {
          guard let parsed = DType(rawValue: name.uppercased()) else {
            let names = DType.allCases.map(\.name).joined(separator: ", ")
            throw failure("a dtype (\(names))", at: at)
          }
          dtype = parsed
        }
        try expect(">")
      }
      var shape: [Dimension]?
      if take("[") { shape = try dimensions() }
      return .tensor(dtype: dtype, shape: shape)
    case "audio":
      var rate: Int?
      var channels: Int?
      if take("<") {
        rate = try integer("a sample rate (a positive integer or _)")
        if take(",") { channels = try integer("a channel count (a positive integer or _)") }
        try expect(">")
      }
      return .audio(sampleRate: rate, channels: channels)
    case "embedding":
      return try embedding()
    default:
      throw failure("a port type (\(kinds))", at: start)
    }
  }

  mutating func dimensions() throws(TypeSyntaxError) -> [Dimension] {
    var shape: [Dimension] = []
    if take("]") { return shape }
    repeat {
      skipSpaces()
      let start = index
      guard let word = nextWord() else { throw failure("a dimension (an integer, a name or _)") }
      if let size = Int(word) {
        guard size >= 0 else { throw failure("a dimension of at least 0", at: start) }
        shape.append(.fixed(size))
      } else if word.first.map({ $0.isLetter || $0 == "_" }) == true {
        shape.append(.symbol(word))
      } else {
        throw failure("a dimension (an integer, a name or _)", at: start)
      }
    } while take(",")
    try expect("]")
    return shape
  }

  /// `embedding<space>`, `<space, dim>`, `<space, dim, form>` or `<space, form>`.
  mutating func embedding() throws(TypeSyntaxError) -> PortType {
    guard take("<") else { return .embedding(space: nil, dimension: nil, form: nil) }
    let space = try parameter("an embedding space name or _")
    var dimension: Int?
    var form: EmbeddingForm?
    let forms = EmbeddingForm.allCases.map(\.rawValue).joined(separator: ", ")
    if take(",") {
      skipSpaces()
      let start = index
      let word = try parameter("a dimension, a form (\(forms)) or _")
      if let word, let parsed = EmbeddingForm(rawValue: word) {
        form = parsed
      } else {
        if let word {
          guard let size = Int(word), size > 0 else {
            throw failure("a dimension, a form (\(forms)) or _", at: start)
          }
          dimension = size
        }
        if take(",") {
          skipSpaces()
          let at = index
          if let name = try parameter("a form (\(forms)) or _") {
            guard let parsed = EmbeddingForm(rawValue: name) else {
              throw failure("a form (\(forms))", at: at)
            }
            form = parsed
          }
        }
      }
    }
    try expect(">")
    return .embedding(space: space, dimension: dimension, form: form)
  }

  mutating func optionType() throws(TypeSyntaxError) -> OptionType {
    skipSpaces()
    let start = index
    let kinds = Self.optionKinds.joined(separator: ", ")
    guard let kind = nextWord() else { throw failure("an option type (\(kinds))") }
    switch kind {
    case "bool": return .bool
    case "float": return .float
    case "string": return .string
    case "path": return .path
    case "json": return .json
    case "int":
      guard take("<") else { return .int(range: nil) }
      let low = try signedInteger("a lower bound")
      try expect(",")
      skipSpaces()
      let at = index
      let high = try signedInteger("an upper bound")
      guard low <= high else { throw failure("an upper bound of at least \(low)", at: at) }
      try expect(">")
      return .int(range: low...high)
    case "choice":
      try expect("<")
      var names: [String] = []
      repeat {
        guard let name = nextWord() else { throw failure("a choice name") }
        names.append(name)
      } while take(",")
      try expect(">")
      return .choice(names)
    case "list":
      try expect("<")
      let element = try optionType()
      try expect(">")
      return .list(element)
    default:
      throw failure("an option type (\(kinds))", at: start)
    }
  }

  mutating func signedInteger(_ what: String) throws(TypeSyntaxError) -> Int {
    skipSpaces()
    let start = index
    let negative = take("-")
    guard let word = nextWord(), let value = Int(word) else {
      throw failure("\(what) (an integer)", at: start)
    }
    return negative ? -value : value
  }
}

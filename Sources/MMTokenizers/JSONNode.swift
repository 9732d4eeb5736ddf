import MMCore

/// The text of a JSON file and its name, for messages that say where a value was written.
///
/// Documents are parsed without location tables (a tokenizer.json holds a few hundred thousand
/// values); an error re-parses the text with locations to find the line and column of its
/// pointer, which costs only on the failure path.
struct JSONSource: Sendable {
  let file: String
  let bytes: [UInt8]

  func error(at pointer: String, _ kind: TokenizerError.Kind, _ problem: String) -> TokenizerError {
    let document = try? JSONParser.parse(bytes, file: file, recordLocations: true)
    let position = document?.location(of: pointer)
    return TokenizerError(
      file: file, location: pointer, line: position?.line, column: position?.column, kind: kind,
      problem: problem)
  }

  /// Parses the whole text; a syntax error becomes a `TokenizerError` of kind `.syntax`.
  func parse() throws(TokenizerError) -> JSONNode {
    do {
      let document = try JSONParser.parse(bytes, file: file, recordLocations: false)
      return JSONNode(value: document.root, pointer: "", source: self)
    } catch {
      throw TokenizerError(
        file: file, location: error.pointer, line: error.line, column: error.column, kind: .syntax,
        problem: error.message)
    }
  }
}

/// A JSON value, its pointer and its file: typed accessors throw `TokenizerError`s that name the
/// location and what was expected versus found.
struct JSONNode: Sendable {
  let value: JSONValue
  let pointer: String
  let source: JSONSource

  func fail(_ problem: String, _ kind: TokenizerError.Kind = .schema) -> TokenizerError {
    source.error(at: pointer, kind, problem)
  }

  /// `found` text for messages: the JSON type, with short scalars shown.
  var found: String {
    switch value {
    case .string(let s): return s.unicodeScalars.count <= 40 ? "string \(JSONValue.quoted(s))" : "a string"
    case .number(let n): return "number \(n)"
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  var isNull: Bool { value == .null }

  /// The member `key`, or nil when it is absent or null.
  func optional(_ key: String) -> JSONNode? {
    guard let member = value[key], member != .null else { return nil }
    return JSONNode(value: member, pointer: JSONPointer.appending(key, to: pointer), source: source)
  }

  /// The member `key`; absent or null is an error that says what was expected.
  func required(_ key: String, _ what: String) throws(TokenizerError) -> JSONNode {
    guard case .object = value else { throw fail("expected an object, found \(found)") }
    guard let member = optional(key) else {
      throw fail("expected member '\(key)' (\(what)), found \(value[key] == .null ? "null" : "none")")
    }
    return member
  }

  func string() throws(TokenizerError) -> String {
    guard case .string(let s) = value else { throw fail("expected a string, found \(found)") }
    return s
  }

  func bool() throws(TokenizerError) -> Bool {
    guard case .bool(let b) = value else { throw fail("expected true or false, found \(found)") }
    return b
  }

  func int() throws(TokenizerError) -> Int {
    guard let i = value.int else { throw fail("expected an integer, found \(found)") }
    return i
  }

  /// A token id: an integer in 0..<2^31.
  func tokenID() throws(TokenizerError) -> Int32 {
    guard let i = value.int, i >= 0, i <= Int(Int32.max) else {
      throw fail("expected a token id (an integer 0...\(Int32.max)), found \(found)")
    }
    return Int32(i)
  }

  func array() throws(TokenizerError) -> [JSONNode] {
    guard case .array(let items) = value else { throw fail("expected an array, found \(found)") }
    return items.enumerated().map { index, item in
      JSONNode(value: item, pointer: pointer + "/" + String(index), source: source)
    }
  }

  func members() throws(TokenizerError) -> [JSONMember] {
    guard case .object(let members) = value else { throw fail("expected an object, found \(found)") }
    return members
  }

  func child(_ key: String, _ value: JSONValue) -> JSONNode {
    JSONNode(value: value, pointer: JSONPointer.appending(key, to: pointer), source: source)
  }

  // MARK: Member shortcuts

  func string(_ key: String) throws(TokenizerError) -> String {
    try required(key, "a string").string()
  }

  func optionalString(_ key: String) throws(TokenizerError) -> String? {
    try optional(key)?.string()
  }

  func bool(_ key: String, default fallback: Bool) throws(TokenizerError) -> Bool {
    try optional(key)?.bool() ?? fallback
  }

  func int(_ key: String) throws(TokenizerError) -> Int {
    try required(key, "an integer").int()
  }

  /// The `type` member of a component object.
  func typeTag() throws(TokenizerError) -> String {
    try required("type", "the component's type name").string()
  }

  /// Fails on members other than `allowed` (and `type`): a field this library does not know
  /// could change the result, so it is never ignored silently.
  func checkKnownMembers(_ allowed: Set<String>, component: String) throws(TokenizerError) {
    for member in try members() where member.key != "type" && !allowed.contains(member.key) {
      throw child(member.key, member.value).fail(
        "\(component) has an option '\(member.key)' this tokenizer does not implement "
          + "(known: \(allowed.sorted().joined(separator: ", ")))", .unsupported)
    }
  }
}

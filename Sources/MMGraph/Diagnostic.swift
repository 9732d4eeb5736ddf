import MMCore

/// One problem found while loading a graph, formatted like a compiler message:
///
///     graph.json:12:24: error: node 'scaled' input 'x': expected tensor<f32>, found text [/nodes/scaled/inputs/x]
///
/// Every field is also in `json` (for `mmgraph check --json` and editors).
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
  public enum Severity: String, Sendable, Hashable {
    case error
    case warning
  }

  /// What kind of problem: a stable identifier for tools and tests.
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case malformedJSON = "malformed-json"
    case version
    case unknownKey = "unknown-key"
    case wrongJSONType = "wrong-json-type"
    case invalidName = "invalid-name"
    case duplicateName = "duplicate-name"
    case unknownNodeType = "unknown-node-type"
    case unknownPort = "unknown-port"
    case unknownOption = "unknown-option"
    case missingOption = "missing-option"
    case optionType = "option-type"
    case badReference = "bad-reference"
    case danglingReference = "dangling-reference"
    case unboundInput = "unbound-input"
    case cycle
    case typeSyntax = "type-syntax"
    case typeMismatch = "type-mismatch"
    case missingFile = "missing-file"
    case includeCycle = "include-cycle"
    case unknownOverride = "unknown-override"
    case unusedNode = "unused-node"
    case unusedInput = "unused-input"
    /// A node's check before the run failed on the given inputs (`mmgraph check --input`).
    case preflight
  }

  public var severity: Severity
  public var kind: Kind
  /// The whole sentence, without location or hint: `node 'scaled' input 'x': expected …, found …`.
  public var message: String
  public var location: SourceLocation?
  public var node: String?
  public var port: String?
  public var expected: String?
  public var found: String?
  /// What to do: the nearest known name for a typo, or the fix.
  public var hint: String?

  public init(
    _ severity: Severity, _ kind: Kind, _ message: String, location: SourceLocation? = nil,
    node: String? = nil,
    port: String? = nil, expected: String? = nil, found: String? = nil, hint: String? = nil
  ) {
    self.severity = severity
    self.kind = kind
    self.message = message
    self.location = location
    self.node = node
    self.port = port
    self.expected = expected
    self.found = found
    self.hint = hint
  }

  public var description: String {
    var out = ""
    if let location { out += "\(location.file):\(location.line):\(location.column): " }
    out += "\(severity.rawValue): \(message)"
    if let hint { out += " (hint: \(hint))" }
    if let location { out += " [\(location.pointer.isEmpty ? "/" : location.pointer)]" }
    return out
  }

  /// Every field as JSON; absent fields are omitted.
  public var json: JSONValue {
    var members = [
      JSONMember("severity", .string(severity.rawValue)), JSONMember("kind", .string(kind.rawValue)),
      JSONMember("message", .string(message)),
    ]
    if let location {
      members += [
        JSONMember("file", .string(location.file)), JSONMember("line", JSONValue(location.line)),
        JSONMember("column", JSONValue(location.column)), JSONMember("pointer", .string(location.pointer)),
      ]
    }
    for (key, value) in [
      ("node", node), ("port", port), ("expected", expected), ("found", found), ("hint", hint),
    ] {
      if let value { members.append(JSONMember(key, .string(value))) }
    }
    return .object(members)
  }
}

extension Diagnostic {
  /// `did you mean 'x'?` for the known name nearest to `name`, when one is close enough to be a typo.
  static func didYouMean(_ name: String, among candidates: some Sequence<String>) -> String? {
    nearest(to: name, among: candidates).map { "did you mean '\($0)'?" }
  }

  /// The candidate with the smallest edit distance to `name`, if within about a third of its length.
  static func nearest(to name: String, among candidates: some Sequence<String>) -> String? {
    let limit = max(2, name.count / 3)
    var best: (name: String, distance: Int)?
    for candidate in candidates.sorted() {
      let distance = editDistance(name.lowercased(), candidate.lowercased())
      if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
    }
    return best?.name
  }

  /// Levenshtein distance with transpositions counted as one edit.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          current[j] = min(current[j], previous2[j - 2] + 1)
        }
      }
      (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count]
  }
}

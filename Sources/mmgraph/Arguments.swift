/// A small command-line parser (the project takes no third-party packages): `--name value`,
/// `--name=value`, boolean `--flag`, and positionals. Unknown options are usage errors (exit 2).
struct Arguments {
  private(set) var positionals: [String] = []
  private var options: [String: [String]] = [:]
  private var flags: Set<String> = []
  private var consumed: Set<String> = []

  /// Parses `arguments`; `valueOptions` take a value, `flagOptions` do not.
  init(_ arguments: [String], valueOptions: Set<String>, flagOptions: Set<String>) throws(UsageError) {
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("--"), argument.count > 2 else {
        positionals.append(argument)
        continue
      }
      var name = String(argument.dropFirst(2))
      var inlineValue: String?
      if let equals = name.firstIndex(of: "=") {
        inlineValue = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      }
      if flagOptions.contains(name) {
        guard inlineValue == nil else { throw UsageError("--\(name) takes no value") }
        flags.insert(name)
      } else if valueOptions.contains(name) {
        if let inlineValue {
          options[name, default: []].append(inlineValue)
        } else {
          guard index < arguments.count else { throw UsageError("--\(name) needs a value") }
          options[name, default: []].append(arguments[index])
          index += 1
        }
      } else {
        let known = (valueOptions.union(flagOptions)).sorted()
        let hint = nearest(name, in: known).map { " (did you mean --\($0)?)" } ?? ""
        throw UsageError("unknown option --\(name)\(hint)")
      }
    }
  }

  func flag(_ name: String) -> Bool { flags.contains(name) }

  func string(_ name: String) -> String? { options[name]?.last }

  /// Every value of a repeatable option, in command-line order.
  func all(_ name: String) -> [String] { options[name] ?? [] }

  func int(_ name: String, default value: Int? = nil, range: ClosedRange<Int> = 1...Int.max)
    throws(UsageError) -> Int?
  {
    guard let text = string(name) else { return value }
    guard let parsed = Int(text), range.contains(parsed) else {
      throw UsageError(
        "--\(name) expects an integer in \(range.lowerBound)...\(range.upperBound), found '\(text)'")
    }
    return parsed
  }
}

/// A command line that cannot be run as written (exit code 2).
struct UsageError: Error, CustomStringConvertible {
  let description: String
  init(_ message: String) { description = message }
}

/// The candidate closest to `word` by edit distance, if close enough to be a plausible typo.
func nearest(_ word: String, in candidates: [String]) -> String? {
  func distance(_ a: [Character], _ b: [Character]) -> Int {
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1]
      for (j, y) in b.enumerated() {
        current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
      }
      previous = current
    }
    return previous[b.count]
  }
  let scored = candidates.map { ($0, distance(Array(word), Array($0))) }
  guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
  return best.0
}

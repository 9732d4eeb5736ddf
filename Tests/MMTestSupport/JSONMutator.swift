import MMCore

/// Seeded random edits of a valid JSON file, for fuzz tests of the readers of untrusted
/// configuration files: a few random bytes, a truncation (with `truncates`), the value after a
/// random colon replaced by one of `tokens`, or a token inserted anywhere. The same seed gives
/// the same edits.
public struct JSONMutator {
  private var generator: SeededRandom
  private let tokens: [String]
  private let truncates: Bool

  public init(seed: UInt64, tokens: [String], truncates: Bool = false) {
    generator = SeededRandom(seed: seed)
    self.tokens = tokens
    self.truncates = truncates
  }

  private mutating func random(_ n: Int) -> Int { n <= 0 ? 0 : Int(generator.next() % UInt64(n)) }

  /// One edited copy of `valid`.
  public mutating func mutate(_ valid: [UInt8]) -> [UInt8] {
    var bytes = valid
    switch (random(truncates ? 4 : 3), truncates) {
    case (0, _): for _ in 0...random(4) { bytes[random(bytes.count)] = UInt8(random(256)) }
    case (1, true): bytes = Array(bytes.prefix(random(bytes.count)))
    case (1, false), (2, true):
      let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
      guard !colons.isEmpty else { break }
      let at = colons[random(colons.count)] + 2
      var end = min(at, bytes.count)
      while end < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "\n")].contains(bytes[end]) { end += 1 }
      bytes.replaceSubrange(min(at, bytes.count)..<end, with: Array(tokens[random(tokens.count)].utf8))
    default: bytes.insert(contentsOf: Array(tokens[random(tokens.count)].utf8), at: random(bytes.count))
    }
    return bytes
  }
}

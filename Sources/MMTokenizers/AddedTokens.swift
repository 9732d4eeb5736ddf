/// A token matched in the text before normalization and the model: a special token
/// (`<|endoftext|>`, `[CLS]`) or an added word. Flags as in tokenizer.json's `added_tokens`.
public struct AddedToken: Sendable, Equatable {
  public var id: Int32
  public var content: String
  /// Skipped by `decode(skipSpecialTokens: true)`; not matched with `parseSpecialTokens: false`.
  public var special: Bool
  /// Matched only when no word character touches it on either side.
  public var singleWord: Bool
  /// The match takes the whitespace on its left / right.
  public var lstrip: Bool
  public var rstrip: Bool
  /// Matched in the normalized text (as the normalizer writes it) instead of the raw text.
  public var normalized: Bool

  public init(
    id: Int32, content: String, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
    rstrip: Bool = false, normalized: Bool = false
  ) {
    self.id = id
    self.content = content
    self.special = special
    self.singleWord = singleWord
    self.lstrip = lstrip
    self.rstrip = rstrip
    self.normalized = normalized
  }
}

/// Leftmost-longest matching of added tokens (the reference uses an Aho-Corasick automaton in
/// leftmost-longest mode): a trie over scalars.
struct AddedTokenMatcher: Sendable {
  private struct Node: Sendable {
    var children: [UInt32: Int32] = [:]
    /// Index into `tokens`, or -1.
    var token: Int32 = -1
  }

  private var nodes = [Node()]
  /// The matchable tokens, with the scalars to match (`pattern`: content, or its normalized form).
  private(set) var tokens: [(token: AddedToken, pattern: [Unicode.Scalar])] = []

  var isEmpty: Bool { tokens.isEmpty }

  mutating func insert(_ token: AddedToken, pattern: [Unicode.Scalar]) {
    guard !pattern.isEmpty else { return }
    var node = 0
    for scalar in pattern {
      if let child = nodes[node].children[scalar.value] {
        node = Int(child)
      } else {
        nodes.append(Node())
        nodes[node].children[scalar.value] = Int32(nodes.count - 1)
        node = nodes.count - 1
      }
    }
    // Two tokens with one pattern: the later one wins, as in the reference's map.
    tokens.append((token, pattern))
    nodes[node].token = Int32(tokens.count - 1)
  }

  /// Splits `s` into text ranges and matched tokens (`find_matches`): leftmost-longest
  /// non-overlapping matches; a `singleWord` token touching a word character, or a special
  /// token when `skipSpecial`, is dropped (its text stays plain text); `lstrip`/`rstrip` take
  /// the neighbouring whitespace.
  func split(_ s: ArraySlice<Unicode.Scalar>, skipSpecial: Bool) -> [(Range<Int>, Int32?)] {
    var matches: [(Range<Int>, Int)] = []
    var i = s.startIndex
    while i < s.endIndex {
      var node = 0
      var best: (end: Int, token: Int)?
      var j = i
      while j < s.endIndex, let child = nodes[node].children[s[j].value] {
        node = Int(child)
        j += 1
        if nodes[node].token >= 0 { best = (j, Int(nodes[node].token)) }
      }
      if let best {
        matches.append((i..<best.end, best.token))
        i = best.end
      } else {
        i += 1
      }
    }
    var out: [(Range<Int>, Int32?)] = []
    var startOffset = s.startIndex
    for (range, index) in matches {
      let token = tokens[index].token
      if skipSpecial && token.special { continue }
      var start = range.lowerBound
      var stop = range.upperBound
      if token.singleWord {
        let startSpace = start == s.startIndex || !UnicodeClass.isWordCharacter(s[start - 1])
        let stopSpace = stop == s.endIndex || !UnicodeClass.isWordCharacter(s[stop])
        if !startSpace || !stopSpace { continue }
      }
      if token.lstrip {
        var newStart = start
        while newStart > s.startIndex && UnicodeClass.isWhitespace(s[newStart - 1]) { newStart -= 1 }
        start = max(newStart, startOffset)
      }
      if token.rstrip {
        while stop < s.endIndex && UnicodeClass.isWhitespace(s[stop]) { stop += 1 }
      }
      if startOffset < start { out.append((startOffset..<start, nil)) }
      out.append((start..<stop, token.id))
      startOffset = stop
    }
    if startOffset < s.endIndex { out.append((startOffset..<s.endIndex, nil)) }
    return out
  }
}

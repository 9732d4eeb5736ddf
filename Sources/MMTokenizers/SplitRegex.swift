/// The pre-tokenizer regexes of the common models, implemented by hand as scanners over Unicode
/// scalars (the reference compiles them with Oniguruma; these follow its leftmost-first
/// alternation and backtracking exactly for these patterns).
///
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///   (GPT-2, Whisper, SmolLM2, StarCoder; the `ByteLevel` pre-tokenizer's built-in regex).
/// - `cl100k(maxDigits: 3)`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|`
///   ` ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Llama 3, GPT-4);
///   `maxDigits: 1` is Qwen2's `\p{N}` variant.
/// - `words`: `\w+|[^\w\s]+` (the `Whitespace` pre-tokenizer).
public enum SplitRegex: Sendable, Equatable {
  case gpt2
  case cl100k(maxDigits: Int)
  case words

  static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
  private static let contractions = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)"#
  private static let contractionsExpanded = #"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"#

  /// The scanner for a regex written in a tokenizer.json or named by llama.cpp, or nil.
  public static func recognize(_ pattern: String) -> SplitRegex? {
    // Byte-for-byte comparison: Swift's == on String is canonical equivalence.
    let bytes = Array(pattern.utf8)
    if bytes == Array(gpt2Pattern.utf8) || bytes == Array(gpt2Pattern.dropLast(4).utf8) { return .gpt2 }
    if bytes == Array(#"\w+|[^\w\s]+"#.utf8) { return .words }
    for prefix in [contractions, contractionsExpanded] {
      for (digits, quantifier) in [(3, "{1,3}"), (1, "")] {
        let candidate =
          prefix + #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"# + quantifier
          + #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        if bytes == Array(candidate.utf8) { return .cl100k(maxDigits: digits) }
      }
    }
    return nil
  }

  /// Non-overlapping matches, left to right (`find_iter`), as scalar index ranges.
  func matches(in s: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var i = s.startIndex
    while i < s.endIndex {
      let end: Int?
      switch self {
      case .gpt2: end = Self.gpt2Match(s, at: i)
      case .cl100k(let maxDigits): end = Self.cl100kMatch(s, at: i, maxDigits: maxDigits)
      case .words: end = Self.wordsMatch(s, at: i)
      }
      if let end, end > i {
        out.append(i..<end)
        i = end
      } else {
        i += 1
      }
    }
    return out
  }

  // MARK: Pieces of the patterns

  @inline(__always) private static func isOther(_ c: Unicode.Scalar) -> Bool {
    !UnicodeClass.isWhitespace(c) && !UnicodeClass.isLetter(c) && !UnicodeClass.isNumber(c)
  }

  private static func run(
    _ s: ArraySlice<Unicode.Scalar>, from start: Int, while predicate: (Unicode.Scalar) -> Bool
  ) -> Int {
    var j = start
    while j < s.endIndex && predicate(s[j]) { j += 1 }
    return j
  }

  /// `'s|'t|'re|'ve|'m|'ll|'d`, optionally ignoring case.
  private static func contraction(_ s: ArraySlice<Unicode.Scalar>, at i: Int, ignoreCase: Bool) -> Int? {
    guard s[i] == "'", i + 1 < s.endIndex else { return nil }
    func lower(_ c: Unicode.Scalar) -> UInt32 {
      guard ignoreCase else { return c.value }
      if c.value >= 0x41 && c.value <= 0x5A { return c.value + 32 }
      if c.value == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S folds to s
      return c.value
    }
    let a = lower(s[i + 1])
    let b = i + 2 < s.endIndex ? lower(s[i + 2]) : 0
    switch a {
    case 0x73, 0x74, 0x6D, 0x64: return i + 2  // s t m d
    case 0x72 where b == 0x65, 0x76 where b == 0x65: return i + 3  // re ve
    case 0x6C where b == 0x6C: return i + 3  // ll
    default: return nil
    }
  }

  /// `\s+(?!\S)|\s+` from `i` (which is whitespace): the run, less its last scalar when a
  /// non-space follows and the run is longer than one.
  private static func whitespaceTail(_ s: ArraySlice<Unicode.Scalar>, at i: Int) -> Int {
    let end = run(s, from: i, while: UnicodeClass.isWhitespace)
    if end == s.endIndex || end - i == 1 { return end }
    return end - 1
  }

  private static func gpt2Match(_ s: ArraySlice<Unicode.Scalar>, at i: Int) -> Int? {
    let c = s[i]
    if c == "'", let end = contraction(s, at: i, ignoreCase: false) { return end }
    let j = c == " " && i + 1 < s.endIndex ? i + 1 : i
    let d = s[j]
    if UnicodeClass.isLetter(d) { return run(s, from: j, while: UnicodeClass.isLetter) }
    if UnicodeClass.isNumber(d) { return run(s, from: j, while: UnicodeClass.isNumber) }
    if isOther(d) { return run(s, from: j, while: isOther) }
    return whitespaceTail(s, at: i)
  }

  private static func cl100kMatch(_ s: ArraySlice<Unicode.Scalar>, at i: Int, maxDigits: Int) -> Int? {
    let c = s[i]
    if c == "'", let end = contraction(s, at: i, ignoreCase: true) { return end }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if UnicodeClass.isLetter(c) { return run(s, from: i, while: UnicodeClass.isLetter) }
    if c != "\r" && c != "\n" && !UnicodeClass.isNumber(c) && i + 1 < s.endIndex
      && UnicodeClass.isLetter(s[i + 1])
    {
      return run(s, from: i + 1, while: UnicodeClass.isLetter)
    }
    // \p{N}{1,k}
    if UnicodeClass.isNumber(c) {
      var j = i
      while j < s.endIndex && j - i < maxDigits && UnicodeClass.isNumber(s[j]) { j += 1 }
      return j
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    let j = c == " " && i + 1 < s.endIndex ? i + 1 : i
    if isOther(s[j]) {
      let end = run(s, from: j, while: isOther)
      return run(s, from: end, while: { $0 == "\r" || $0 == "\n" })
    }
    // \s*[\r\n]+ : the whitespace run up to and including its last line break.
    let end = run(s, from: i, while: UnicodeClass.isWhitespace)
    var k = end - 1
    while k >= i && s[k] != "\r" && s[k] != "\n" { k -= 1 }
    if k >= i { return k + 1 }
    return whitespaceTail(s, at: i)
  }

  private static func wordsMatch(_ s: ArraySlice<Unicode.Scalar>, at i: Int) -> Int? {
    let c = s[i]
    if UnicodeClass.isWordCharacter(c) { return run(s, from: i, while: UnicodeClass.isWordCharacter) }
    if !UnicodeClass.isWhitespace(c) {
      return run(s, from: i) { !UnicodeClass.isWordCharacter($0) && !UnicodeClass.isWhitespace($0) }
    }
    return nil
  }
}

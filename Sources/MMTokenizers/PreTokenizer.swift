/// A piece of text on its way to the model: its scalars, and whether it begins at the start of
/// the input (Metaspace's `prepend_scheme: "first"` asks).
struct Piece {
  var scalars: [Unicode.Scalar]
  var atStart: Bool
}

/// What a split does with the matched delimiters (`tokenizers`' `SplitDelimiterBehavior`).
public enum SplitBehavior: String, Sendable {
  case removed = "Removed"
  case isolated = "Isolated"
  case mergedWithPrevious = "MergedWithPrevious"
  case mergedWithNext = "MergedWithNext"
  case contiguous = "Contiguous"
}

/// What a split looks for.
public enum SplitPattern: Sendable {
  /// A literal string (tokenizer.json `{"String": …}`).
  case literal([Unicode.Scalar])
  /// A regex this library has a scanner for.
  case regex(SplitRegex)
  /// Each numeric scalar on its own (Rust's `char::is_numeric`).
  case numeric
  case whitespace
  case punctuation
  /// One scalar (Metaspace splits on its replacement).
  case scalar(Unicode.Scalar)
}

/// Metaspace's rule for the `▁` put before a piece.
public enum PrependScheme: String, Sendable {
  case always
  case first
  case never
}

/// A pre-tokenizer of the `tokenizers` library (tokenizer.json `pre_tokenizer`).
public enum PreTokenizer: Sendable {
  /// Optional prefix space, the GPT-2 regex split (`useRegex`), then bytes as characters.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  case split(SplitPattern, behavior: SplitBehavior, invert: Bool)
  case digits(individual: Bool)
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
  /// `\w+|[^\w\s]+`, whitespace removed.
  case whitespace
  case whitespaceSplit
  /// Whitespace removed, then each punctuation scalar isolated.
  case bert
  case punctuation(SplitBehavior)
  indirect case sequence([PreTokenizer])

  func apply(_ pieces: [Piece]) -> [Piece] {
    switch self {
    case .sequence(let steps):
      var pieces = pieces
      for step in steps { pieces = step.apply(pieces) }
      return pieces
    case .byteLevel(let addPrefixSpace, let useRegex):
      var out: [Piece] = []
      for var piece in pieces {
        if addPrefixSpace && piece.scalars.first != " " { piece.scalars.insert(" ", at: 0) }
        let parts = useRegex ? Self.split(piece, .regex(.gpt2), .isolated, invert: false) : [piece]
        for part in parts {
          out.append(Piece(scalars: ByteLevel.encode(part.scalars[...]), atStart: part.atStart))
        }
      }
      return out
    case .split(let pattern, let behavior, let invert):
      return pieces.flatMap { Self.split($0, pattern, behavior, invert: invert) }
    case .digits(let individual):
      return pieces.flatMap { Self.split($0, .numeric, individual ? .isolated : .contiguous, invert: false) }
    case .metaspace(let replacement, let scheme, let split):
      var out: [Piece] = []
      for var piece in pieces {
        piece.scalars = piece.scalars.map { $0 == " " ? replacement : $0 }
        let prepend: Bool
        switch scheme {
        case .always: prepend = piece.scalars.first != replacement
        case .first: prepend = piece.scalars.first != replacement && piece.atStart
        case .never: prepend = false
        }
        if prepend { piece.scalars.insert(replacement, at: 0) }
        if split {
          out += Self.split(piece, .scalar(replacement), .mergedWithNext, invert: false)
        } else if !piece.scalars.isEmpty {
          out.append(piece)
        }
      }
      return out
    case .whitespace:
      return pieces.flatMap { Self.split($0, .regex(.words), .removed, invert: true) }
    case .whitespaceSplit:
      return pieces.flatMap { Self.split($0, .whitespace, .removed, invert: false) }
    case .bert:
      return pieces.flatMap { Self.split($0, .whitespace, .removed, invert: false) }
        .flatMap { Self.split($0, .punctuation, .isolated, invert: false) }
    case .punctuation(let behavior):
      return pieces.flatMap { Self.split($0, .punctuation, behavior, invert: false) }
    }
  }

  /// `NormalizedString::split`: the pattern's matches and the text between them, combined as
  /// `behavior` says; empty pieces are dropped.
  static func split(_ piece: Piece, _ pattern: SplitPattern, _ behavior: SplitBehavior, invert: Bool)
    -> [Piece]
  {
    let s = piece.scalars
    if s.isEmpty { return [] }
    var events = matches(of: pattern, in: s)
    if invert { events = events.map { ($0.0, !$0.1) } }
    var ranges: [(Range<Int>, remove: Bool)] = []
    switch behavior {
    case .isolated: ranges = events.map { ($0.0, false) }
    case .removed: ranges = events.map { ($0.0, $0.1) }
    case .contiguous:
      var previous = false
      for (range, isMatch) in events {
        if isMatch == previous, let last = ranges.last {
          ranges[ranges.count - 1].0 = last.0.lowerBound..<range.upperBound
        } else {
          ranges.append((range, false))
        }
        previous = isMatch
      }
    case .mergedWithPrevious:
      var previous = false
      for (range, isMatch) in events {
        if isMatch && !previous, let last = ranges.last {
          ranges[ranges.count - 1].0 = last.0.lowerBound..<range.upperBound
        } else {
          ranges.append((range, false))
        }
        previous = isMatch
      }
    case .mergedWithNext:
      var previous = false
      for (range, isMatch) in events.reversed() {
        if isMatch && !previous, let last = ranges.last {
          ranges[ranges.count - 1].0 = range.lowerBound..<last.0.upperBound
        } else {
          ranges.append((range, false))
        }
        previous = isMatch
      }
      ranges.reverse()
    }
    var out: [Piece] = []
    out.reserveCapacity(ranges.count)
    for (range, remove) in ranges where !remove && !range.isEmpty {
      out.append(Piece(scalars: Array(s[range]), atStart: piece.atStart && range.lowerBound == 0))
    }
    return out
  }

  /// The pattern's matches and the gaps between them, in order, covering `s` (`find_matches`).
  static func matches(of pattern: SplitPattern, in s: [Unicode.Scalar]) -> [(Range<Int>, Bool)] {
    var events: [(Range<Int>, Bool)] = []
    var previous = 0
    func add(_ match: Range<Int>) {
      if previous < match.lowerBound { events.append((previous..<match.lowerBound, false)) }
      events.append((match, true))
      previous = match.upperBound
    }
    switch pattern {
    case .regex(let regex):
      for match in regex.matches(in: s[...]) { add(match) }
    case .literal(let literal):
      guard let first = literal.first else { break }
      var i = 0
      while i + literal.count <= s.count {
        if s[i] == first && s[i..<(i + literal.count)].elementsEqual(literal) {
          add(i..<(i + literal.count))
          i += literal.count
        } else {
          i += 1
        }
      }
    case .numeric, .whitespace, .punctuation, .scalar:
      let predicate: (Unicode.Scalar) -> Bool
      switch pattern {
      case .numeric: predicate = UnicodeClass.isNumber
      case .whitespace: predicate = UnicodeClass.isWhitespace
      case .punctuation: predicate = UnicodeClass.isPunctuation
      case .scalar(let c): predicate = { $0 == c }
      default: predicate = { _ in false }
      }
      for (i, c) in s.enumerated() where predicate(c) { add(i..<(i + 1)) }
    }
    if previous < s.count { events.append((previous..<s.count, false)) }
    return events
  }
}

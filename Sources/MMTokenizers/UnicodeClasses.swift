/// The character classes the reference tokenizers use, on Unicode scalars (never on Swift
/// `Character`s: Hugging Face `tokenizers` and llama.cpp work on code points, and Swift's string
/// comparison is canonical, so `"é" == "e\u{301}"`; the library keys every table by UTF-8 bytes).
///
/// - `\p{L}` / `\p{N}` (Oniguruma, as `tokenizers` compiles its regexes): general categories
///   L* and N*; Rust's `char::is_numeric` is N* too.
/// - `\s` (Oniguruma with Unicode) is 0009–000D, 0085 and the Z* categories, which is the
///   White_Space property, the same set as Rust's `char::is_whitespace`.
/// - Punctuation (`BertPreTokenizer`, `Punctuation`): ASCII punctuation or P*.
enum UnicodeClass {
  private static let asciiTable: [UInt8] = {
    // bit 0 letter, 1 number, 2 whitespace, 3 ASCII punctuation, 4 word character (\w)
    var table = [UInt8](repeating: 0, count: 128)
    for b in 0..<128 {
      let c = UInt8(b)
      if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) { table[b] |= 1 | 16 }
      if c >= 0x30 && c <= 0x39 { table[b] |= 2 | 16 }
      if (c >= 0x09 && c <= 0x0D) || c == 0x20 { table[b] |= 4 }
      if (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60)
        || (c >= 0x7B && c <= 0x7E)
      {
        table[b] |= 8
      }
      if c == 0x5F { table[b] |= 16 }
    }
    return table
  }()

  @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiTable[Int(s.value)] & 1 != 0 }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
  }

  @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiTable[Int(s.value)] & 2 != 0 }
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }

  /// `\s`, Rust's `char::is_whitespace`, Python's `str.isspace` for the characters that matter.
  @inline(__always) static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiTable[Int(s.value)] & 4 != 0 }
    return s.properties.isWhitespace
  }

  /// `tokenizers`' `is_punc`: ASCII punctuation (symbols included) or a P* category.
  static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiTable[Int(s.value)] & 8 != 0 }
    switch s.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      return true
    default: return false
    }
  }

  /// Rust regex `\w`: Alphabetic, M*, Nd, Pc, Join_Control.
  static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
    if s.value < 128 { return asciiTable[Int(s.value)] & 16 != 0 }
    let properties = s.properties
    if properties.isAlphabetic || properties.isJoinControl { return true }
    switch properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
  }

  /// Mn (`strip_accents` in the BERT normalizer).
  static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
    s.value >= 0x300 && s.properties.generalCategory == .nonspacingMark
  }

  /// M* (the `StripAccents` normalizer).
  static func isMark(_ s: Unicode.Scalar) -> Bool {
    guard s.value >= 0x300 else { return false }
    switch s.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: return true
    default: return false
    }
  }

  /// C* (the BERT normalizer's `is_control`, which keeps \t, \n and \r).
  static func isOther(_ s: Unicode.Scalar) -> Bool {
    if s.value < 0x20 || s.value == 0x7F { return true }
    if s.value < 0x80 { return false }
    switch s.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned: return true
    default: return false
    }
  }
}

extension Array where Element == Unicode.Scalar {
  /// The scalars of `text`, exactly as stored (no normalization).
  init(scalarsOf text: some StringProtocol) {
    self.init(text.unicodeScalars)
  }

  /// UTF-8 bytes of the scalars.
  var utf8Bytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count)
    for scalar in self { appendUTF8(scalar, to: &out) }
    return out
  }

  /// A `String` holding exactly these scalars.
  var string: String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: self)
    return String(view)
  }
}

extension ArraySlice where Element == Unicode.Scalar {
  var utf8Bytes: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(count)
    for scalar in self { appendUTF8(scalar, to: &out) }
    return out
  }
}

@inline(__always) func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
  let v = scalar.value
  switch v {
  case 0..<0x80: out.append(UInt8(v))
  case 0x80..<0x800:
    out.append(UInt8(0xC0 | (v >> 6)))
    out.append(UInt8(0x80 | (v & 0x3F)))
  case 0x800..<0x10000:
    out.append(UInt8(0xE0 | (v >> 12)))
    out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
    out.append(UInt8(0x80 | (v & 0x3F)))
  default:
    out.append(UInt8(0xF0 | (v >> 18)))
    out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
    out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
    out.append(UInt8(0x80 | (v & 0x3F)))
  }
}

/// Scalars of UTF-8 `bytes` (valid UTF-8: token texts and strings).
func scalars(ofUTF8 bytes: some Collection<UInt8>) -> [Unicode.Scalar] {
  Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
}

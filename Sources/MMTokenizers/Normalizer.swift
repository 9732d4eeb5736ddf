import Foundation

/// A text normalizer of the `tokenizers` library (tokenizer.json `normalizer`), on scalars.
public enum Normalizer: Sendable {
  indirect case sequence([Normalizer])
  case nfc
  case nfd
  case nfkc
  case nfkd
  case lowercase
  /// `BertNormalizer`: control characters dropped and whitespace made ' ' (`cleanText`), CJK
  /// ideographs spaced out, accents stripped (NFD, then Mn removed), lowercased.
  case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
  case strip(left: Bool, right: Bool)
  case stripAccents
  /// Every non-overlapping occurrence of `pattern` (left to right) becomes `content`.
  case replace(pattern: [Unicode.Scalar], content: [Unicode.Scalar])
  /// `text` before a non-empty string (Llama 2's `Prepend("▁")`).
  case prepend([Unicode.Scalar])
  case nmt
  /// Each UTF-8 byte as its GPT-2 byte-level character.
  case byteLevel

  func apply(_ s: inout [Unicode.Scalar]) {
    switch self {
    case .sequence(let normalizers):
      for normalizer in normalizers { normalizer.apply(&s) }
    case .nfc: s = Array(s.string.precomposedStringWithCanonicalMapping.unicodeScalars)
    case .nfd: s = Array(s.string.decomposedStringWithCanonicalMapping.unicodeScalars)
    case .nfkc: s = Array(s.string.precomposedStringWithCompatibilityMapping.unicodeScalars)
    case .nfkd: s = Array(s.string.decomposedStringWithCompatibilityMapping.unicodeScalars)
    case .lowercase: s = Self.lowercased(s)
    case .bert(let cleanText, let handleChineseChars, let stripAccents, let lowercase):
      if cleanText {
        s = s.compactMap { c in
          if c.value == 0 || c.value == 0xFFFD { return nil }
          if c == "\t" || c == "\n" || c == "\r" { return " " }
          if UnicodeClass.isOther(c) { return nil }
          return UnicodeClass.isWhitespace(c) ? " " : c
        }
      }
      if handleChineseChars && s.contains(where: Self.isChineseCharacter) {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + 16)
        for c in s {
          if Self.isChineseCharacter(c) {
            out.append(" ")
            out.append(c)
            out.append(" ")
          } else {
            out.append(c)
          }
        }
        s = out
      }
      if stripAccents && s.contains(where: { $0.value >= 0x80 }) {
        s = Array(s.string.decomposedStringWithCanonicalMapping.unicodeScalars)
        s.removeAll(where: UnicodeClass.isNonspacingMark)
      }
      if lowercase { s = Self.lowercased(s) }
    case .strip(let left, let right):
      if right {
        while let last = s.last, UnicodeClass.isWhitespace(last) { s.removeLast() }
      }
      if left {
        let start = s.firstIndex { !UnicodeClass.isWhitespace($0) } ?? s.endIndex
        s.removeFirst(start)
      }
    case .stripAccents: s.removeAll(where: UnicodeClass.isMark)
    case .replace(let pattern, let content): s = Self.replacing(pattern, with: content, in: s)
    case .prepend(let text): if !s.isEmpty { s.insert(contentsOf: text, at: 0) }
    case .nmt:
      s = s.compactMap { c in
        switch c.value {
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x8F, 0x9F: return nil
        case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD:
          return " "
        default: return c
        }
      }
    case .byteLevel:
      s = s.utf8Bytes.map { ByteLevel.scalarForByte[Int($0)] }
    }
  }

  /// Rust's `char::to_lowercase` per scalar (full mappings: `İ` → `i̇`).
  static func lowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    for c in s {
      if c.value < 0x80 {
        out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
      } else if c.properties.changesWhenLowercased {
        out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
      } else {
        out.append(c)
      }
    }
    return out
  }

  static func isChineseCharacter(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
      0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default: return false
    }
  }

  /// Non-overlapping occurrences of `pattern` in `s`, left to right, replaced by `content`.
  static func replacing(
    _ pattern: [Unicode.Scalar], with content: [Unicode.Scalar], in s: [Unicode.Scalar]
  ) -> [Unicode.Scalar] {
    guard !pattern.isEmpty, s.count >= pattern.count else { return s }
    if pattern.count == 1 && content.count == 1 {
      let (p, r) = (pattern[0], content[0])
      return s.map { $0 == p ? r : $0 }
    }
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    var i = 0
    while i < s.count {
      if s[i] == pattern[0] && i + pattern.count <= s.count
        && s[i..<(i + pattern.count)].elementsEqual(pattern)
      {
        out.append(contentsOf: content)
        i += pattern.count
      } else {
        out.append(s[i])
        i += 1
      }
    }
    return out
  }
}

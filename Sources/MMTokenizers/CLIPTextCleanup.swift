import Foundation

/// The text cleanup CLIP's tokenizers apply before their split regex, on Unicode scalars.
///
/// - `openAI`: the OpenAI / ImageBind `SimpleTokenizer`:
///   `whitespace_clean(basic_clean(text)).lower()`, where `basic_clean` is
///   `html.unescape(html.unescape(ftfy.fix_text(text))).strip()`. Of ftfy 6.3's `fix_text` this
///   reproduces every step of its default configuration except the mojibake repair
///   (`fix_encoding`: guessing that text was decoded with the wrong codec, such as `Ã©` for `é`):
///   per line, HTML entities (ftfy's strict `&name;` table with all-caps variants, turned off
///   from the first line that contains `<` on, as ftfy's "auto" mode does), C1 controls read as
///   Windows-1252, Latin ligatures split, half/full-width forms, curly quotes, line breaks,
///   ANSI terminal escapes, control characters, NFC — repeated until nothing changes. Then
///   Python's `html.unescape` twice, `strip()`, `\s+` → one space, and Python's `str.lower`
///   (full case mappings and the final-sigma rule).
/// - `huggingFace`: Hugging Face `CLIPTokenizer` (tokenizers backend): NFC, `\s+` → one space,
///   per-scalar lowercase (no final sigma).
enum CLIPTextCleanup {
  // MARK: OpenAI / ImageBind

  static func openAI(_ text: String) -> [Unicode.Scalar] {
    var s = ftfyFixText(Array(text.unicodeScalars))
    s = pythonHTMLUnescape(pythonHTMLUnescape(s))
    s = collapseWhitespace(s, isSpace: isPythonSpace)
    return pythonLowercased(s)
  }

  /// ftfy's `fix_text` without `fix_encoding` (see the type's documentation).
  static func ftfyFixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(text.count)
    var unescape = true
    var start = 0
    while start < text.count {
      var end = start
      while end < text.count && text[end] != "\n" { end += 1 }
      if end < text.count { end += 1 }  // the line keeps its line feed
      var segment = Array(text[start..<end])
      if segment.contains("<") { unescape = false }  // ftfy's "auto": off from here on
      while true {
        let before = segment
        if unescape { segment = ftfyUnescapeHTML(segment) }
        segment = ftfyFixers(segment)
        segment = nfc(segment)
        if segment == before { break }
      }
      out.append(contentsOf: segment)
      start = end
    }
    return out
  }

  /// C1 controls, ligatures, character width, quotes, line breaks, terminal escapes, controls.
  private static func ftfyFixers(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var a: [Unicode.Scalar] = []
    a.reserveCapacity(s.count)
    for c in s {
      let v = c.value
      if v >= 0x80 && v <= 0x9F {
        a.append(windows1252C1[Int(v - 0x80)])
      } else if let split = ligatures[v] {
        a.append(contentsOf: split.unicodeScalars)
      } else if v == 0x3000 {
        a.append(" ")
      } else if v >= 0xFF01 && v < 0xFFF0, let narrow = widthMap[Int(v - 0xFF01)] {
        a.append(contentsOf: narrow)
      } else if v == 0x02BC || (v >= 0x2018 && v <= 0x201B) {
        a.append("'")
      } else if v >= 0x201C && v <= 0x201F {
        a.append("\"")
      } else {
        a.append(c)
      }
    }
    // Line breaks: \r\n, \r, U+2028, U+2029, U+0085 → \n (U+0085 is gone already: it is C1).
    var b: [Unicode.Scalar] = []
    b.reserveCapacity(a.count)
    var i = 0
    while i < a.count {
      let v = a[i].value
      if v == 0x0D {
        b.append("\n")
        if i + 1 < a.count && a[i + 1] == "\n" { i += 1 }
      } else if v == 0x2028 || v == 0x2029 || v == 0x85 {
        b.append("\n")
      } else {
        b.append(a[i])
      }
      i += 1
    }
    // ANSI escapes `\x1b[` digits-or-semicolons letter, then the control characters.
    var c: [Unicode.Scalar] = []
    c.reserveCapacity(b.count)
    i = 0
    while i < b.count {
      if b[i] == "\u{1B}", i + 1 < b.count, b[i + 1] == "[" {
        var j = i + 2
        while j < b.count && (b[j] == ";" || b[j].properties.generalCategory == .decimalNumber) { j += 1 }
        if j < b.count, b[j].isASCII, b[j].properties.isAlphabetic {
          i = j + 1
          continue
        }
      }
      if !isFtfyControl(b[i]) { c.append(b[i]) }
      i += 1
    }
    return c
  }

  /// ftfy's `remove_control_chars` set.
  private static func isFtfyControl(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
    default: return false
    }
  }

  /// Windows-1252 for bytes 0x80…0x9F, the five undefined ones kept as themselves (ftfy's
  /// "sloppy" codec, and `html.unescape`'s table for `&#128;`…`&#159;`).
  static let windows1252C1: [Unicode.Scalar] = [
    0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D,
    0x17D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A,
    0x153, 0x9D, 0x17E, 0x178,
  ].map { Unicode.Scalar(UInt32($0))! }

  private static let ligatures: [UInt32: String] = [
    0x132: "IJ", 0x133: "ij", 0x149: "\u{2BC}n", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz", 0x1C4: "D\u{17D}",
    0x1C5: "D\u{17E}", 0x1C6: "d\u{17E}", 0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj",
    0x1CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u{17F}t",
    0xFB06: "st",
  ]

  /// U+FF01…U+FFEF → their NFKC form where it differs (ftfy's `fix_character_width`).
  private static let widthMap: [[Unicode.Scalar]?] = (0xFF01..<0xFFF0).map { v in
    guard let c = Unicode.Scalar(UInt32(v)) else { return nil }
    let mapped = String(c).precomposedStringWithCompatibilityMapping
    return mapped.unicodeScalars.elementsEqual([c]) ? nil : Array(mapped.unicodeScalars)
  }

  static func nfc(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    if s.allSatisfy({ $0.value < 0x300 }) { return s }  // no composition can apply
    return Array(s.string.precomposedStringWithCanonicalMapping.unicodeScalars)
  }

  // MARK: HTML entities

  /// name → characters, from Python's `html.entities.html5` (names with or without `;`).
  static let html5Entities: [String: [Unicode.Scalar]] = parseEntityTable(HTMLEntityTable.html5)
  private static let ftfyEntities: [String: [Unicode.Scalar]] = {
    var table = parseEntityTable(HTMLEntityTable.ftfyUppercase)
    for (name, value) in html5Entities where name.hasSuffix(";") { table[name] = value }
    return table
  }()

  private static func parseEntityTable(_ text: String) -> [String: [Unicode.Scalar]] {
    var table: [String: [Unicode.Scalar]] = [:]
    for entry in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
      guard let equals = entry.firstIndex(of: "=") else { continue }
      let value = entry[entry.index(after: equals)...].split(separator: "+").compactMap {
        UInt32($0, radix: 16).flatMap(Unicode.Scalar.init)
      }
      table[String(entry[..<equals])] = value
    }
    return table
  }

  /// ftfy's `unescape_html`: `&#?[0-9A-Za-z]{1,24};` replaced when it names an entity (strict
  /// names with `;`, or an all-caps variant) or is a complete character reference.
  static func ftfyUnescapeHTML(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard s.contains("&") else { return s }
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    var i = 0
    while i < s.count {
      guard s[i] == "&" else {
        out.append(s[i])
        i += 1
        continue
      }
      var j = i + 1
      if j < s.count && s[j] == "#" { j += 1 }
      let nameStart = j
      while j < s.count && j - nameStart < 24 && isASCIIAlphanumeric(s[j]) { j += 1 }
      guard j > nameStart, j < s.count, s[j] == ";" else {
        out.append(s[i])
        i += 1
        continue
      }
      let match = Array(s[i...j])
      let name = Array(match.dropFirst()).string
      if let value = ftfyEntities[name] {
        out.append(contentsOf: value)
      } else if match[1] == "#" {
        let decoded = pythonHTMLUnescape(match)
        out.append(contentsOf: decoded.contains(";") ? match : decoded)
      } else {
        out.append(contentsOf: match)
      }
      i = j + 1
    }
    return out
  }

  @inline(__always) private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
    let v = c.value | 0x20
    return (c.value >= 0x30 && c.value <= 0x39) || (v >= 0x61 && v <= 0x7A)
  }

  /// Python's `html.unescape`: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`.
  static func pythonHTMLUnescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    guard s.contains("&") else { return s }
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    var i = 0
    while i < s.count {
      guard s[i] == "&", i + 1 < s.count else {
        out.append(s[i])
        i += 1
        continue
      }
      if s[i + 1] == "#" {
        let hex = i + 2 < s.count && (s[i + 2] == "x" || s[i + 2] == "X")
        var j = i + (hex ? 3 : 2)
        let digitsStart = j
        var value: UInt64 = 0
        while j < s.count, let digit = s[j].isASCII ? Character(s[j]).hexDigitValue : nil,
          hex || digit < 10
        {
          value = min(value * (hex ? 16 : 10) + UInt64(digit), 0x1_0000_0000)
          j += 1
        }
        guard j > digitsStart else {
          out.append(s[i])
          i += 1
          continue
        }
        if j < s.count && s[j] == ";" { j += 1 }
        out.append(contentsOf: characterReference(value))
        i = j
        continue
      }
      var j = i + 1
      while j < s.count && j - (i + 1) < 32 && !"\t\n\u{0C} <&#;".unicodeScalars.contains(s[j]) { j += 1 }
      guard j > i + 1 else {
        out.append(s[i])
        i += 1
        continue
      }
      if j < s.count && s[j] == ";" { j += 1 }
      let name = Array(s[(i + 1)..<j])
      if let value = html5Entities[name.string] {
        out.append(contentsOf: value)
      } else if let prefix = (2..<max(2, name.count)).reversed().first(where: {
        html5Entities[Array(name[..<$0]).string] != nil
      }) {
        out.append(contentsOf: html5Entities[Array(name[..<prefix]).string] ?? [])
        out.append(contentsOf: name[prefix...])
      } else {
        out.append("&")
        out.append(contentsOf: name)
      }
      i = j
    }
    return out
  }

  /// `html.unescape`'s numeric reference rules: C1 numbers as Windows-1252, 0 → U+FFFD,
  /// surrogates and numbers past U+10FFFF → U+FFFD, non-characters and controls dropped.
  private static func characterReference(_ value: UInt64) -> [Unicode.Scalar] {
    switch value {
    case 0: return ["\u{FFFD}"]
    case 0x0D: return ["\r"]
    case 0x80...0x9F: return [windows1252C1[Int(value - 0x80)]]
    case 0xD800...0xDFFF, 0x11_0000...: return ["\u{FFFD}"]
    case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0xFDD0...0xFDEF: return []
    default:
      if value & 0xFFFE == 0xFFFE { return [] }
      return Unicode.Scalar(UInt32(value)).map { [$0] } ?? ["\u{FFFD}"]
    }
  }

  // MARK: Whitespace and case

  /// Python's `str.isspace`: White_Space plus the four information separators U+001C…U+001F.
  static func isPythonSpace(_ c: Unicode.Scalar) -> Bool {
    UnicodeClass.isWhitespace(c) || (c.value >= 0x1C && c.value <= 0x1F)
  }

  /// Runs of `\s` (White_Space) become one space; then ends trimmed of `isSpace` characters.
  static func collapseWhitespace(
    _ s: [Unicode.Scalar], isSpace: (Unicode.Scalar) -> Bool
  ) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    var inRun = false
    for c in s {
      if UnicodeClass.isWhitespace(c) {
        if !inRun { out.append(" ") }
        inRun = true
      } else {
        out.append(c)
        inRun = false
      }
    }
    var lower = 0
    var upper = out.count
    while lower < upper && isSpace(out[lower]) { lower += 1 }
    while upper > lower && isSpace(out[upper - 1]) { upper -= 1 }
    return Array(out[lower..<upper])
  }

  /// Python's `str.lower`: full lowercase mappings, and capital sigma as final `ς` when a cased
  /// letter precedes it and none follows (case-ignorable characters skipped both ways).
  static func pythonLowercased(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    for (i, c) in s.enumerated() {
      if c.value < 0x80 {
        out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
      } else if c.value == 0x3A3 {
        out.append(isFinalSigma(s, at: i) ? "\u{3C2}" : "\u{3C3}")
      } else if c.properties.changesWhenLowercased {
        out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
      } else {
        out.append(c)
      }
    }
    return out
  }

  private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
    var j = i - 1
    while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
    guard j >= 0 && s[j].properties.isCased else { return false }
    j = i + 1
    while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
    return j == s.count || !s[j].properties.isCased
  }

  // MARK: Hugging Face

  /// NFC, `\s+` → " " and per-scalar lowercase, as Hugging Face's CLIP normalizer sequence.
  static func huggingFace(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(text.count)
    var inRun = false
    for c in nfc(text) {
      if UnicodeClass.isWhitespace(c) {
        if !inRun { out.append(" ") }
        inRun = true
      } else {
        out.append(c)
        inRun = false
      }
    }
    return Normalizer.lowercased(out)
  }
}

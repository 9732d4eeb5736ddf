import Foundation
import MMCore

/// A text input could not be read. The description names the file, the place (a line and
/// column, or a byte offset) and the problem, e.g.
/// `prompts.json:1:12: /2: expected a string, found a number`.
public struct TextFileError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable, Equatable {
    /// Missing, a directory, unreadable or too large.
    case io
    /// Not valid UTF-8.
    case encoding
    /// No text: an empty or blank file, no non-empty line, an empty JSON list.
    case empty
    /// Not JSON, or not a JSON array of strings.
    case json
  }

  public var file: String
  public var kind: Kind
  /// Where the problem is (from 1), when it has a place.
  public var line: Int?
  public var column: Int?
  public var message: String

  public init(file: String, kind: Kind, line: Int? = nil, column: Int? = nil, message: String) {
    self.file = file
    self.kind = kind
    self.line = line
    self.column = column
    self.message = message
  }

  public var description: String {
    let place = line.map { ":\($0)" + (column.map { ":\($0)" } ?? "") } ?? ""
    return "\(file)\(place): \(message)"
  }
}

/// Text inputs: plain UTF-8 text files and JSON lists of strings.
///
/// Text files are validated as UTF-8 (an invalid byte is reported with its offset), a leading
/// byte-order mark is dropped and line breaks are normalized (CRLF and lone CR become LF). In
/// `.document` mode the whole text is one item (trailing line breaks removed); in `.lines` mode
/// each line that is not blank is one item, as written. JSON files hold one array of strings
/// (`["a dog", "a car"]`), parsed strictly by `JSONParser`. No input yields zero items: an empty
/// or blank file and an empty list are errors.
public enum TextFile {
  public enum Mode: String, Sendable, CaseIterable {
    /// The whole file is one text.
    case document
    /// One text per non-blank line.
    case lines
  }

  /// Files larger than this are refused (256 MiB).
  public static let maxBytes = 1 << 28

  /// Reads `path`: a `.json` file as a JSON list of strings, anything else as text in `mode`.
  public static func read(contentsOf path: String, mode: Mode = .document) throws(TextFileError) -> [String] {
    let bytes = try readBytes(path)
    if URL(fileURLWithPath: path).pathExtension.lowercased() == "json" {
      return try decodeJSONList(bytes, file: path)
    }
    return try decodeText(bytes, mode: mode, file: path)
  }

  /// Reads `path` as UTF-8 text, whatever its extension.
  public static func readText(contentsOf path: String, mode: Mode = .document) throws(TextFileError)
    -> [String]
  {
    try decodeText(try readBytes(path), mode: mode, file: path)
  }

  /// Reads `path` as a JSON array of strings, whatever its extension.
  public static func readJSONList(contentsOf path: String) throws(TextFileError) -> [String] {
    try decodeJSONList(try readBytes(path), file: path)
  }

  /// The items of UTF-8 text `bytes`; `file` names the source in errors.
  public static func decodeText(_ bytes: [UInt8], mode: Mode, file: String) throws(TextFileError)
    -> [String]
  {
    let text = try normalizedText(bytes, file: file)
    switch mode {
    case .document:
      var document = Substring(text)
      while document.last == "\n" { document.removeLast() }
      guard !document.allSatisfy(\.isWhitespace) else {
        throw TextFileError(
          file: file, kind: .empty,
          message: bytes.isEmpty ? "empty file (0 bytes): no text" : "the file holds only whitespace: no text"
        )
      }
      return [String(document)]
    case .lines:
      let items = text.split(separator: "\n", omittingEmptySubsequences: true)
        .filter { !$0.allSatisfy(\.isWhitespace) }.map(String.init)
      guard !items.isEmpty else {
        throw TextFileError(
          file: file, kind: .empty,
          message: bytes.isEmpty
            ? "empty file (0 bytes): no lines" : "no non-empty lines: every line is blank")
      }
      return items
    }
  }

  /// The strings of a JSON array `bytes` (UTF-8, optional byte-order mark); `file` names the
  /// source in errors, which give the element's JSON pointer and position.
  public static func decodeJSONList(_ bytes: [UInt8], file: String) throws(TextFileError) -> [String] {
    try validateUTF8(bytes, file: file)
    let body = bytes.starts(with: byteOrderMark) ? bytes[3...] : bytes[...]
    guard !body.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
      throw TextFileError(
        file: file, kind: .empty,
        message: bytes.isEmpty
          ? "empty file (0 bytes): expected a JSON array of strings" : "no JSON: the file is blank")
    }
    let document: JSONDocument
    do { document = try JSONParser.parse(body, file: file) } catch {
      throw TextFileError(
        file: file, kind: error.kind == .invalidUTF8 ? .encoding : .json, line: error.line,
        column: error.column,
        message: error.pointer.isEmpty ? error.message : "\(error.pointer): \(error.message)")
    }
    let root = document.valueLocations[""]
    guard case .array(let elements) = document.root else {
      throw TextFileError(
        file: file, kind: .json, line: root?.line, column: root?.column,
        message: "expected a JSON array of strings, found \(article(document.root.typeName))")
    }
    guard !elements.isEmpty else {
      throw TextFileError(
        file: file, kind: .empty, line: root?.line, column: root?.column,
        message: "empty list: expected at least one string")
    }
    var items: [String] = []
    for (index, element) in elements.enumerated() {
      guard case .string(let text) = element else {
        let at = document.valueLocations["/\(index)"]
        throw TextFileError(
          file: file, kind: .json, line: at?.line, column: at?.column,
          message: "/\(index): expected a string, found \(article(element.typeName))")
      }
      items.append(text)
    }
    return items
  }

  /// Throws `.encoding` naming the byte offset (from the start of `bytes`) and line of the first
  /// byte that is not valid UTF-8: stray continuation bytes, overlong forms, surrogates, values
  /// past U+10FFFF and sequences cut short.
  public static func validateUTF8(_ bytes: [UInt8], file: String) throws(TextFileError) {
    guard let (offset, problem) = firstInvalidUTF8(bytes) else { return }
    let line = bytes[..<offset].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
    throw TextFileError(
      file: file, kind: .encoding, line: line,
      message: "invalid UTF-8 at byte offset \(offset): \(problem) (the file must be UTF-8; "
        + "convert Latin-1 or UTF-16 text first)")
  }

  // MARK: - Helpers

  static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

  static func readBytes(_ path: String) throws(TextFileError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw TextFileError(file: path, kind: .io, message: "cannot open: no such file")
    }
    if isDirectory.boolValue {
      throw TextFileError(file: path, kind: .io, message: "is a directory, not a text file")
    }
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    guard size <= maxBytes else {
      throw TextFileError(file: path, kind: .io, message: "\(size) bytes, over the limit of \(maxBytes)")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TextFileError(file: path, kind: .io, message: "cannot read (permission denied?)")
    }
    return [UInt8](data)
  }

  /// Validated, BOM-stripped text with LF line breaks.
  static func normalizedText(_ bytes: [UInt8], file: String) throws(TextFileError) -> String {
    try validateUTF8(bytes, file: file)
    let body = bytes.starts(with: byteOrderMark) ? bytes[3...] : bytes[...]
    var out: [UInt8] = []
    out.reserveCapacity(body.count)
    var index = body.startIndex
    while index < body.endIndex {
      let byte = body[index]
      if byte == 0x0D {
        out.append(0x0A)
        if index + 1 < body.endIndex, body[index + 1] == 0x0A { index += 1 }
      } else {
        out.append(byte)
      }
      index += 1
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The offset of the first invalid byte and why (Unicode's well-formed byte sequences,
  /// table 3-7), or nil when all of `bytes` is UTF-8.
  static func firstInvalidUTF8(_ bytes: [UInt8]) -> (offset: Int, problem: String)? {
    func hex(_ byte: UInt8) -> String { "0x" + String(byte, radix: 16, uppercase: true) }
    var i = 0
    while i < bytes.count {
      let lead = bytes[i]
      if lead < 0x80 {
        i += 1
        continue
      }
      let length: Int
      var second: ClosedRange<UInt8> = 0x80...0xBF
      switch lead {
      case 0xC2...0xDF: length = 2
      case 0xE0: (length, second) = (3, 0xA0...0xBF)
      case 0xED: (length, second) = (3, 0x80...0x9F)
      case 0xE1...0xEF: length = 3
      case 0xF0: (length, second) = (4, 0x90...0xBF)
      case 0xF4: (length, second) = (4, 0x80...0x8F)
      case 0xF1...0xF3: length = 4
      case 0x80...0xBF: return (i, "byte \(hex(lead)) is a continuation byte with no lead byte before it")
      case 0xC0, 0xC1: return (i, "byte \(hex(lead)) starts an overlong encoding")
      default: return (i, "byte \(hex(lead)) never occurs in UTF-8")
      }
      for k in 1..<length {
        guard i + k < bytes.count else {
          return (i + k, "the file ends inside the \(length)-byte sequence that starts at offset \(i)")
        }
        let allowed = k == 1 ? second : 0x80...0xBF
        guard allowed.contains(bytes[i + k]) else {
          let what =
            k == 1 && (0x80...0xBF).contains(bytes[i + k])
            ? "an overlong form, a surrogate or a value past U+10FFFF" : "not a continuation byte"
          return (i + k, "byte \(hex(bytes[i + k])) after \(hex(lead)) is \(what)")
        }
      }
      i += length
    }
    return nil
  }

  /// `a string`, `an object`, `an array`, `null`.
  static func article(_ typeName: String) -> String {
    if typeName == "null" { return "null" }
    return ("aeiou".contains(typeName.first ?? "x") ? "an " : "a ") + typeName
  }
}

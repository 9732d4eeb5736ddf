import Foundation
import MMCore
import MMMediaIO
import Testing

/// Text inputs: UTF-8 text files (document or one item per line) and JSON lists of strings.
@Suite("Text files") struct TextFileTests {
  static func text(_ s: String, _ mode: TextFile.Mode) throws(TextFileError) -> [String] {
    try TextFile.decodeText(Array(s.utf8), mode: mode, file: "t.txt")
  }

  static func error(_ body: () throws(TextFileError) -> [String]) -> TextFileError? {
    do {
      let items = try body()
      Issue.record("accepted: \(items)")
      return nil
    } catch { return error }
  }

  @Test func documentAndLines() throws {
    let source = "\u{FEFF}A dog barks.\r\n\r\n  \t\r\nA car passes, é ü 🚗.\rLast line\n\n"
    #expect(try Self.text(source, .document) == ["A dog barks.\n\n  \t\nA car passes, é ü 🚗.\nLast line"])
    #expect(try Self.text(source, .lines) == ["A dog barks.", "A car passes, é ü 🚗.", "Last line"])
    // Lines keep their inner and surrounding spaces as written.
    #expect(try Self.text("  padded  \nx", .lines) == ["  padded  ", "x"])
    #expect(try Self.text("no newline", .document) == ["no newline"])
  }

  @Test func readsFilesByExtension() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmgraph-text-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let txt = directory.appendingPathComponent("prompts.txt").path
    let json = directory.appendingPathComponent("prompts.json").path
    try Data("a dog\r\na car\r\n".utf8).write(to: URL(fileURLWithPath: txt))
    try Data("\u{FEFF}[\"a dog\", \"a \\\"car\\\" \\u00e9\"]\n".utf8).write(to: URL(fileURLWithPath: json))
    #expect(try TextFile.read(contentsOf: txt, mode: .lines) == ["a dog", "a car"])
    #expect(try TextFile.read(contentsOf: txt) == ["a dog\na car"])
    #expect(try TextFile.read(contentsOf: json) == ["a dog", "a \"car\" é"])
    #expect(try TextFile.readText(contentsOf: json, mode: .document).first?.hasPrefix("[") == true)
    #expect(try TextFile.readJSONList(contentsOf: json).count == 2)

    let missing = directory.appendingPathComponent("missing.txt").path
    #expect(
      Self.error { () throws(TextFileError) in try TextFile.read(contentsOf: missing) }?.description
        == "\(missing): cannot open: no such file")
    let dirError = Self.error { () throws(TextFileError) in try TextFile.read(contentsOf: directory.path) }
    #expect(dirError?.kind == .io && dirError?.description.contains("is a directory") == true)
    let empty = directory.appendingPathComponent("empty.txt").path
    try Data().write(to: URL(fileURLWithPath: empty))
    #expect(
      Self.error { () throws(TextFileError) in try TextFile.read(contentsOf: empty) }?.description
        == "\(empty): empty file (0 bytes): no text")
  }

  @Test func emptyInputsAreErrors() {
    #expect(Self.error { () throws(TextFileError) in try Self.text("", .lines) }?.kind == .empty)
    #expect(
      Self.error { () throws(TextFileError) in try Self.text(" \r\n\t\n", .document) }?.description
        == "t.txt: the file holds only whitespace: no text")
    #expect(
      Self.error { () throws(TextFileError) in try Self.text("\u{FEFF}\n \n", .lines) }?.description
        == "t.txt: no non-empty lines: every line is blank")
    let list = Self.error { () throws(TextFileError) in
      try TextFile.decodeJSONList(Array(" [ ] ".utf8), file: "l.json")
    }
    #expect(
      list?.kind == .empty && list?.description == "l.json:1:2: empty list: expected at least one string")
    let blank = Self.error { () throws(TextFileError) in try TextFile.decodeJSONList([], file: "l.json") }
    #expect(
      blank?.kind == .empty
        && blank?.description == "l.json: empty file (0 bytes): expected a JSON array of strings")
  }

  /// Invalid UTF-8: the error gives the byte offset (from the file start, BOM included) and line.
  @Test(
    arguments: [
      ([0x61, 0x62, 0xFF, 0x63], 2, "byte 0xFF never occurs in UTF-8"),
      ([0x0A, 0x0A, 0x80], 2, "byte 0x80 is a continuation byte with no lead byte before it"),
      ([0xEF, 0xBB, 0xBF, 0x61, 0xC3, 0x28], 5, "byte 0x28 after 0xC3 is not a continuation byte"),
      ([0xC0, 0xAF], 0, "byte 0xC0 starts an overlong encoding"),
      (
        [0xE0, 0x80, 0xAF], 1,
        "byte 0x80 after 0xE0 is an overlong form, a surrogate or a value past U+10FFFF"
      ),
      (
        [0x41, 0xED, 0xA0, 0x80], 2,
        "byte 0xA0 after 0xED is an overlong form, a surrogate or a value past U+10FFFF"
      ),
      (
        [0xF4, 0x90, 0x80, 0x80], 1,
        "byte 0x90 after 0xF4 is an overlong form, a surrogate or a value past U+10FFFF"
      ),
      ([0x61, 0xE2, 0x82], 3, "the file ends inside the 3-byte sequence that starts at offset 1"),
    ] as [([UInt8], Int, String)])
  func invalidUTF8(bytes: [UInt8], offset: Int, problem: String) {
    let line = bytes[..<offset].filter { $0 == 0x0A }.count + 1
    for mode in TextFile.Mode.allCases {
      let error = Self.error { () throws(TextFileError) in
        try TextFile.decodeText(bytes, mode: mode, file: "u.txt")
      }
      #expect(error?.kind == .encoding)
      #expect(error?.line == line)
      #expect(
        error?.description.hasPrefix("u.txt:\(line): invalid UTF-8 at byte offset \(offset): \(problem)")
          == true, "\(String(describing: error))")
    }
    let json = Self.error { () throws(TextFileError) in try TextFile.decodeJSONList(bytes, file: "u.json") }
    #expect(json?.kind == .encoding && json?.message.contains("byte offset \(offset)") == true)
  }

  @Test func validUTF8EdgesAreAccepted() throws {
    let text = "\u{7F}\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}"
    #expect(try Self.text(text, .document) == [text])
  }

  /// JSON errors name the JSON pointer, what was expected and what was found, and the position.
  @Test(arguments: [
    ("[\"a\", \"b\", 3]", "l.json:1:12: /2: expected a string, found a number"),
    ("[\"a\",\n  null]", "l.json:2:3: /1: expected a string, found null"),
    ("[[\"nested\"]]", "l.json:1:2: /0: expected a string, found an array"),
    ("[{\"text\": \"a\"}]", "l.json:1:2: /0: expected a string, found an object"),
    ("[true]", "l.json:1:2: /0: expected a string, found a boolean"),
    ("{\"a\": \"b\"}", "l.json:1:1: expected a JSON array of strings, found an object"),
    ("\"just a string\"", "l.json:1:1: expected a JSON array of strings, found a string"),
  ])
  func jsonShapeErrors(json: String, message: String) {
    let error = Self.error { () throws(TextFileError) in
      try TextFile.decodeJSONList(Array(json.utf8), file: "l.json")
    }
    #expect(error?.kind == .json)
    #expect(error?.description == message)
  }

  @Test func jsonSyntaxErrorsHaveAPosition() {
    for json in ["[\"a\", ]", "[\"a\" \"b\"]", "[\"a\"", "['a']", "[\"a\"] x", "[\"tab\there\"]"] {
      let error = Self.error { () throws(TextFileError) in
        try TextFile.decodeJSONList(Array(json.utf8), file: "l.json")
      }
      #expect(error?.kind == .json, "\(json)")
      #expect(error?.line == 1 && error?.column != nil, "\(json): \(String(describing: error))")
      #expect(error?.message.contains("expected") == true, "\(json): \(String(describing: error))")
    }
  }
}

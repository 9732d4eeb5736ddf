import MMCore
import Testing

@Suite("JSONParser") struct JSONParserTests {
  @Test func recordsValueAndKeyLocations() throws {
    let text = """
      {
        "a": [1, {"b": "x"}],
        "ü": true
      }
      """
    let document = try JSONParser.parse(text, file: "t.json")
    let expectations: [(String, Int, Int)] = [
      ("", 1, 1), ("/a", 2, 8), ("/a/0", 2, 9), ("/a/1", 2, 12), ("/a/1/b", 2, 18), ("/ü", 3, 8),
    ]
    for (pointer, line, column) in expectations {
      let location = document.location(of: pointer)
      #expect(
        location?.line == line && location?.column == column, "\(pointer): \(String(describing: location))")
    }
    #expect(document.keyLocation(of: "/a").map { [$0.line, $0.column] } == [2, 3])
    #expect(document.keyLocation(of: "/a/1/b").map { [$0.line, $0.column] } == [2, 13])
    #expect(document.keyLocation(of: "/ü").map { [$0.line, $0.column] } == [3, 3])
    #expect(document.location(of: "/missing") == nil)
    #expect(document.value(at: "/a/1/b") == .string("x"))
  }

  @Test func pointersEscapeSlashAndTilde() throws {
    let document = try JSONParser.parse(#"{"a/b": {"m~n": 1}}"#, file: "t.json")
    #expect(document.location(of: "/a~1b/m~0n")?.column == 17)
    #expect(document.value(at: "/a~1b/m~0n") == .number("1"))
    #expect(JSONPointer.tokens("/a~1b/m~0n") == ["a/b", "m~n"])
    #expect(JSONPointer.appending("x/y~", to: "/p") == "/p/x~1y~0")
  }

  @Test func decodesEveryEscape() throws {
    let document = try JSONParser.parse(#"["\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\u0000"]"#, file: "t.json")
    #expect(document.root == .array([.string("\"\\/\u{08}\u{0C}\n\r\té😀\u{0}")]))
  }

  @Test func keepsNumbersAsText() throws {
    let document = try JSONParser.parse("[12345678901234567890, -0.5e-3, 0, 1E+2]", file: "t.json")
    #expect(
      document.root
        == .array([.number("12345678901234567890"), .number("-0.5e-3"), .number("0"), .number("1E+2")]))
  }

  @Test func rejectsDuplicateKeysWithBothLocations() throws {
    let text = "{\n  \"a\": 1,\n  \"a\": 2\n}"
    do {
      _ = try JSONParser.parse(text, file: "d.json")
      Issue.record("expected a duplicate-key error")
    } catch {
      guard case .duplicateKey(let key, let first) = error.kind else {
        Issue.record("wrong kind \(error.kind)")
        return
      }
      #expect(key == "a" && first.line == 2 && first.column == 3)
      #expect((error.line, error.column) == (3, 3))
      #expect(error.description == "d.json:3:3: duplicate key 'a' (first written at line 2, column 3)")
    }
    let recorded = try JSONParser.parse(text, file: "d.json", duplicateKeys: .record)
    #expect(recorded.root == .object([JSONMember("a", .number("1"))]))
    #expect(recorded.duplicateKeys.map(\.pointer) == ["/a"])
    #expect(recorded.duplicateKeys.first?.duplicate.line == 3)
    #expect(recorded.location(of: "/a")?.line == 2, "the kept member's location, not the duplicate's")
  }

  @Test func boundsNesting() throws {
    _ = try JSONParser.parse("[[[1]]]", file: "t.json", maxDepth: 4)
    #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("[[[[1]]]]", file: "t.json", maxDepth: 4) }
    do {
      _ = try JSONParser.parse(String(repeating: "[", count: 100_000), file: "deep.json")
    } catch {
      #expect(error.kind == .tooDeep && error.column == 129, "\(error)")
      #expect(error.message == "expected nesting at most 128 deep, found '['")
    }
  }

  struct Bad: CustomStringConvertible, Sendable {
    var bytes: [UInt8]
    var line: Int
    var column: Int
    var expected: String
    var found: String
    init(_ text: String, _ line: Int, _ column: Int, _ expected: String, _ found: String) {
      self.init(Array(text.utf8), line, column, expected, found)
    }
    init(_ bytes: [UInt8], _ line: Int, _ column: Int, _ expected: String, _ found: String) {
      (self.bytes, self.line, self.column, self.expected, self.found) = (bytes, line, column, expected, found)
    }
    var description: String { String(decoding: bytes, as: UTF8.self) }
  }

  static let badInputs: [Bad] = [
    Bad("", 1, 1, "a JSON value", "the end of the text"),
    Bad("{", 1, 2, "a string key", "the end of the text"),
    Bad(#"{"a" 1}"#, 1, 6, "':' after key 'a'", "'1'"),
    Bad(#"{"a":1,}"#, 1, 8, "a string key", "'}'"),
    Bad(#"{"a":1 "b":2}"#, 1, 8, "',' or '}' in an object", "'\"'"),
    Bad("[1,]", 1, 4, "a JSON value", "']'"),
    Bad("[1 2]", 1, 4, "',' or ']' in an array", "'2'"),
    Bad("01", 1, 2, "no leading zero", "'1'"),
    Bad("-", 1, 2, "a digit", "the end of the text"),
    Bad("1.", 1, 3, "a digit after '.'", "the end of the text"),
    Bad("1e+", 1, 4, "an exponent digit", "the end of the text"),
    Bad("+1", 1, 1, "a JSON value", "'+'"),
    Bad("tru", 1, 4, "'true'", "the end of the text"),
    Bad("nul1", 1, 4, "'null'", "'1'"),
    Bad(#""abc"#, 1, 5, "a closing '\"'", "the end of the text"),
    Bad("\"a\nb\"", 1, 3, "no raw control character inside a string", "a line break"),
    Bad(#""\x""#, 1, 3, "a valid escape", "'x'"),
    Bad(#""\u12G4""#, 1, 6, "4 hex digits after \\u", "'G'"),
    Bad(#""\ud800""#, 1, 8, "a low surrogate", "'\"'"),
    Bad(#""\ud800\u0041""#, 1, 10, "a low surrogate", "'0'"),
    Bad(#""\udc00""#, 1, 4, "no lone low surrogate", "'d'"),
    Bad("{} x", 1, 4, "the end of the JSON text", "'x'"),
    Bad("\n\n  ?", 3, 3, "a JSON value", "'?'"),
    Bad("[1,\n  2,\n  x]", 3, 3, "a JSON value", "'x'"),
    Bad("[\"é\", x]", 1, 7, "a JSON value", "'x'"),
    Bad("/* c */ 1", 1, 1, "a JSON value", "'/'"),
    Bad("[1,\t", 1, 5, "a JSON value", "the end of the text"),
    Bad([0xEF, 0xBB, 0xBF, 0x31], 1, 1, "a JSON value", "a byte-order mark"),
    Bad([0x22, 0xC3, 0x28, 0x22], 1, 3, "valid UTF-8", "'('"),
    Bad([0x22, 0xC0, 0x80, 0x22], 1, 2, "valid UTF-8", "byte 192"),
    Bad([0x22, 0xED, 0xA0, 0x80, 0x22], 1, 3, "valid UTF-8", "byte 160"),
    Bad([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1, 3, "valid UTF-8", "byte 144"),
    Bad([0x22, 0xE2, 0x82], 1, 3, "valid UTF-8", "the end of the text"),
    Bad([0x22, 0xFF, 0x22], 1, 2, "valid UTF-8", "byte 255"),
  ]

  @Test(arguments: badInputs) func reportsWhereAndWhat(bad: Bad) {
    do {
      let document = try JSONParser.parse(bad.bytes, file: "bad.json")
      Issue.record("parsed as \(document.root)")
    } catch {
      #expect((error.line, error.column) == (bad.line, bad.column), "\(error)")
      #expect(error.expected.hasPrefix(bad.expected), "\(error)")
      #expect(error.found == bad.found, "\(error)")
      #expect(error.description.hasPrefix("bad.json:\(bad.line):\(bad.column): expected "))
    }
  }

  @Test func errorNamesTheEnclosingPointer() {
    do {
      _ = try JSONParser.parse(#"{"nodes": {"a": {"type": tru}}}"#, file: "g.json")
    } catch {
      #expect(error.pointer == "/nodes/a")
      #expect(error.offset == 28)
    }
  }

  @Test func acceptsEveryValidUTF8Width() throws {
    let text = "[\"a\u{E9}\u{20AC}\u{1F600}\u{10FFFF}\"]"
    #expect(
      try JSONParser.parse(Array(text.utf8), file: "u.json").root == .array([.string("aé€😀\u{10FFFF}")]))
  }

  @Test func roundTripsThroughEncoding() throws {
    let text = #"{"a":[1,2.5,"x\ny",true,false,null,{}],"b":{"c":[]}}"#
    let document = try JSONParser.parse(text, file: "r.json")
    #expect(document.root.encoded() == text)
    #expect(try JSONParser.parse(document.root.encoded(pretty: true), file: "r.json").root == document.root)
  }
}

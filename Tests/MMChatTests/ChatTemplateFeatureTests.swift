import Foundation
import MMChat
import MMCore
import Testing

@Suite("Chat template features and errors") struct ChatTemplateFeatureTests {
  static func render(_ source: String, _ variables: [String: JSONValue] = [:]) throws(ChatTemplateError)
    -> String
  {
    try ChatTemplate(source: source).render(
      messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false, variables: variables)
  }

  static func error(_ source: String) -> ChatTemplateError? {
    do {
      _ = try render(source)
      return nil
    } catch {
      return error
    }
  }

  /// Small templates per feature, against jinja2 via transformers (Tests/Goldens/chat/features.json).
  @Test func featureTemplatesMatchTransformers() throws {
    let text = try String(
      contentsOf: ChatTemplateGoldenTests.root.appendingPathComponent("Tests/Goldens/chat/features.json"),
      encoding: .utf8)
    let doc = try JSONParser.parse(text, file: "features.json", recordLocations: false).root
    let messages = doc["messages"]?.elements ?? []
    var variables: [String: JSONValue] = [:]
    for member in doc["variables"]?.members ?? [] { variables[member.key] = member.value }
    let cases = doc["cases"]?.elements ?? []
    #expect(cases.count >= 20)
    for c in cases {
      let source = try #require(c["source"]?.string)
      do {
        let out = try ChatTemplate(source: source).render(
          messages: messages, addGenerationPrompt: true, variables: variables)
        #expect(out == c["output"]?.string, "\(source)")
      } catch {
        Issue.record("\(source): \(error)")
      }
    }
  }

  @Test func unsupportedFilterNamesItsLocation() {
    let e = Self.error("line 1\nline 2\n{{ 'abc' | wordwrap(2) }}")
    #expect(e?.kind == .unsupported)
    #expect(e?.description == "unsupported filter 'wordwrap' at line 3, column 12")
  }

  @Test func unsupportedConstructsAreErrorsNotOutput() {
    let cases: [(String, String)] = [
      ("{% for x in [1] %}{{ x is prime }}{% endfor %}", "unsupported test 'prime' at line 1, column 27"),
      ("{% include 'x.jinja' %}", "unsupported tag 'include' at line 1, column 4"),
      ("ab\n  {% filter upper %}x{% endfilter %}", "unsupported tag 'filter' at line 2, column 6"),
      ("{{ 'a'.zfill(3) }}", "unsupported string method 'zfill' at line 1, column 13"),
      ("{{ cycler(1, 2) }}", "unsupported function 'cycler' at line 1, column 10"),
      ("{{ '%s' % 'x' }}", "unsupported string formatting with '%' at line 1, column 9"),
      (
        "{% for x in y recursive %}{% endfor %}",
        "unsupported for-loop option 'recursive' at line 1, column 15"
      ),
    ]
    for (source, expected) in cases {
      let e = Self.error(source)
      #expect(e?.kind == .unsupported, "\(source)")
      #expect(e?.description == expected, "\(source)")
    }
  }

  @Test func raiseExceptionCarriesTheTemplatesMessage() {
    let e = Self.error(
      "{% if messages[0].role == 'user' %}{{ raise_exception('Roles must alternate!') }}{% endif %}")
    #expect(e?.kind == .raised)
    #expect(e?.message == "Roles must alternate!")
    #expect(e?.description == "Roles must alternate!")
    #expect(e?.line == 1)
  }

  @Test func undefinedRendersEmptyButItsAttributesFail() throws {
    #expect(try Self.render("[{{ nothing }}][{{ nothing|length }}][{{ messages[0].missing }}]") == "[][0][]")
    #expect(try Self.render("{% for x in nothing %}x{% endfor %}{{ nothing is defined }}") == "False")
    let attr = Self.error("{{ nothing.field }}")
    #expect(attr?.kind == .runtime)
    #expect(attr?.description == "'nothing' is undefined at line 1, column 12")
    let nested = Self.error("{{ messages[0].missing.strip() }}")
    #expect(nested?.message == "'dict object' has no attribute 'missing'")
    #expect(Self.error("{{ nothing + 'a' }}")?.message == "'nothing' is undefined")
    #expect(Self.error("{{ 'a' + 1 }}")?.message == "can only concatenate str (not \"int\") to str")
  }

  @Test func syntaxErrorsHaveLocations() {
    let e = Self.error("{% if true %}\nno end")
    #expect(e?.kind == .syntax)
    #expect(e?.message == "unexpected end of template, expected 'elif' or 'else' or 'endif'")
    #expect(Self.error("{{ 1 + }}")?.kind == .syntax)
    #expect(Self.error("x {{ 'open")?.line == 1)
  }

  @Test func variablesAndDefaults() throws {
    #expect(
      try Self.render("{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}")
        == "TrueTrueFalse")
    let tools: JSONValue = .array([
      .object([JSONMember("name", .string("f")), JSONMember("n", .number("1.50"))])
    ])
    #expect(
      try Self.render(
        "{{ tools|tojson }}|{{ tools[0].n }}|{{ bos_token }}", ["tools": tools, "bos_token": .string("<s>")])
        == "[{\"name\": \"f\", \"n\": 1.5}]|1.5|<s>")
    let date = try Self.render("{{ strftime_now('%Y') }}")
    #expect(date.count == 4 && Int(date) != nil)
  }
}

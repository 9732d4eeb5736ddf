import Foundation
import MMChat
import MMCore
import Testing

/// Real chat templates rendered against goldens from HF transformers' own renderer
/// (Scripts/goldens/chat_templates.py).
@Suite("Chat template goldens") struct ChatTemplateGoldenTests {
  static var root: URL {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
    }
    return url
  }

  static func load(_ path: String) throws -> JSONValue {
    let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    return try JSONParser.parse(text, file: path, recordLocations: false).root
  }

  @Test func everyTemplateAndConversationMatchesTransformers() throws {
    let templates = try Self.load("Tests/Fixtures/chat/templates.json")["templates"]?.elements ?? []
    let fixtures = try Self.load("Tests/Fixtures/chat/conversations.json")
    let renders = try Self.load("Tests/Goldens/chat/renders.json")["renders"]?.elements ?? []
    #expect(templates.count >= 20)
    #expect(renders.count >= 200)
    var compiled: [String: (ChatTemplate, JSONValue)] = [:]
    for t in templates {
      let name = try #require(t["name"]?.string)
      compiled[name] = (try ChatTemplate(source: try #require(t["source"]?.string)), t)
    }
    var conversations: [String: [JSONValue]] = [:]
    for c in fixtures["conversations"]?.elements ?? [] {
      conversations[c["name"]?.string ?? ""] = c["messages"]?.elements ?? []
    }
    var matched = 0
    for r in renders {
      let name = r["template"]?.string ?? ""
      let label = "\(name) × \(r["conversation"]?.string ?? "") agp=\(r["add_generation_prompt"] ?? .null)"
      let (template, info) = try #require(compiled[name])
      let messages = try #require(conversations[r["conversation"]?.string ?? ""])
      var variables: [String: JSONValue] = [
        "bos_token": info["bos_token"] ?? .string(""), "eos_token": info["eos_token"] ?? .string(""),
      ]
      if r["tools"]?.bool == true { variables["tools"] = fixtures["tools"] }
      let agp = r["add_generation_prompt"]?.bool ?? false
      // Both entry points: plain role/content messages and JSON messages.
      let plain = messages.map {
        ChatMessage(role: $0["role"]?.string ?? "", content: $0["content"]?.string ?? "")
      }
      if let expected = r["output"]?.string {
        do {
          let out = try template.render(messages: plain, addGenerationPrompt: agp, variables: variables)
          let outJSON = try template.render(
            messages: messages, addGenerationPrompt: agp, variables: variables)
          #expect(out == expected, "\(label)")
          #expect(outJSON == expected, "\(label) (JSON messages)")
          if out == expected { matched += 1 }
        } catch {
          Issue.record("\(label): \(error)")
        }
      } else {
        let message = try #require(r["error"]?.string)
        #expect(throws: ChatTemplateError.self, "\(label)") {
          try template.render(messages: plain, addGenerationPrompt: agp, variables: variables)
        }
        do {
          _ = try template.render(messages: plain, addGenerationPrompt: agp, variables: variables)
        } catch {
          #expect(error.kind == .raised, "\(label)")
          #expect(error.message == message, "\(label)")
        }
        matched += 1
      }
    }
    #expect(matched == renders.count)
  }
}

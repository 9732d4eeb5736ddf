import Foundation
import MMChat
import MMCore
import Testing

/// Templates are untrusted input (they ship inside model files): seeded mutations of the real
/// templates — bytes replaced, deleted, duplicated, cut — must parse and render or throw
/// `ChatTemplateError`, never crash or hang.
@Suite("Chat template fuzz") struct ChatTemplateFuzzTests {
  @Test func mutatedTemplatesNeverCrash() throws {
    let templates =
      try ChatTemplateGoldenTests.load("Tests/Fixtures/chat/templates.json")["templates"]?.elements ?? []
    let sources = templates.compactMap { $0["source"]?.string }
    #expect(sources.count >= 20)
    let pieces = Array("{{}}{%%}{##}-+()[].,|~'\"\\ifforendsetinnotandor".unicodeScalars)
    let messages = [
      ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi {{ there }}"),
      ChatMessage(role: "assistant", content: "Hello."), ChatMessage(role: "user", content: "Bye"),
    ]
    var random = SeededRandom(seed: 2026)
    var rendered = 0
    var refused = 0
    for trial in 0..<600 {
      var scalars = Array(sources[trial % sources.count].unicodeScalars)
      for _ in 0..<(1 + Int(random.next() % 4)) where !scalars.isEmpty {
        let at = Int(random.next() % UInt64(scalars.count))
        switch random.next() % 4 {
        case 0: scalars[at] = pieces[Int(random.next() % UInt64(pieces.count))]
        case 1: scalars.remove(at: at)
        case 2: scalars.insert(contentsOf: scalars[at..<min(scalars.count, at + 8)], at: at)
        default: scalars.removeLast(scalars.count - at)
        }
      }
      var text = String.UnicodeScalarView()
      text.append(contentsOf: scalars)
      do {
        let template = try ChatTemplate(source: String(text))
        _ = try template.render(messages: messages, addGenerationPrompt: trial % 2 == 0)
        rendered += 1
      } catch {
        refused += 1
      }
    }
    // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
    #expect(rendered >= 20 && refused >= 50, "rendered \(rendered), refused \(refused)")
  }
}

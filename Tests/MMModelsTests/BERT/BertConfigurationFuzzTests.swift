import Foundation
import MMCore
import MMModels
import MMNN
import Testing

/// config.json is untrusted input: seeded random edits of the tiny model's file give a valid
/// configuration or a `ModelError.configuration` naming the file, never a crash.
@Suite struct BertConfigurationFuzzTests {
  @Test func mutatedConfigsNeverCrash() throws {
    let path = BertParityTests.tinyFolder + "/config.json"
    let valid = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let tokens = [
      "null", "-1", "0", "1e400", "3.5", "\"gelu_new\"", "\"tanh\"", "true", "[", "}", ",", "\"\"",
    ]
    var rng = SeededRandom(seed: 11)
    func random(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    var accepted = 0
    for iteration in 0..<600 {
      var bytes = valid
      switch random(4) {
      case 0: for _ in 0...random(4) { bytes[random(bytes.count)] = UInt8(random(256)) }
      case 1: bytes = Array(bytes.prefix(random(bytes.count)))
      case 2:
        // Replace a value after a colon with a token.
        let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
        let at = colons[random(colons.count)] + 2
        var end = at
        while end < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "\n")].contains(bytes[end]) { end += 1 }
        bytes.replaceSubrange(at..<end, with: Array(tokens[random(tokens.count)].utf8))
      default: bytes.insert(contentsOf: Array(tokens[random(tokens.count)].utf8), at: random(bytes.count))
      }
      let document: JSONDocument
      do { document = try JSONParser.parse(bytes, file: "fuzz/config.json") } catch { continue }
      do {
        let configuration = try BertConfiguration(json: document.root, source: "fuzz/config.json")
        #expect(configuration.hiddenSize % configuration.headCount == 0, "iteration \(iteration)")
        accepted += 1
      } catch {
        guard case .configuration(let source, _) = error else {
          Issue.record("iteration \(iteration): \(error)")
          continue
        }
        #expect(source == "fuzz/config.json")
      }
    }
    #expect(accepted > 0, "no mutation kept a valid configuration")
  }
}

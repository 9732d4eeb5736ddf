import Foundation
import MMCore
import MMModels
import MMNN
import MMTestSupport
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
    var mutator = JSONMutator(seed: 11, tokens: tokens, truncates: true)
    var accepted = 0
    for iteration in 0..<600 {
      let bytes = mutator.mutate(valid)
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

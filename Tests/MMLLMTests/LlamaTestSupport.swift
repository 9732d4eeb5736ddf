import Foundation
import MMCore
import MMLLM
import MMTestSupport
import MMWeights

/// Fixtures (Tests/Fixtures/llama) and goldens (Tests/Goldens/llama), written by
/// Scripts/goldens/llama.py.
enum LlamaFiles {
  static let root = packageRoot

  static func fixture(_ name: String) throws -> String {
    let path = root.appendingPathComponent("Tests/Fixtures/llama/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else { throw MissingLlamaFile(path: path) }
    return path
  }

  static func golden(_ name: String) throws -> Tensor {
    let path = root.appendingPathComponent("Tests/Goldens/llama/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else { throw MissingLlamaFile(path: path) }
    return try NPY.read(contentsOf: path)
  }

  /// Prompt i (7, 1 and 80 token ids).
  static func prompt(_ index: Int) throws -> [Int32] {
    try golden("prompt\(index).npy").scalars(Int32.self)
  }

  /// Logits at every position of prompt i, [tokens, 256], for a model ("tiny", "tiny_q8_0",
  /// "llama3").
  static func logits(_ model: String, _ index: Int) throws -> [Float] {
    try golden("\(model)_logits\(index).npy").floats()
  }

  static func tinyHF(maxSequenceLength: Int? = nil, promptChunk: Int = 64) throws -> LlamaModel {
    try LlamaModel(
      directory: fixture("tiny"), maxSequenceLength: maxSequenceLength, promptChunk: promptChunk)
  }
}

struct MissingLlamaFile: Error, CustomStringConvertible {
  let path: String
  var description: String { "missing \(path): run Scripts/goldens/llama.py" }
}

/// The index of the largest value of each row of [rows, columns].
func rowArgmax(_ values: [Float], columns: Int) -> [Int] {
  stride(from: 0, to: values.count, by: columns).map { start in
    var best = start
    for i in start..<start + columns where values[i] > values[best] { best = i }
    return best - start
  }
}

import Foundation
import MMCore
import MMTestSupport
import MMWeights
import Testing

/// The tiny LLaVA checkpoints of Scripts/goldens/llava.py (Tests/Fixtures/llava/{tiny,multi})
/// and their goldens (Tests/Goldens/llava/tiny.safetensors, tiny.json).
enum LlavaFiles {
  static let root = packageRoot
  static let tiny = root.appendingPathComponent("Tests/Fixtures/llava/tiny").path
  static let multi = root.appendingPathComponent("Tests/Fixtures/llava/multi").path
  static let photo = root.appendingPathComponent("../shared/testdata/dog_image.jpg").standardized.path

  static func golden() throws -> SafetensorsFile {
    try SafetensorsFile(path: root.appendingPathComponent("Tests/Goldens/llava/tiny.safetensors").path)
  }

  static func tensor(_ name: String) throws -> Tensor {
    try golden().tensor(named: name).contiguous()
  }

  /// tiny.json: the prompt, its ids and the greedy tokens of `generate`.
  struct Generation: Decodable {
    let prompt: String
    let rendered: String
    let image_token_id: Int32
    let image_tokens: Int
    let input_ids: [Int32]
    let max_new_tokens: Int
    let tokens: [Int32]
    let text: String
  }

  static func generation() throws -> Generation {
    let data = try Data(contentsOf: root.appendingPathComponent("Tests/Goldens/llava/tiny.json"))
    return try JSONDecoder().decode(Generation.self, from: data)
  }

  /// A copy of `fixture` in a new temporary folder, its tensors passed through `edit`
  /// (name, tensor) → replacement list.
  static func editedCopy(
    of fixture: String, _ edit: ([(name: String, tensor: Tensor)]) throws -> [(name: String, tensor: Tensor)]
  ) throws -> String {
    let folder = NSTemporaryDirectory() + "mmgraph-llava-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for file in try FileManager.default.contentsOfDirectory(atPath: fixture) where file != "model.safetensors"
    {
      try FileManager.default.copyItem(atPath: fixture + "/" + file, toPath: folder + "/" + file)
    }
    let store = try SafetensorsFile(path: fixture + "/model.safetensors")
    let tensors = try store.names.map { (name: $0, tensor: try store.tensor(named: $0)) }
    try Safetensors.write(try edit(tensors), to: folder + "/model.safetensors")
    return folder
  }

  static func expectClose(
    _ actual: Tensor, _ name: String, tolerance: Float, sourceLocation: SourceLocation = #_sourceLocation
  ) throws -> Float {
    let expected = try tensor(name)
    #expect(
      actual.shape.reduce(1, *) == expected.count, "\(name): \(actual.shape) vs golden \(expected.shape)",
      sourceLocation: sourceLocation)
    let (a, b) = (actual.contiguous().floats(), expected.floats())
    guard a.count == b.count else { return .infinity }
    let worst = maxAbsDifference(a, b).value
    #expect(worst <= tolerance, "\(name): \(differenceReport(a, b))", sourceLocation: sourceLocation)
    return worst
  }
}

import Foundation
import MMCore
import MMTestSupport
import MMWeights
import Testing

/// The tiny BLIP-2 and InstructBLIP checkpoints (Tests/Fixtures/blip2/<family>) and their goldens
/// (Tests/Goldens/blip2/<family>.{safetensors,json}), written by Scripts/goldens/blip2.py.
enum BLIP2Files {
  static let families = ["blip2-tiny", "instructblip-tiny"]

  static let root = packageRoot

  static func fixture(_ family: String) -> String {
    root.appendingPathComponent("Tests/Fixtures/blip2/\(family)").path
  }

  static func golden(_ family: String) throws -> SafetensorsFile {
    try SafetensorsFile(path: root.appendingPathComponent("Tests/Goldens/blip2/\(family).safetensors").path)
  }

  /// `<family>.json`: prompt, input_ids, qformer_input_ids, greedy_tokens, …
  static func record(_ family: String) throws -> JSONValue {
    let path = root.appendingPathComponent("Tests/Goldens/blip2/\(family).json").path
    let data = try #require(
      FileManager.default.contents(atPath: path), "missing \(path): run Scripts/goldens/blip2.py")
    return try JSONParser.parse([UInt8](data), file: path).root
  }

  static func ints(_ record: JSONValue, _ key: String) throws -> [Int32] {
    let items = try #require(record[key]?.elements, "\(key) missing from the golden record")
    return try items.map { Int32(try #require($0.int)) }
  }

  static func tensor(_ file: SafetensorsFile, _ name: String) throws -> Tensor {
    let t = try file.tensor(named: name)
    return t.dtype == .f32 ? t.contiguous() : t.converted(to: .f32)
  }

  /// Checks `actual` against golden `name` and returns the largest absolute difference.
  @discardableResult
  static func expectClose(_ actual: Tensor, _ file: SafetensorsFile, _ name: String, tolerance: Float) throws
    -> Float
  {
    let expected = try tensor(file, name).floats()
    let values = actual.contiguous().floats()
    #expect(values.count == expected.count, "\(name): \(values.count) values, golden \(expected.count)")
    guard values.count == expected.count else { return .infinity }
    let (worst, _) = maxAbsDifference(values, expected)
    #expect(worst <= tolerance, "\(name): \(differenceReport(values, expected))")
    return worst
  }
}

import Foundation
import MMCore
import MMModels
import MMTestSupport
import MMWeights

/// The tiny ImageBind fixture (Tests/Fixtures/imagebind) and its goldens
/// (Tests/Goldens/imagebind), written by Scripts/goldens/imagebind.py.
enum ImageBindFiles {
  static let root = packageRoot

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
  static var weightsPath: String { path("Tests/Fixtures/imagebind/tiny.safetensors") }
  static var configurationPath: String { path("Tests/Fixtures/imagebind/tiny.json") }

  static func weights() throws -> SafetensorsFile { try SafetensorsFile(path: weightsPath) }
  static func configuration() throws -> ImageBindConfiguration {
    try ImageBindConfiguration(contentsOf: configurationPath)
  }
  static func goldens() throws -> SafetensorsFile {
    try SafetensorsFile(path: path("Tests/Goldens/imagebind/parity.safetensors"))
  }

  /// The golden script's `noise(shape, seed)`: element i is
  /// ((i + seed) · 2654435761 mod 2³²) / 2³¹ − 1, computed in Double, rounded to Float.
  static func noise(_ shape: [Int], seed: UInt64) -> Tensor {
    let count = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
      let hashed = ((UInt64(i) &+ seed) &* 2_654_435_761) % (1 << 32)
      values[i] = Float(Double(hashed) / 2_147_483_648 - 1)
    }
    return Tensor(values, shape: shape)
  }
}

/// The largest |a − b| between a traced stage and its golden, and the golden's largest |value|.
func stageDifference(_ actual: Tensor?, _ golden: Tensor) -> (difference: Float, scale: Float) {
  guard let actual, actual.shape == golden.shape else { return (.infinity, 0) }
  let g = golden.converted(to: .f32).floats()
  let scale = g.reduce(Float(0)) { max($0, abs($1)) }
  return (maxAbsDifference(actual.contiguous().floats(), g).value, scale)
}

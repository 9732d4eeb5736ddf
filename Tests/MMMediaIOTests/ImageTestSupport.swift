import Foundation
import MMCore
import MMMediaIO
import MMWeights

/// Paths for the image tests: fixtures (Tests/Fixtures/image) and goldens (Tests/Goldens/image),
/// both written by Scripts/goldens/image.py, and the shared photos (package root/../shared/testdata).
enum ImageFiles {
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url = url.deletingLastPathComponent()
    }
    return url
  }()

  static func fixture(_ name: String) -> String {
    root.appendingPathComponent("Tests/Fixtures/image/\(name)").path
  }

  /// A shared photo's path; a missing file fails the test with its path.
  static func shared(_ name: String) throws -> String {
    let path = root.deletingLastPathComponent().appendingPathComponent("shared/testdata/\(name)").standardized
      .path
    guard FileManager.default.fileExists(atPath: path) else {
      throw ImageTestFileMissing(path: path, hint: "the shared test photos (../shared/testdata) are required")
    }
    return path
  }

  static func bytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ImageTestFileMissing(path: path, hint: "run Scripts/goldens/image.py")
    }
    return [UInt8](data)
  }

  /// Tests/Goldens/image/<name>.npy; a missing file fails the test with its path.
  static func golden(_ name: String) throws -> Tensor {
    let path = root.appendingPathComponent("Tests/Goldens/image/\(name).npy").path
    guard FileManager.default.fileExists(atPath: path) else {
      throw ImageTestFileMissing(path: path, hint: "run Scripts/goldens/image.py")
    }
    return try NPY.read(contentsOf: path)
  }

  /// A fixture decoded as stored (no EXIF rotation: what PIL's Image.open gives).
  static func decode(_ name: String) throws -> Image {
    try ImageFile.read(contentsOf: fixture(name), options: .storedOrientation)
  }

  static func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("mmgraph-image-\(getpid())-\(name)").path
  }
}

struct ImageTestFileMissing: Error, CustomStringConvertible {
  var path: String
  var hint: String
  var description: String { "test file missing: \(path) (\(hint))" }
}

/// Samples of an image as Ints, in HWC order.
func sampleInts(_ image: Image) -> [Int] {
  switch image.samples {
  case .uint8(let values): return values.map(Int.init)
  case .uint16(let values): return values.map(Int.init)
  }
}

/// A golden's elements as Ints (u8/u16/i64 goldens).
func goldenInts(_ tensor: Tensor) throws -> [Int] {
  switch tensor.dtype {
  case .u8: return try tensor.scalars(UInt8.self).map(Int.init)
  case .u16: return try tensor.scalars(UInt16.self).map(Int.init)
  case .i64: return try tensor.scalars(Int64.self).map(Int.init)
  default: return tensor.floats().map { Int($0) }
  }
}

/// "identical", or where and by how much two sample arrays differ.
func sampleDifference(_ a: [Int], _ b: [Int]) -> (maxDifference: Int, report: String) {
  guard a.count == b.count else { return (Int.max, "\(a.count) samples vs \(b.count)") }
  var worst = 0
  var at = -1
  var differing = 0
  for i in a.indices where a[i] != b[i] {
    differing += 1
    if abs(a[i] - b[i]) > worst {
      worst = abs(a[i] - b[i])
      at = i
    }
  }
  if at < 0 { return (0, "identical") }
  return (worst, "\(differing) samples differ, max |Δ| = \(worst) at \(at): \(a[at]) vs \(b[at])")
}

/// CRC-32 (zlib's) of bytes, for the digests of the goldens too large to commit.
func imageCRC32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
  var table = [UInt32](repeating: 0, count: 256)
  for i in 0..<256 {
    var c = UInt32(i)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    table[i] = c
  }
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
  return crc ^ 0xFFFF_FFFF
}

/// The (crc32, count, round(sum × 1000)) digest Scripts/goldens/image.py writes.
func imageDigest<T: BinaryInteger>(_ values: [T]) -> [Int] {
  let crc = values.withUnsafeBytes { imageCRC32($0) }
  let sum = values.reduce(0.0) { $0 + Double($1) }
  return [Int(crc), values.count, Int((sum * 1000).rounded())]
}

func imageDigest(_ values: [Float]) -> [Int] {
  let crc = values.withUnsafeBytes { imageCRC32($0) }
  let sum = values.reduce(0.0) { $0 + Double($1) }
  return [Int(crc), values.count, Int((sum * 1000).rounded())]
}

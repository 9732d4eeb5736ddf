import Foundation
import MMCore
import MMMediaIO
import Testing

/// Fixtures and goldens for the point cloud tests (written by Scripts/goldens/pointcloud.py).
enum PointCloudFiles {
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url = url.deletingLastPathComponent()
    }
    return url
  }()

  static func fixture(_ name: String) -> String {
    root.appendingPathComponent("Tests/Fixtures/pointcloud/\(name)").path
  }

  static func bytes(_ name: String) throws -> [UInt8] {
    let path = fixture(name)
    guard let data = FileManager.default.contents(atPath: path) else {
      throw PointCloudFileMissing(path: path)
    }
    return [UInt8](data)
  }

  /// A JSON golden as a dictionary; a missing file fails with its path.
  static func golden(_ name: String) throws -> [String: Any] {
    let path = root.appendingPathComponent("Tests/Goldens/pointcloud/\(name)").path
    guard let data = FileManager.default.contents(atPath: path),
      let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw PointCloudFileMissing(path: path) }
    return object
  }

  static func floats(_ value: Any?) -> [Float] { (value as? [NSNumber] ?? []).map { $0.floatValue } }
  static func ints(_ value: Any?) -> [Int] { (value as? [NSNumber] ?? []).map { $0.intValue } }
}

struct PointCloudFileMissing: Error, CustomStringConvertible {
  let path: String
  var description: String {
    "missing or unreadable golden/fixture \(path); run Scripts/goldens/pointcloud.py"
  }
}

/// A successfully decoded cloud must be well formed: rank 2, ≥ 3 columns, names match, all finite.
func expectWellFormed(_ cloud: PointCloud, _ context: String) {
  let shapeOK =
    cloud.points.rank == 2 && cloud.points.shape[1] == cloud.columns.count && cloud.columns.count >= 3
  #expect(shapeOK, "\(context): shape \(cloud.points.shape) for columns \(cloud.columns)")
  let finite = cloud.points.floats().allSatisfy { $0.isFinite }
  #expect(finite, "\(context): non-finite value in a decoded cloud")
}

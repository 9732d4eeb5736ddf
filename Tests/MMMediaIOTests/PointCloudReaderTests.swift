import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import MMWeights
import Testing

@Suite("Point cloud readers")
struct PointCloudReaderTests {
  static let columns = ["x", "y", "z", "nx", "ny", "nz", "red", "green", "blue"]

  /// (fixture, tolerance): binary float32 files must be exact, ASCII within 1e-6.
  @Test(arguments: [
    ("cloud_le.ply", Float(0)), ("cloud_be.ply", 0), ("cloud_ascii.ply", 1e-6),
    ("cloud_binary.pcd", 0), ("cloud_ascii.pcd", 1e-6), ("cloud.xyz", 1e-6),
  ])
  func readsFixture(name: String, tolerance: Float) throws {
    let golden = try PointCloudFiles.golden("cloud.json")
    let expected = PointCloudFiles.floats(golden["values"])
    let cloud = try PointCloud.read(contentsOf: PointCloudFiles.fixture(name))
    #expect(cloud.points.shape == [expected.count / 9, 9])
    let names = name.hasSuffix(".xyz") ? ["x", "y", "z", "f0", "f1", "f2", "f3", "f4", "f5"] : Self.columns
    #expect(cloud.columns == names)
    let got = cloud.points.floats()
    #expect(maxAbsDifference(got, expected).value <= tolerance, "\(name): \(differenceReport(got, expected))")
  }

  @Test func readsNPYThroughMMWeights() throws {
    let tensor = try NPY.read(contentsOf: PointCloudFiles.fixture("cloud.npy"))
    let cloud = try PointCloud(tensor: tensor, columns: Self.columns, file: "cloud.npy")
    let expected = PointCloudFiles.floats(try PointCloudFiles.golden("cloud.json")["values"])
    #expect(cloud.points.floats() == expected)
    #expect(cloud.featureNames == ["nx", "ny", "nz", "red", "green", "blue"])
  }

  @Test func xyzHeaderLineNamesColumns() throws {
    let text = "x,y,z,intensity\n1,2,3,4\n# comment\n5;6;7;8\n\n 9 10 11 12 \r\n"
    let cloud = try PointCloud.decode(Array(text.utf8), format: .xyz, file: "a.txt")
    #expect(cloud.columns == ["x", "y", "z", "intensity"])
    #expect(cloud.points.floats() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  }

  /// Big-endian PLY with double coordinates, a short and an int feature, x y z declared out of order.
  @Test func binaryPropertyTypes() throws {
    var bytes = Array(
      ("ply\nformat binary_big_endian 1.0\nelement vertex 2\nproperty short label\nproperty double z\n"
        + "property double x\nproperty double y\nproperty int id\nend_header\n").utf8)
    for (label, z, x, y, id) in [(Int16(-7), 3.5, 1.25, -2.0, Int32(70_000)), (300, 0.1, 1e-3, 6.0, -1)] {
      withUnsafeBytes(of: label.bigEndian) { bytes += $0 }
      for v in [z, x, y] { withUnsafeBytes(of: v.bitPattern.bigEndian) { bytes += $0 } }
      withUnsafeBytes(of: id.bigEndian) { bytes += $0 }
    }
    let cloud = try PointCloud.decode(bytes, format: .ply, file: "t.ply")
    #expect(cloud.columns == ["x", "y", "z", "label", "id"])
    #expect(cloud.points.floats() == [1.25, -2, 3.5, -7, 70_000, Float(1e-3), 6, Float(0.1), 300, -1])
    // A double beyond float32's range is rejected, not turned into infinity.
    bytes.replaceSubrange(
      (bytes.count - 12)..<(bytes.count - 4),
      with: withUnsafeBytes(of: (1e300).bitPattern.bigEndian) { Array($0) })
    #expect(throws: PointCloudError.self) { try PointCloud.decode(bytes, format: .ply, file: "t.ply") }
  }

  static let header =
    "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
  static let pcdHeader =
    "VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 2\nHEIGHT 1\nPOINTS 2\n"

  /// Each bad input → a PointCloudError whose description is exactly/contains the expected text.
  @Test(arguments: [
    (
      "cloud.ply", PointCloudFormat.ply, header + "0 0 0\n1 nan 2\n",
      "cloud.ply: vertex 1: coordinate y is NaN"
    ),
    ("c.ply", .ply, header + "0 0 0\n1 2 inf\n", "c.ply: vertex 1: coordinate z is infinite"),
    ("c.ply", .ply, header + "100 200 300\n", "c.ply: vertex 1: data ends after 1 of 2"),
    (
      "c.ply", .ply,
      "ply\nformat binary_little_endian 1.0\nelement vertex 9223372036854775807\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
      "c.ply: header declares 9223372036854775807 vertices"
    ),
    (
      "c.ply", .ply,
      "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
        + String(repeating: "\0", count: 30), "c.ply: header declares 3 vertices but only 30 bytes"
    ),
    (
      "c.ply", .ply, "ply\nformat ascii 1.0\nelement vertex 1\nproperty float128 x\nend_header\n",
      "unknown property type 'float128'"
    ),
    (
      "c.ply", .ply, "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n",
      "no 'end_header'"
    ),
    (
      "c.ply", .ply,
      "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n1 2\n",
      "no scalar property 'z'"
    ),
    ("c.ply", .ply, "PLY?", "not a PLY file"),
    ("c.ply", .ply, "", "not a PLY file"),
    (
      "c.ply", .ply,
      "ply\nformat binary_little_endian 1.0\nelement face 1\nproperty list uchar int v\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n\u{7F}",
      "c.ply: face 0: list 'v' of 127 items runs past the end"
    ),
    ("c.pcd", .pcd, pcdHeader + "DATA binary_compressed\n", "c.pcd: DATA binary_compressed is not supported"),
    ("c.pcd", .pcd, pcdHeader + "DATA ascii\n1 2 3\n4 -inf 6\n", "c.pcd: point 1: coordinate y is infinite"),
    ("c.pcd", .pcd, pcdHeader + "DATA ascii\n100 200 300\n", "c.pcd: point 1: data ends after 1 of 2"),
    (
      "c.pcd", .pcd, pcdHeader + "DATA binary\n" + String(repeating: "\0", count: 23),
      "header declares 2 points but only 23 bytes"
    ),
    (
      "c.pcd", .pcd,
      pcdHeader.replacingOccurrences(of: "POINTS 2", with: "POINTS 99999999999999999999") + "DATA binary\n",
      "POINTS must be one non-negative integer"
    ),
    (
      "c.pcd", .pcd, pcdHeader.replacingOccurrences(of: "TYPE F F F", with: "TYPE F F Q") + "DATA ascii\n",
      "unknown TYPE Q"
    ),
    ("c.pcd", .pcd, "", "c.pcd: empty file"),
    ("c.xyz", .xyz, "1 2\n3 4\n", "c.xyz: line 1: expected at least 3 columns"),
    ("c.xyz", .xyz, "1 2 3\n4 5\n", "c.xyz: line 2: expected 3 values, found 2"),
    ("c.xyz", .xyz, "1 2 3\n4 5 NaN\n", "c.xyz: row 1: coordinate z is NaN"),
    ("c.xyz", .xyz, "# nothing\n", "c.xyz: no points"),
  ])
  func rejectsBadInput(file: String, format: PointCloudFormat, text: String, message: String) {
    do {
      let cloud = try PointCloud.decode(Array(text.utf8), format: format, file: file)
      Issue.record("\(file): expected an error containing '\(message)', decoded \(cloud.points.shape)")
    } catch {
      #expect(error.description.contains(message), "got: \(error.description)")
      #expect(error.description.hasPrefix(file + ": "))
    }
  }

  @Test func npyWrongShapeAndNaN() {
    #expect(throws: PointCloudError.self) {
      try PointCloud(tensor: Tensor([1, 2], shape: [1, 2]), file: "a.npy")
    }
    do {
      _ = try PointCloud(tensor: Tensor([1, 2, 3, 4, .nan, 6], shape: [2, 3]), file: "a.npy")
      Issue.record("NaN accepted")
    } catch { #expect(error.description == "a.npy: row 1: coordinate y is NaN") }
  }

  @Test func missingFileAndUnknownExtension() {
    #expect(throws: PointCloudError.self) { try PointCloud.read(contentsOf: "/nonexistent/cloud.ply") }
    do {
      _ = try PointCloud.read(contentsOf: "/tmp/cloud.obj")
      Issue.record("accepted .obj")
    } catch { #expect(error.kind == .unsupported) }
  }
}

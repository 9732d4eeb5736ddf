import Foundation
import MMCore
import MMMediaIO
import MMWeights
import Testing

/// `.npy` point clouds through `PointCloud.read(contentsOf:)` / `decode(_:format: .npy, file:)`.
@Suite("Point cloud .npy")
struct PointCloudNPYTests {
  /// A hand-made `.npy` v1.0 file: the header dict padded like NumPy's, then `data`.
  static func npy(descr: String, shape: String, fortran: Bool = false, data: [UInt8]) -> [UInt8] {
    var header = Array(
      "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }".utf8)
    while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
    header.append(0x0A)
    let length = UInt16(header.count)
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + header + data
  }

  static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

  @Test func readsTheFixtureByExtension() throws {
    let expected = PointCloudFiles.floats(try PointCloudFiles.golden("cloud.json")["values"])
    let cloud = try PointCloud.read(contentsOf: PointCloudFiles.fixture("cloud.npy"))
    #expect(cloud.points.shape == [expected.count / 9, 9])
    #expect(cloud.columns == ["x", "y", "z", "f0", "f1", "f2", "f3", "f4", "f5"])
    #expect(cloud.points.floats() == expected)
    #expect(PointCloudFormat(pathExtension: "NPY") == .npy)
  }

  /// float64 (little and big endian, Fortran order), float16 and integer arrays become f32.
  @Test func dtypesAndLayouts() throws {
    let values: [Double] = [0.5, -1.25, 3, 1e-3, 2, -7, 100, 0, 0.1, 4, 5, 6]
    let f64 = Self.npy(descr: "<f8", shape: "(3, 4)", data: Self.bytes(values))
    let cloud = try PointCloud.decode(f64, format: .npy, file: "d.npy")
    #expect(cloud.points.shape == [3, 4] && cloud.featureNames == ["f0"])
    #expect(cloud.points.floats() == values.map { Float($0) })

    let big = Self.npy(
      descr: ">f8", shape: "(3, 4)", data: Self.bytes(values.map { $0.bitPattern.bigEndian }))
    #expect(
      try PointCloud.decode(big, format: .npy, file: "b.npy").points.floats() == values.map { Float($0) })

    // Fortran order: the same 3×4 array stored column by column.
    let columnMajor = (0..<4).flatMap { c in (0..<3).map { r in values[r * 4 + c] } }
    let fortran = Self.npy(descr: "<f8", shape: "(3, 4)", fortran: true, data: Self.bytes(columnMajor))
    #expect(
      try PointCloud.decode(fortran, format: .npy, file: "f.npy").points.floats() == values.map { Float($0) })

    let halves: [Float16] = [1, 2, 3, -0.5, 0.25, 65_504]
    let f16 = Self.npy(descr: "<f2", shape: "(2, 3)", data: Self.bytes(halves))
    #expect(
      try PointCloud.decode(f16, format: .npy, file: "h.npy").points.floats() == halves.map { Float($0) })

    let ints: [Int32] = [1, 2, 3, -4, 5, 70_000]
    let i32 = Self.npy(descr: "<i4", shape: "(2, 3)", data: Self.bytes(ints))
    #expect(try PointCloud.decode(i32, format: .npy, file: "i.npy").points.floats() == ints.map { Float($0) })

    let empty = Self.npy(descr: "<f4", shape: "(0, 3)", data: [])
    #expect(try PointCloud.decode(empty, format: .npy, file: "e.npy").count == 0)
  }

  /// Each bad array → a PointCloudError of the right kind with exactly this description.
  @Test(arguments: [
    (
      npy(descr: "<f4", shape: "(6,)", data: bytes([Float](repeating: 0, count: 6))),
      PointCloudError.Kind.header,
      "c.npy: expected a [points, 3 + features] array, found shape [6]"
    ),
    (
      npy(descr: "<f4", shape: "(3, 2)", data: bytes([Float](repeating: 0, count: 6))), .header,
      "c.npy: expected a [points, 3 + features] array, found shape [3, 2]"
    ),
    (
      npy(descr: "<f4", shape: "(1, 2, 3)", data: bytes([Float](repeating: 0, count: 6))), .header,
      "c.npy: expected a [points, 3 + features] array, found shape [1, 2, 3]"
    ),
    (
      npy(descr: "<f4", shape: "(2, 3)", data: bytes([Float](arrayLiteral: 0, 0, 0, 1, .nan, 2))), .value,
      "c.npy: row 1: coordinate y is NaN"
    ),
    (
      npy(descr: "<f8", shape: "(1, 4)", data: bytes([0, 0, 0, Double.infinity])), .value,
      "c.npy: row 0: feature f0 is infinite (or beyond float32 range)"
    ),
    (
      npy(descr: "<f8", shape: "(1, 3)", data: bytes([1e300, 0, 0])), .value,
      "c.npy: row 0: coordinate x is infinite (or beyond float32 range)"
    ),
    (
      npy(descr: "<f2", shape: "(1, 3)", data: bytes([Float16(0), -Float16.infinity, 0])), .value,
      "c.npy: row 0: coordinate y is infinite (or beyond float32 range)"
    ),
    (
      npy(descr: "|b1", shape: "(1, 3)", data: [1, 0, 1]), .unsupported,
      "c.npy: dtype bool cannot hold coordinates; expected float16, float32, float64 or an integer type"
    ),
    (
      npy(descr: "<c8", shape: "(1, 3)", data: []), .unsupported,
      "c.npy: dtype '<c8' is not supported; expected a byte order <, >, | or = and one of b1, f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8"
    ),
    (
      npy(descr: "<f4", shape: "(2, 3)", data: bytes([Float](repeating: 0, count: 5))), .truncated,
      "c.npy: shape [2, 3] of <f4 needs 24 data bytes but the file has 20"
    ),
    (
      Array("not an npy file".utf8), .header,
      "c.npy: expected the npy magic 93 4e 55 4d 50 59 (\\x93NUMPY), found 6e 6f 74 20 61 6e"
    ),
  ])
  func rejects(bytes: [UInt8], kind: PointCloudError.Kind, message: String) {
    do {
      _ = try PointCloud.decode(bytes, format: .npy, file: "c.npy")
      Issue.record("accepted: expected \(message)")
    } catch {
      #expect(error.kind == kind, "\(error)")
      #expect(error.description == message)
    }
  }

  @Test func readNamesTheFileAndRefusesUnknownExtensions() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmgraph-pc-\(getpid()).npy")
      .path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(Self.npy(descr: "<f4", shape: "(4,)", data: Self.bytes([Float](repeating: 1, count: 4))))
      .write(to: URL(fileURLWithPath: path))
    #expect(throws: PointCloudError.self) { try PointCloud.read(contentsOf: path) }
    do { _ = try PointCloud.read(contentsOf: path) } catch {
      #expect(error.description.hasPrefix("mmgraph-pc-\(getpid()).npy: expected a [points"))
    }
    do { _ = try PointCloud.read(contentsOf: "/nonexistent/cloud.obj") } catch {
      #expect(error.kind == .unsupported && error.description.contains(".npy"))
    }
  }
}

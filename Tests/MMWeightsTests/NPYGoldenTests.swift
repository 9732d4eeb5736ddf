import Foundation
import MMCore
import Testing

@testable import MMWeights

/// `.npy` files written by NumPy (Scripts/goldens/files.py) read back exactly, and `NPY.encode`
/// reproduces `np.save`'s bytes for little-endian C-order arrays.
@Suite struct NPYGoldenTests {
  static let names: [String] = [
    "f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8",
    "f2_big", "f4_big", "f8_big", "i2_big", "i4_big", "i8_big", "u2_big", "u4_big", "u8_big",
    "b1", "fortran_2d", "fortran_3d_big", "scalar", "empty", "vector", "v2", "v3",
  ].map { $0 + ".npy" }

  @Test(arguments: names)
  func readsNumPyFileExactly(name: String) throws {
    let table = try #require(try Fixtures.expected()["npy"] as? [String: [String: Any]])
    let entry = try #require(table[name], "expected.json lacks \(name)")
    let tensor = try NPY.read(contentsOf: try Fixtures.golden("npy/" + name))
    expectMatches(tensor, entry, name)
    #expect(tensor.isContiguous)
  }

  @Test(arguments: names)
  func encodeMatchesNumPyBytes(name: String) throws {
    let table = try #require(try Fixtures.expected()["npy"] as? [String: [String: Any]])
    let entry = try #require(table[name])
    guard entry["byte_identical"] as? Bool == true else { return }
    let path = try Fixtures.golden("npy/" + name)
    let tensor = try NPY.read(contentsOf: path)
    #expect(try NPY.encode(tensor) == Fixtures.bytes(of: path), "\(name): bytes differ from np.save")
  }

  @Test func headersReportVersionOrderAndEndianness() throws {
    func header(_ name: String) throws -> NPY.Header {
      let bytes = try Fixtures.bytes(of: try Fixtures.golden("npy/" + name))
      return try bytes.withUnsafeBytes { raw in try NPY.parseHeader(raw, path: name) }
    }
    #expect(try header("v2.npy").version == "2.0")
    #expect(try header("v3.npy").version == "3.0")
    #expect(try header("f4.npy").version == "1.0")
    #expect(try header("f4.npy").dataOffset % 64 == 0)
    #expect(try header("fortran_3d_big.npy").fortranOrder)
    #expect(try header("fortran_3d_big.npy").bigEndian)
    #expect(try header("scalar.npy").shape == [])
    #expect(try header("i1.npy").descr == "|i1")
  }

  @Test func fortranOrderGivesTheRowMajorTensor() throws {
    let tensor = try NPY.read(contentsOf: try Fixtures.golden("npy/fortran_2d.npy"))
    #expect(tensor.shape == [3, 4])
    #expect(tensor.floats() == (0..<12).map(Float.init), "np.arange(12).reshape(3, 4)")
  }
}

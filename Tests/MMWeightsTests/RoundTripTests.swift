import Foundation
import MMCore
import Testing

@testable import MMWeights

/// Swift write → Swift read for every dtype and several shapes. With `MMGRAPH_EXPORT_DIR` set,
/// the written files and a manifest are also left there, for
/// `Scripts/goldens/files.py --verify-swift-output DIR` to check with the reference libraries.
@Suite struct RoundTripTests {
  static let shapes: [[Int]] = [[], [1], [7], [3, 5], [2, 3, 4], [0, 3], [1, 1, 1, 13]]

  /// A tensor of `dtype` and `shape` filled with random bytes (every bit pattern is a valid
  /// element; BOOL gets 0 or 1).
  static func randomTensor(_ dtype: DType, _ shape: [Int], seed: UInt64) -> Tensor {
    let tensor = Tensor(zeros: shape, dtype: dtype)
    var rng = SeededRandom(seed: seed)
    let bytes = tensor.baseAddress.assumingMemoryBound(to: UInt8.self)
    for i in 0..<tensor.byteCount {
      bytes[i] = dtype == .bool ? UInt8(rng.next() & 1) : UInt8(truncatingIfNeeded: rng.next())
    }
    return tensor
  }

  static func allTensors() -> [(name: String, tensor: Tensor)] {
    var tensors: [(name: String, tensor: Tensor)] = []
    for (d, dtype) in DType.allCases.enumerated() {
      for (s, shape) in shapes.enumerated() {
        tensors.append(("\(dtype.name).\(s)", randomTensor(dtype, shape, seed: UInt64(d * 100 + s))))
      }
    }
    return tensors
  }

  static let exportDirectory = ProcessInfo.processInfo.environment["MMGRAPH_EXPORT_DIR"]

  @Test(arguments: [Safetensors.Order.reference, .given])
  func safetensorsRoundTripsEveryDtype(order: Safetensors.Order) throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("all.safetensors").path
    let tensors = Self.allTensors()
    let metadata = ["format": "mm", "quote\"\\\n\t\u{1}": "ünïcødé ✓", "": "empty key"]
    try Safetensors.write(tensors, metadata: metadata, to: path, order: order)
    let file = try SafetensorsFile(path: path)
    #expect(file.metadata == metadata)
    if order == .given { #expect(file.names == tensors.map(\.name)) }
    for (name, tensor) in tensors {
      let read = try file.tensor(named: name)
      #expect(read.dtype == tensor.dtype && read.shape == tensor.shape, "\(name)")
      #expect(read.rawBytes == tensor.rawBytes, "\(name): bytes differ")
      if order == .reference {
        #expect(Int(bitPattern: read.baseAddress) % read.dtype.byteSize == 0, "\(name) aligned")
      }
    }
    let headerLength = try Fixtures.bytes(of: path).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    #expect(headerLength % 8 == 0, "header padded to a multiple of 8")
    if let export = Self.exportDirectory, order == .reference {
      try exportForPython(tensors, metadata: metadata, path: path, into: export)
    }
  }

  @Test func writesNonContiguousViewsDensified() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("t.safetensors").path
    let matrix = Tensor((0..<6).map(Float.init), shape: [2, 3])
    let transposed = try matrix.transposed()
    try Safetensors.write([("t", transposed)], to: path)
    let read = try SafetensorsFile(path: path).tensor(named: "t")
    #expect(read.shape == [3, 2])
    #expect(read.floats() == [0, 3, 1, 4, 2, 5])
    let npyPath = directory.appendingPathComponent("t.npy").path
    try NPY.write(transposed, to: npyPath)
    #expect(try NPY.read(contentsOf: npyPath).floats() == [0, 3, 1, 4, 2, 5])
  }

  @Test func rewritingAMappedFileInPlaceIsSafe() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("m.safetensors").path
    try Safetensors.write([("w", Tensor([1, 2, 3], shape: [3]))], to: path)
    let views = try SafetensorsFile(path: path).tensors()
    // The new file replaces the old by rename; the old mapping (and views) stay valid.
    try Safetensors.write(views + [("extra", Tensor([9], shape: [1]))], to: path)
    #expect(views[0].tensor.floats() == [1, 2, 3])
    let reread = try SafetensorsFile(path: path)
    #expect(try reread.tensor(named: "w").floats() == [1, 2, 3])
    #expect(reread.sortedNames == ["extra", "w"])
  }

  @Test func npyRoundTripsEveryNumPyDtype() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    var manifest: [String: Any] = [:]
    for (name, tensor) in Self.allTensors() where tensor.dtype != .bf16 && !tensor.dtype.name.hasPrefix("f8")
    {
      let path = directory.appendingPathComponent(name + ".npy").path
      try NPY.write(tensor, to: path)
      let read = try NPY.read(contentsOf: path)
      #expect(read.dtype == tensor.dtype && read.shape == tensor.shape, "\(name)")
      #expect(read.rawBytes == tensor.rawBytes, "\(name): bytes differ")
      #expect(try Fixtures.bytes(of: path).count % 64 == tensor.byteCount % 64, "\(name): data at 64")
      manifest[name + ".npy"] = [
        "dtype": tensor.dtype.rawValue, "shape": tensor.shape, "hex": hex(tensor.rawBytes),
      ]
      if let export = Self.exportDirectory {
        try? FileManager.default.removeItem(atPath: export + "/" + name + ".npy")
        try FileManager.default.copyItem(atPath: path, toPath: export + "/" + name + ".npy")
      }
    }
    if let export = Self.exportDirectory {
      try mergeManifest(["npy": manifest], into: export)
    }
  }

  @Test func npyRefusesDtypesNumPyLacks() throws {
    for dtype in [DType.bf16, .f8e4m3, .f8e5m2] {
      #expect(throws: WeightFileError.self) { try NPY.encode(Tensor(zeros: [2], dtype: dtype)) }
    }
  }

  @Test func npyHeaderTooLongForVersion1UsesVersion2() throws {
    let shape = [Int](repeating: 1, count: 25_000)  // "1, " × 25 000 > 65 535 header bytes
    let tensor = Tensor(zeros: shape, dtype: .f32)
    let bytes = try NPY.encode(tensor)
    #expect(bytes[6] == 2, "version byte")
    #expect((bytes.count - 4) % 64 == 0, "data starts at a multiple of 64")
    let read = try decodeNPY(bytes, path: "big-header.npy")
    #expect(read.shape == shape)
  }

  private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  private func exportForPython(
    _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String], path: String,
    into export: String
  ) throws {
    try? FileManager.default.removeItem(atPath: export + "/all.safetensors")
    try FileManager.default.copyItem(atPath: path, toPath: export + "/all.safetensors")
    var entries: [String: Any] = [:]
    for (name, tensor) in tensors {
      entries[name] = ["dtype": tensor.dtype.rawValue, "shape": tensor.shape, "hex": hex(tensor.rawBytes)]
    }
    try mergeManifest(
      ["safetensors": ["all.safetensors": ["metadata": metadata, "tensors": entries]]], into: export)
  }

  private func mergeManifest(_ part: [String: Any], into export: String) throws {
    let url = URL(fileURLWithPath: export + "/manifest.json")
    var manifest = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
    manifest.merge(part) { $1 }
    try JSONSerialization.data(withJSONObject: manifest).write(to: url)
  }
}

/// A failed write never leaves a partial file under the target name.
@Suite struct AtomicWriteTests {
  struct Boom: Error {}

  @Test func failureMidWriteKeepsTheOldFileAndLeavesNoTemporary() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("w.bin").path
    try Fixtures.write([1, 2, 3], to: path)
    #expect(throws: WeightFileError.self) {
      try writeAtomically(to: path) { (sink) throws(WeightFileError) in
        try sink.write([UInt8](repeating: 9, count: 1000))
        throw WeightFileError(path: path, kind: .io, problem: "simulated failure")
      }
    }
    #expect(try Fixtures.bytes(of: path) == [1, 2, 3])
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["w.bin"])
  }

  @Test func failureBeforeAnyFileLeavesNothing() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("x.safetensors").path
    let t = Tensor([1], shape: [1])
    #expect(throws: WeightFileError.self) { try Safetensors.write([("a", t), ("a", t)], to: path) }
    #expect(throws: WeightFileError.self) { try NPY.write(Tensor(zeros: [1], dtype: .bf16), to: path) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
  }

  @Test func missingDirectoryThrowsAnIOErrorNamingIt() throws {
    let path = "/nonexistent-mmweights-dir/out.npy"
    do {
      try NPY.write(Tensor([1], shape: [1]), to: path)
      Issue.record("expected an error")
    } catch {
      #expect(error.kind == .io)
      #expect(error.description.contains("/nonexistent-mmweights-dir"), "\(error)")
    }
  }

  @Test func successReplacesTheFile() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("a.npy").path
    try NPY.write(Tensor([1, 2], shape: [2]), to: path)
    try NPY.write(Tensor([3, 4, 5], shape: [3]), to: path)
    #expect(try NPY.read(contentsOf: path).floats() == [3, 4, 5])
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["a.npy"])
  }
}

import Foundation
import MMCore
import Testing

@testable import MMWeights

/// Shared helpers for the MMWeights tests: golden lookup, temporary files, byte access.
enum Fixtures {
  /// The package root: the nearest directory above this file holding Package.swift.
  static let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" {
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
      url = url.deletingLastPathComponent()
    }
    return url
  }()

  static let goldens = packageRoot.appendingPathComponent("Tests/Goldens/files")

  /// The path of a golden file; records a failure naming it when it is missing.
  static func golden(_ relative: String) throws -> String {
    let path = goldens.appendingPathComponent(relative).path
    guard FileManager.default.fileExists(atPath: path) else {
      Issue.record("missing golden file \(path): run Scripts/goldens/files.py")
      throw CocoaError(.fileNoSuchFile)
    }
    return path
  }

  /// `expected.json`, parsed.
  static func expected() throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: try golden("expected.json")))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  /// A fresh empty directory under the system temporary directory.
  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("mmweights-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  static func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  static func bytes(of path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }
}

/// A safetensors file made by hand: the 8-byte length (or `declaredLength`), the header text,
/// then `data`.
func craftSafetensors(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil)
  -> [UInt8]
{
  let json = Array(header.utf8)
  var bytes: [UInt8] = []
  withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) {
    bytes.append(contentsOf: $0)
  }
  return bytes + json + data
}

extension Tensor {
  /// The tensor's elements in row-major order, as raw bytes.
  var rawBytes: [UInt8] {
    let dense = contiguous()
    return Array(UnsafeRawBufferPointer(start: dense.baseAddress, count: dense.byteCount))
  }

  /// The f32 bit pattern of every element after conversion to f32 (NaNs canonicalised so
  /// that any NaN equals any other).
  var f32Bits: [UInt32] {
    floats().map { $0.isNaN ? 0x7FC0_0000 : $0.bitPattern }
  }
}

func hexBytes(_ text: String) -> [UInt8] {
  var bytes: [UInt8] = []
  var index = text.startIndex
  while index < text.endIndex {
    let next = text.index(index, offsetBy: 2)
    bytes.append(UInt8(text[index..<next], radix: 16)!)
    index = next
  }
  return bytes
}

/// The expected-JSON f32 bits with NaNs canonicalised like `Tensor.f32Bits`.
func canonicalBits(_ values: [Any]) -> [UInt32] {
  values.map { value in
    let bits = UInt32((value as! NSNumber).uint64Value)
    return Float(bitPattern: bits).isNaN ? 0x7FC0_0000 : bits
  }
}

/// Checks that `tensor` has the dtype, shape, bytes and values `entry` (from expected.json)
/// describes; `label` names the tensor in failures.
func expectMatches(_ tensor: Tensor, _ entry: [String: Any], _ label: String) {
  #expect(tensor.dtype.rawValue == entry["dtype"] as? String, "\(label): dtype")
  #expect(tensor.shape == (entry["shape"] as? [Int]), "\(label): shape \(tensor.shape)")
  #expect(tensor.rawBytes == hexBytes(entry["hex"] as? String ?? "-"), "\(label): bytes differ")
  if let bits = entry["f32_bits"] as? [Any] {
    let got = tensor.f32Bits
    let want = canonicalBits(bits)
    let first = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }
    #expect(
      got == want,
      "\(label): f32 values differ at \(first.map { "\($0.offset): \(Float(bitPattern: $0.element.0)) vs \(Float(bitPattern: $0.element.1))" } ?? "length")"
    )
  }
}

/// `NPY.decode` over an array, keeping the typed error.
func decodeNPY(_ bytes: [UInt8], path: String) throws(WeightFileError) -> Tensor {
  let result: Result<Tensor, WeightFileError> = bytes.withUnsafeBytes { raw in
    do throws(WeightFileError) { return .success(try NPY.decode(raw, path: path)) } catch {
      return .failure(error)
    }
  }
  return try result.get()
}

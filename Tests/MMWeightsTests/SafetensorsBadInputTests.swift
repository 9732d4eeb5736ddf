import Foundation
import MMCore
import Testing

@testable import MMWeights

/// Hostile or broken safetensors files: each throws a `WeightFileError` of the right kind whose
/// message names the file and the problem.
@Suite struct SafetensorsBadInputTests {
  struct Case: CustomStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let kind: WeightFileError.Kind
    /// Text the message must contain.
    let says: String
    var description: String { name }
  }

  static let valid = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

  static func entry(_ name: String, _ dtype: String, _ shape: String, _ begin: Int, _ end: Int)
    -> String
  {
    #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":[\#(begin),\#(end)]}"#
  }

  static let cases: [Case] = [
    Case(name: "empty", bytes: [], kind: .truncated, says: "too short for the 8-byte header length"),
    Case(name: "7-bytes", bytes: [1, 0, 0, 0, 0, 0, 0], kind: .truncated, says: "7 bytes"),
    Case(
      name: "length-past-eof",
      bytes: craftSafetensors(header: valid, data: [UInt8](repeating: 0, count: 8), declaredLength: 1000),
      kind: .truncated, says: "header length 1000 needs 1008 bytes but the file has"),
    Case(
      name: "absurd-length-2^63", bytes: craftSafetensors(header: valid, declaredLength: 1 << 63),
      kind: .header, says: "header length 9223372036854775808 exceeds the limit"),
    Case(
      name: "absurd-length-max", bytes: craftSafetensors(header: valid, declaredLength: .max),
      kind: .header, says: "exceeds the limit of 100000000 bytes"),
    Case(
      name: "offsets-outside-file",
      bytes: craftSafetensors(
        header: "{" + entry("w", "F32", "[200]", 0, 800) + "}", data: [UInt8](repeating: 0, count: 8)),
      kind: .offsets, says: "tensor 'w': data_offsets [0, 800] end past the 8-byte data section"),
    Case(
      name: "size-mismatch",
      bytes: craftSafetensors(
        header: "{" + entry("wte.weight", "F32", "[10, 20]", 0, 400) + "}",
        data: [UInt8](repeating: 0, count: 400)),
      kind: .offsets,
      says: "tensor 'wte.weight': data_offsets [0, 400] hold 400 bytes but shape [10, 20] of F32 needs 800"),
    Case(
      name: "overflowing-shape",
      bytes: craftSafetensors(
        header: "{" + entry("w", "F32", "[9223372036854775807, 2]", 0, 8) + "}",
        data: [UInt8](repeating: 0, count: 8)),
      kind: .shape, says: "overflows"),
    Case(
      name: "shape-times-dtype-overflow",
      bytes: craftSafetensors(
        header: "{" + entry("w", "F64", "[2305843009213693952]", 0, 8) + "}",
        data: [UInt8](repeating: 0, count: 8)),
      kind: .shape, says: "shape [2305843009213693952] of F64 overflows"),
    Case(
      name: "shape-beyond-int64",
      bytes: craftSafetensors(
        header: "{" + entry("w", "F32", "[99999999999999999999]", 0, 8) + "}",
        data: [UInt8](repeating: 0, count: 8)),
      kind: .shape, says: "non-negative integers"),
    Case(
      name: "negative-shape",
      bytes: craftSafetensors(
        header: "{" + entry("w", "F32", "[-2]", 0, 8) + "}", data: [UInt8](repeating: 0, count: 8)),
      kind: .shape, says: "found number -2"),
    Case(
      name: "fractional-shape",
      bytes: craftSafetensors(
        header: "{" + entry("w", "F32", "[2.0]", 0, 8) + "}", data: [UInt8](repeating: 0, count: 8)),
      kind: .shape, says: "found number 2.0"),
    Case(
      name: "overlap",
      bytes: craftSafetensors(
        header: "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}",
        data: [UInt8](repeating: 0, count: 12)),
      kind: .offsets, says: "tensor 'b': data_offsets [4, 12] overlap tensor 'a' at [0, 8]"),
    Case(
      name: "hole",
      bytes: craftSafetensors(
        header: "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}",
        data: [UInt8](repeating: 0, count: 12)),
      kind: .offsets,
      says: "tensor 'b': data_offsets start at 8 but the bytes before end at 4: a hole of 4 bytes"),
    Case(
      name: "unindexed-tail",
      bytes: craftSafetensors(header: valid, data: [UInt8](repeating: 0, count: 12)),
      kind: .offsets, says: "4 bytes belong to no tensor"),
    Case(
      name: "begin-after-end",
      bytes: craftSafetensors(
        header: "{" + entry("a", "F32", "[0]", 8, 4) + "}", data: [UInt8](repeating: 0, count: 8)),
      kind: .offsets, says: "data_offsets [8, 4] end before they begin"),
    Case(
      name: "three-offsets",
      bytes: craftSafetensors(
        header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#,
        data: [UInt8](repeating: 0, count: 8)),
      kind: .offsets, says: "found 3 values"),
    Case(
      name: "wrong-dtype",
      bytes: craftSafetensors(
        header: "{" + entry("a", "F12", "[2]", 0, 8) + "}", data: [UInt8](repeating: 0, count: 8)),
      kind: .dtype, says: "tensor 'a': unknown dtype 'F12'; expected one of BOOL, U8"),
    Case(
      name: "lowercase-dtype",
      bytes: craftSafetensors(
        header: "{" + entry("a", "f32", "[2]", 0, 8) + "}", data: [UInt8](repeating: 0, count: 8)),
      kind: .dtype, says: "unknown dtype 'f32'"),
    Case(
      name: "missing-dtype",
      bytes: craftSafetensors(
        header: #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)),
      kind: .header, says: "tensor 'a': missing string field 'dtype'"),
    Case(
      name: "not-json", bytes: craftSafetensors(header: "hello world!"), kind: .header,
      says: "must start with '{'"),
    Case(
      name: "broken-json", bytes: craftSafetensors(header: #"{"a": ?}"#), kind: .header,
      says: "header JSON at byte 14: expected a JSON value, found '?'"),
    Case(
      name: "trailing-garbage", bytes: craftSafetensors(header: "{} }"), kind: .header,
      says: "expected the end of the JSON text"),
    Case(
      name: "empty-header", bytes: craftSafetensors(header: ""), kind: .header, says: "must start with '{'"),
    Case(
      name: "invalid-utf8",
      bytes: craftSafetensors(header: "{}").enumerated().map { $0.offset == 9 ? 0xFF : $0.element },
      kind: .header, says: "not valid UTF-8"),
    Case(
      name: "duplicate-tensor",
      bytes: craftSafetensors(
        header: "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}",
        data: [UInt8](repeating: 0, count: 8)),
      kind: .duplicate, says: "duplicate key 'a'"),
    Case(
      name: "metadata-not-string", bytes: craftSafetensors(header: #"{"__metadata__":{"n":1}}"#),
      kind: .header, says: "__metadata__['n'] must be a string, found number 1"),
    Case(
      name: "deep-nesting",
      bytes: craftSafetensors(header: #"{"x":"# + String(repeating: "[", count: 100_000)),
      kind: .header, says: "nesting at most 64 deep"),
    Case(
      name: "entry-not-object", bytes: craftSafetensors(header: #"{"a":[1,2]}"#),
      kind: .header, says: "tensor 'a': entry must be an object, found array"),
  ]

  @Test(arguments: cases)
  func rejects(_ bad: Case) throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("\(bad.name).safetensors").path
    try Fixtures.write(bad.bytes, to: path)
    do {
      _ = try SafetensorsFile(path: path)
      Issue.record("\(bad.name): expected an error")
    } catch {
      #expect(error.kind == bad.kind, "\(error)")
      #expect(error.description.hasPrefix(path + ": "), "names the file: \(error)")
      #expect(error.description.contains(bad.says), "\(error)")
    }
  }

  @Test func everyTruncationOfAValidFileThrows() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("full.safetensors").path
    try Safetensors.write(
      [("a", Tensor([1, 2, 3], shape: [3])), ("b", Tensor(zeros: [2, 2], dtype: .bf16))],
      metadata: ["k": "v"], to: source)
    let bytes = try Fixtures.bytes(of: source)
    #expect(try SafetensorsFile(path: source).names.count == 2)
    let path = directory.appendingPathComponent("cut.safetensors").path
    for length in 0..<bytes.count {
      try Fixtures.write(Array(bytes[..<length]), to: path)
      do {
        _ = try SafetensorsFile(path: path)
        Issue.record("truncated to \(length) of \(bytes.count) bytes: expected an error")
      } catch {
        #expect([.truncated, .offsets, .header].contains(error.kind), "\(length): \(error)")
        #expect(error.description.hasPrefix(path), "\(error)")
      }
    }
  }

  @Test func missingFileAndDirectoryAreIOErrors() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    for path in [directory.appendingPathComponent("absent.safetensors").path, directory.path] {
      do {
        _ = try SafetensorsFile(path: path)
        Issue.record("expected an error for \(path)")
      } catch {
        #expect(error.kind == .io && error.description.hasPrefix(path), "\(error)")
      }
    }
  }

  @Test func badShardIndexes() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    try Safetensors.write([("a", Tensor([1], shape: [1]))], to: directory.path + "/s1.safetensors")
    let cases: [(String, WeightFileError.Kind, String)] = [
      (#"{"weight_map": {"a": "../s1.safetensors"}}"#, .header, "must be a relative path inside"),
      (#"{"weight_map": {"a": "/etc/passwd"}}"#, .header, "must be a relative path inside"),
      (#"{"weight_map": {"a": 3}}"#, .header, "must be a file name, found number 3"),
      (#"{"metadata": {}}"#, .header, "expected a 'weight_map' object"),
      (#"{"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors"}}"#, .duplicate, "duplicate key 'a'"),
      (
        #"{"weight_map": {"b": "s1.safetensors"}}"#, .missingTensor,
        "tensor 'b': the index maps it to shard 's1.safetensors'"
      ),
      (#"{"weight_map": {"a": "s2.safetensors"}}"#, .io, "s2.safetensors: cannot open"),
      ("not json", .header, "index JSON at byte 1: expected 'null'"),
    ]
    for (i, (json, kind, says)) in cases.enumerated() {
      let index = directory.path + "/index\(i).json"
      try Fixtures.write(Array(json.utf8), to: index)
      do {
        _ = try ShardedSafetensors(indexPath: index, loading: .eager)
        Issue.record("\(json): expected an error")
      } catch {
        #expect(error.kind == kind, "\(json): \(error)")
        #expect(error.description.contains(says), "\(json): \(error)")
      }
    }
  }
}

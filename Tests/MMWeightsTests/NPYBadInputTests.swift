import Foundation
import MMCore
import Testing

@testable import MMWeights

/// A `.npy` file made by hand: magic, version, the header length (or `declaredLength`), the
/// header text padded like NumPy's unless `pad` is false, then `data`.
func craftNPY(
  _ header: String, data: [UInt8] = [], major: UInt8 = 1, declaredLength: Int? = nil,
  magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
) -> [UInt8] {
  let text = Array(header.utf8) + [0x0A]
  var bytes = magic + [major, 0]
  let length = declaredLength ?? text.count
  if major == 1 {
    withUnsafeBytes(of: UInt16(truncatingIfNeeded: length).littleEndian) { bytes.append(contentsOf: $0) }
  } else {
    withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian) { bytes.append(contentsOf: $0) }
  }
  return bytes + text + data
}

/// Broken or hostile `.npy` files: each throws a `WeightFileError` of the right kind whose
/// message names the file and the problem.
@Suite struct NPYBadInputTests {
  struct Case: CustomStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let kind: WeightFileError.Kind
    let says: String
    var description: String { name }
  }

  static func dict(descr: String = "'<f4'", fortran: String = "False", shape: String = "(2,)") -> String {
    "{'descr': \(descr), 'fortran_order': \(fortran), 'shape': \(shape), }"
  }
  static let eight = [UInt8](repeating: 0, count: 8)

  static let cases: [Case] = [
    Case(name: "empty", bytes: [], kind: .truncated, says: "too short for the 10-byte npy preamble"),
    Case(
      name: "bad-magic", bytes: craftNPY(dict(), data: eight, magic: Array("NUMPY!".utf8)),
      kind: .header, says: "expected the npy magic"),
    Case(
      name: "version-4", bytes: craftNPY(dict(), data: eight, major: 4), kind: .unsupported,
      says: "npy version 4.0"),
    Case(
      name: "length-past-eof", bytes: craftNPY(dict(), major: 2, declaredLength: 5000),
      kind: .truncated, says: "header length 5000 needs 5012 bytes"),
    Case(
      name: "absurd-v2-length", bytes: craftNPY(dict(), major: 2, declaredLength: Int(UInt32.max)),
      kind: .header, says: "header length 4294967295 exceeds the limit"),
    Case(
      name: "unclosed-dict", bytes: craftNPY("{'descr': '<f4', 'shape': (2,)", data: eight), kind: .header,
      says: "expected ',' or '}'"),
    Case(
      name: "not-a-dict", bytes: craftNPY("[1, 2]", data: eight), kind: .header, says: "header must be a dict"
    ),
    Case(
      name: "code-instead-of-literal",
      bytes: craftNPY(dict(descr: "__import__('os').system('true')"), data: eight),
      kind: .header, says: "expected a Python literal"),
    Case(
      name: "missing-key", bytes: craftNPY("{'descr': '<f4', 'shape': (2,)}", data: eight),
      kind: .header, says: "header keys must be 'descr', 'fortran_order', 'shape'"),
    Case(
      name: "extra-key",
      bytes: craftNPY("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data: eight),
      kind: .header, says: "found [\"descr\", \"fortran_order\", \"shape\", \"x\"]"),
    Case(
      name: "duplicate-key",
      bytes: craftNPY("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", data: eight),
      kind: .duplicate, says: "duplicate key 'descr'"),
    Case(
      name: "shape-overflow", bytes: craftNPY(dict(shape: "(9223372036854775807, 9223372036854775807)")),
      kind: .shape, says: "overflows the byte count"),
    Case(
      name: "shape-beyond-int64", bytes: craftNPY(dict(shape: "(99999999999999999999,)")),
      kind: .shape, says: "must hold non-negative integers that fit in 64 bits"),
    Case(name: "negative-shape", bytes: craftNPY(dict(shape: "(-1,)")), kind: .shape, says: "(-1,)"),
    Case(
      name: "shape-not-tuple", bytes: craftNPY(dict(shape: "(2)"), data: eight), kind: .shape,
      says: "must be a tuple of integers, found 2"),
    Case(
      name: "float-shape", bytes: craftNPY(dict(shape: "(2.0,)"), data: eight), kind: .header,
      says: "expected an integer"),
    Case(
      name: "complex-dtype", bytes: craftNPY(dict(descr: "'<c8'"), data: eight), kind: .dtype,
      says: "dtype '<c8' is not supported"),
    Case(
      name: "object-dtype", bytes: craftNPY(dict(descr: "'|O'"), data: eight), kind: .dtype,
      says: "dtype '|O' is not supported"),
    Case(
      name: "structured-dtype", bytes: craftNPY(dict(descr: "[('a', '<f4')]"), data: eight),
      kind: .unsupported, says: "structured dtype"),
    Case(
      name: "fortran-not-bool", bytes: craftNPY(dict(fortran: "'yes'"), data: eight),
      kind: .header, says: "fortran_order must be True or False, found 'yes'"),
    Case(
      name: "short-data", bytes: craftNPY(dict(shape: "(3,)"), data: eight),
      kind: .truncated, says: "shape [3] of <f4 needs 12 data bytes but the file has 8"),
    Case(
      name: "extra-data", bytes: craftNPY(dict(shape: "(1,)"), data: eight),
      kind: .offsets, says: "needs 4 data bytes but 8 follow the header"),
    Case(
      name: "v3-invalid-utf8",
      bytes: craftNPY(dict(descr: "'<f4\u{FF}'"), data: eight, major: 3).map { $0 == 0xC3 ? 0xFF : $0 },
      kind: .header, says: "not valid UTF-8"),
    Case(
      name: "deep-nesting", bytes: craftNPY("{'descr': " + String(repeating: "(", count: 10_000)),
      kind: .header, says: "nesting at most 16 deep"),
  ]

  @Test(arguments: cases)
  func rejects(_ bad: Case) throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("\(bad.name).npy").path
    try Fixtures.write(bad.bytes, to: path)
    do {
      _ = try NPY.read(contentsOf: path)
      Issue.record("\(bad.name): expected an error")
    } catch {
      #expect(error.kind == bad.kind, "\(error)")
      #expect(error.description.hasPrefix(path + ": "), "names the file: \(error)")
      #expect(error.description.contains(bad.says), "\(error)")
    }
  }

  @Test func acceptsWhatNumPyAccepts() throws {
    let literalForms = [
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",  // double quotes
      "{'shape': (2L,), 'fortran_order': False, 'descr': '<f4'}",  // Python 2 long, any key order
      "  {'descr':'<f4','fortran_order':False,'shape':(2,)}\t\n",
      "{'descr': 'f4', 'fortran_order': False, 'shape': (2,)}",  // no byte-order mark: native
    ]
    for text in literalForms {
      let bytes = craftNPY(text, data: Array(repeating: 0, count: 8))
      let tensor = try decodeNPY(bytes, path: "forms.npy")
      #expect(tensor.shape == [2] && tensor.dtype == .f32, "\(text)")
    }
  }

  @Test func everyTruncationOfAValidFileThrows() throws {
    let bytes = try NPY.encode(Tensor((0..<6).map(Float.init), shape: [2, 3]))
    for length in 0..<bytes.count {
      let cut = Array(bytes[..<length])
      do {
        _ = try decodeNPY(cut, path: "cut.npy")
        Issue.record("truncated to \(length) of \(bytes.count) bytes: expected an error")
      } catch {
        #expect(error.kind == .truncated || error.kind == .header, "\(length): \(error)")
        #expect(error.description.hasPrefix("cut.npy: "), "\(error)")
      }
    }
  }
}

import Foundation
import MMCore
import Testing

@testable import MMWeights

/// GGUF bytes made by hand: little-endian fields, strings with u64 lengths.
enum GGUFBytes {
  static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
  }

  static func string(_ text: String) -> [UInt8] { le(UInt64(text.utf8.count)) + Array(text.utf8) }

  /// One metadata entry: key, value type, value bytes.
  static func kv(_ key: String, _ type: UInt32, _ value: [UInt8]) -> [UInt8] {
    string(key) + le(type) + value
  }

  /// One tensor info: name, dimensions (ggml order), type id, offset.
  static func tensor(_ name: String, _ dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0) -> [UInt8] {
    string(name) + le(UInt32(dims.count)) + dims.flatMap { le($0) } + le(type) + le(offset)
  }

  /// A whole file: header, padding to `alignment`, then `data`.
  static func file(
    version: UInt32 = 3, kvs: [[UInt8]] = [], tensors: [[UInt8]] = [], kvCount: UInt64? = nil,
    tensorCount: UInt64? = nil, alignment: Int = 32, data: [UInt8] = []
  ) -> [UInt8] {
    var bytes = Array("GGUF".utf8) + le(version)
    bytes += le(tensorCount ?? UInt64(tensors.count)) + le(kvCount ?? UInt64(kvs.count))
    bytes += kvs.flatMap { $0 } + tensors.flatMap { $0 }
    while bytes.count % alignment != 0 { bytes.append(0) }
    return bytes + data
  }

  /// A valid file: one F32 tensor "w" of 4 elements.
  static let valid = file(tensors: [tensor("w", [4])], data: [UInt8](repeating: 0, count: 16))

  /// `depth` arrays nested inside each other around one INT32.
  static func nested(_ depth: Int) -> [UInt8] {
    var value = le(UInt32(5)) + le(UInt64(1)) + le(Int32(7))
    for _ in 1..<depth { value = le(UInt32(9)) + le(UInt64(1)) + value }
    return value
  }
}

/// Hostile or broken GGUF files: each throws a `WeightFileError` of the right kind whose message
/// names the file and says what was expected and found; truncations and seeded random
/// mutations of the fixture throw or yield tensors inside the file, never crash.
@Suite struct GGUFBadInputTests {
  typealias B = GGUFBytes

  struct Case: CustomStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let kind: WeightFileError.Kind
    let says: String
    var description: String { name }
  }

  static let data16 = [UInt8](repeating: 0, count: 16)

  static let cases: [Case] = [
    Case(name: "empty", bytes: [], kind: .truncated, says: "inside the magic number"),
    Case(
      name: "not-gguf", bytes: Array("GGML0000".utf8), kind: .header,
      says: "expected magic 'GGUF', found 'GGML'"),
    Case(name: "version-1", bytes: B.file(version: 1), kind: .unsupported, says: "GGUF version 1"),
    Case(
      name: "big-endian", bytes: Array("GGUF".utf8) + [0, 0, 0, 3] + [UInt8](repeating: 0, count: 16),
      kind: .unsupported, says: "big-endian GGUF (the version field reads 50331648, version 3 byte-swapped)"),
    Case(
      name: "version-4", bytes: B.file(version: 4), kind: .unsupported, says: "version 4 is not supported"),
    Case(
      name: "huge-tensor-count", bytes: B.file(tensorCount: 1 << 62), kind: .truncated,
      says: "tensor count 4611686018427387904 cannot fit: each entry takes at least 24 bytes"),
    Case(
      name: "huge-kv-count", bytes: B.file(kvCount: .max), kind: .truncated,
      says: "metadata count 18446744073709551615 cannot fit"),
    Case(
      name: "key-length-past-eof", bytes: B.file(kvs: [B.le(UInt64(1) << 40) + Array("k".utf8)]),
      kind: .truncated, says: "metadata key #0: string length 1099511627776 runs past the end of the file"),
    Case(
      name: "unknown-value-type", bytes: B.file(kvs: [B.kv("a.b", 13, [0])]), kind: .header,
      says: "metadata 'a.b': unknown value type 13"),
    Case(
      name: "duplicate-key", bytes: B.file(kvs: [B.kv("k", 0, [1]), B.kv("k", 0, [2])]), kind: .duplicate,
      says: "metadata key 'k' appears twice"),
    Case(
      name: "bool-2", bytes: B.file(kvs: [B.kv("flag", 7, [2])]), kind: .header,
      says: "metadata 'flag': BOOL must be 0 or 1, found 2"),
    Case(
      name: "string-value-past-eof", bytes: B.file(kvs: [B.kv("s", 8, B.le(UInt64(999)) + [65])]),
      kind: .truncated, says: "metadata 's': string length 999 runs past the end"),
    Case(
      name: "huge-array", bytes: B.file(kvs: [B.kv("a", 9, B.le(UInt32(4)) + B.le(UInt64(1) << 60))]),
      kind: .truncated, says: "metadata 'a': ARRAY[UINT32] element count 1152921504606846976 cannot fit"),
    Case(
      name: "array-of-unknown", bytes: B.file(kvs: [B.kv("a", 9, B.le(UInt32(77)) + B.le(UInt64(1)))]),
      kind: .header, says: "the element type of metadata 'a': unknown value type 77"),
    Case(
      name: "nested-too-deep", bytes: B.file(kvs: [B.kv("deep", 9, B.nested(18))]), kind: .header,
      says: "arrays nested deeper than 16 levels"),
    Case(
      name: "invalid-utf8-key", bytes: B.file(kvs: [B.le(UInt64(2)) + [0xC3, 0x28] + B.le(UInt32(0)) + [1]]),
      kind: .header, says: "metadata key #0 is not valid UTF-8"),
    Case(
      name: "empty-key", bytes: B.file(kvs: [B.kv("", 0, [1])]), kind: .header,
      says: "metadata key #0 is empty"),
    Case(
      name: "alignment-u64", bytes: B.file(kvs: [B.kv("general.alignment", 10, B.le(UInt64(32)))]),
      kind: .header, says: "'general.alignment' must be UINT32, found UINT64 32"),
    Case(
      name: "alignment-48", bytes: B.file(kvs: [B.kv("general.alignment", 4, B.le(UInt32(48)))]),
      kind: .header, says: "must be a power of two, found 48"),
    Case(
      name: "alignment-0", bytes: B.file(kvs: [B.kv("general.alignment", 4, B.le(UInt32(0)))]),
      kind: .header, says: "must be a power of two, found 0"),
    Case(
      name: "duplicate-tensor", bytes: B.file(tensors: [B.tensor("w", [4]), B.tensor("w", [4], offset: 32)]),
      kind: .duplicate, says: "tensor 'w': tensor name appears twice"),
    Case(
      name: "five-dims", bytes: B.file(tensors: [B.tensor("w", [1, 1, 1, 1, 1])]), kind: .shape,
      says: "tensor 'w': 5 dimensions; GGUF allows at most 4"),
    Case(
      name: "unknown-tensor-type", bytes: B.file(tensors: [B.tensor("w", [32], type: 4)], data: data16),
      kind: .dtype, says: "tensor 'w': unknown tensor type 4"),
    Case(
      name: "partial-block", bytes: B.file(tensors: [B.tensor("w", [48, 2], type: 2)]), kind: .shape,
      says: "Q4_0 packs 32 elements per block but the row length (ne[0]) is 48, shape [2, 48]"),
    Case(
      name: "shape-overflow", bytes: B.file(tensors: [B.tensor("w", [1 << 40, 1 << 40])]), kind: .shape,
      says: "shape [1099511627776, 1099511627776] of F32 overflows"),
    Case(
      name: "zero-extent-overflow", bytes: B.file(tensors: [B.tensor("w", [0, 1 << 40, 1 << 40])]),
      kind: .shape,
      says:
        "tensor 'w': shape [1099511627776, 1099511627776, 0]: the product of its nonzero extents overflows"),
    Case(
      name: "dimension-past-int", bytes: B.file(tensors: [B.tensor("w", [.max])]), kind: .shape,
      says: "dimension 0 is 18446744073709551615"),
    Case(
      name: "misaligned-offset",
      bytes: B.file(tensors: [B.tensor("w", [4], offset: 8)], data: data16 + data16),
      kind: .offsets, says: "tensor 'w': data offset 8 is not a multiple of the alignment 32"),
    Case(
      name: "offset-past-end", bytes: B.file(tensors: [B.tensor("w", [4], offset: 64)], data: data16),
      kind: .offsets, says: "data at offset 64 needs 16 bytes (F32 [4]) but the data section has 16 bytes"),
    Case(
      name: "offset-wraps",
      bytes: B.file(tensors: [B.tensor("w", [4], offset: UInt64.max - 31)], data: data16),
      kind: .offsets, says: "past the largest supported file size"),
    Case(
      name: "data-truncated", bytes: B.file(tensors: [B.tensor("w", [8])], data: data16), kind: .offsets,
      says: "needs 32 bytes (F32 [8]) but the data section has 16 bytes"),
    Case(
      name: "no-data-section", bytes: Array(B.file(tensors: [B.tensor("w", [4])]).prefix(60)),
      kind: .truncated,
      says: "past the end of the"),
    Case(
      name: "overlap",
      bytes: B.file(
        tensors: [B.tensor("a", [16]), B.tensor("b", [4], offset: 32)],
        data: data16 + data16 + data16 + data16),
      kind: .offsets, says: "tensor 'b': data at offset 32 overlaps tensor 'a' at [0, 64)"),
  ]

  @Test(arguments: cases)
  func rejects(_ bad: Case) throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("\(bad.name).gguf").path
    try Fixtures.write(bad.bytes, to: path)
    do {
      _ = try GGUFFile(path: path)
      Issue.record("\(bad.name): expected an error")
    } catch {
      #expect(error.kind == bad.kind, "\(error)")
      #expect(error.description.hasPrefix(path + ": "), "names the file: \(error)")
      #expect(error.description.contains(bad.says), "\(error)")
    }
  }

  @Test func handMadeValidFileOpens() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("ok.gguf").path
    let kvs = [B.kv("general.alignment", 4, B.le(UInt32(16))), B.kv("deep", 9, B.nested(16))]
    try Fixtures.write(
      B.file(
        kvs: kvs, tensors: [B.tensor("w", [4]), B.tensor("e", [0, 3], offset: 16)], alignment: 16,
        data: Self.data16),
      to: path)
    let file = try GGUFFile(path: path)
    #expect(file.alignment == 16 && file.names == ["w", "e"])
    #expect(try file.tensor(named: "w").floats() == [0, 0, 0, 0])
    #expect(try file.tensor(named: "e").shape == [3, 0])
    // Version 2 has the same layout.
    try Fixtures.write(B.file(version: 2, tensors: [B.tensor("w", [4])], data: Self.data16), to: path)
    let v2 = try GGUFFile(path: path)
    #expect(v2.version == 2 && v2.names == ["w"] && v2.alignment == 32)
  }

  /// Every prefix of the fixture's header, and a sample of prefixes inside its data, throws
  /// (parsed from memory: the same validation `GGUFFile` runs on the mapping).
  @Test func truncationsThrow() throws {
    let bytes = try Fixtures.bytes(of: GGUFGoldenTests.fixture)
    let dataStart = try GGUFFile(path: GGUFGoldenTests.fixture).dataStart
    for length in Array(0..<dataStart) + Array(stride(from: dataStart, to: bytes.count, by: 97)) {
      let result: WeightFileError? = bytes.withUnsafeBytes { raw in
        do throws(WeightFileError) {
          _ = try parseGGUFHeader(UnsafeRawBufferPointer(rebasing: raw[..<length]), path: "cut.gguf")
          return nil
        } catch {
          return error
        }
      }
      guard let error = result else {
        Issue.record("truncated to \(length) of \(bytes.count) bytes: expected an error")
        continue
      }
      #expect([.truncated, .offsets].contains(error.kind), "\(length): \(error)")
      #expect(error.description.hasPrefix("cut.gguf: "), "\(error)")
    }
  }

  /// Seeded mutations of the fixture: bit flips, random bytes, extreme u32/u64 values written
  /// over header fields, insertions, deletions, truncations. The reader throws a
  /// `WeightFileError` naming the file, or opens it with every tensor inside the file.
  @Test(arguments: [UInt64(1), 2, 3])
  func mutationsNeverCrash(seed: UInt64) throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let base = try Fixtures.bytes(of: GGUFGoldenTests.fixture)
    let headerEnd = try GGUFFile(path: GGUFGoldenTests.fixture).dataStart
    let path = directory.appendingPathComponent("fuzz.gguf").path
    var rng = SeededRandom(seed: seed)
    func random(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    let extremes: [UInt64] = [
      0, 1, 3, 4, 13, 31, 32, 0xFF, 0xFFFF, 0xFFFF_FFFF, 1 << 31, 1 << 32, 1 << 62, .max,
    ]
    var accepted = 0
    let iterations = 150
    for iteration in 0..<iterations {
      var bytes = base
      for _ in 0...random(2) {
        let at = random(headerEnd)
        switch random(6) {
        case 0: bytes[at] ^= UInt8(1) << UInt8(random(8))
        case 1: bytes[at] = UInt8(random(256))
        case 2, 3:
          let value = extremes[random(extremes.count)] &+ UInt64(random(3))
          let width = random(2) == 0 ? 4 : 8
          for i in 0..<width where at + i < bytes.count {
            bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
          }
        case 4:
          if random(2) == 0 {
            bytes.insert(contentsOf: (0..<1 + random(8)).map { _ in UInt8(random(256)) }, at: at)
          } else {
            bytes.removeSubrange(at..<min(bytes.count, at + 1 + random(8)))
          }
        default: bytes.removeSubrange(random(bytes.count)...)
        }
      }
      try Fixtures.write(bytes, to: path)
      let label = "seed \(seed) iteration \(iteration)"
      do {
        let file = try GGUFFile(path: path)
        accepted += 1
        for info in file.tensorInfos {
          #expect(
            info.fileOffset >= file.dataStart && info.fileOffset + info.byteCount <= bytes.count, "\(label)")
          let data = file.data(of: info).bytes
          var checksum: UInt8 = 0
          for byte in data { checksum &+= byte }
          _ = checksum
        }
      } catch {
        #expect(error.description.hasPrefix(path + ": "), "\(label): \(error)")
      }
    }
    #expect(accepted < iterations, "most header mutations are rejected")
  }
}

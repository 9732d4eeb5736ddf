import Foundation
import MMCore
import Testing

@testable import MMWeights

/// Seeded random mutations and truncations of valid files. The property: the parser returns a
/// valid result or throws a `WeightFileError` naming the file, never crashes, and every tensor
/// it returns lies inside the file. A failure message gives the seed and iteration, so it
/// reproduces.
@Suite struct FuzzTests {
  static let seeds: [UInt64] = [1, 2, 3, 4]
  static let iterations = 750

  /// Overwrites, bit flips, token insertions/deletions (with the length field kept consistent
  /// or not), truncations, appended bytes and random length fields.
  static func mutate(
    _ base: [UInt8], header: Range<Int>, tokens: [String], lengthField: (offset: Int, size: Int),
    rng: inout SeededRandom
  ) -> [UInt8] {
    var bytes = base
    func random(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    func setLength(_ value: UInt64) {
      for i in 0..<lengthField.size {
        bytes[lengthField.offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
      }
    }
    let headerEnd = min(header.upperBound, bytes.count)
    switch random(8) {
    case 0:
      for _ in 0...random(3) { bytes[random(bytes.count)] ^= UInt8(1) << UInt8(random(8)) }
    case 1:
      for _ in 0...random(3) { bytes[random(bytes.count)] = UInt8(random(256)) }
    case 2:
      let token = Array(tokens[random(tokens.count)].utf8)
      let at = header.lowerBound + random(headerEnd - header.lowerBound)
      bytes.replaceSubrange(at..<min(at + token.count, headerEnd), with: token.prefix(headerEnd - at))
    case 3, 4:
      let at = header.lowerBound + random(headerEnd - header.lowerBound)
      if random(2) == 0 {
        bytes.insert(contentsOf: Array(tokens[random(tokens.count)].utf8), at: at)
        setLength(UInt64(header.count + bytes.count - base.count))
      } else {
        let end = min(headerEnd, at + 1 + random(6))
        bytes.removeSubrange(at..<end)
        setLength(UInt64(header.count - (end - at)))
      }
    case 5:
      bytes.removeSubrange(random(bytes.count)...)
    case 6:
      bytes += (0..<1 + random(16)).map { _ in UInt8(random(256)) }
    default:
      let choices: [UInt64] = [
        0, 1, UInt64(header.count) - 1, UInt64(header.count) + 1, UInt64(bytes.count), .max, 1 << 63,
        rng.next(),
      ]
      setLength(choices[random(choices.count)])
    }
    return bytes
  }

  static let safetensorsTokens = [
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00", "-1", "0", "7", "1e3", "2.5",
    "99999999999999999999", "9223372036854775807", "null", "true", "F8_E4M3", "BOOL", "U64",
    "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "[0,0]",
  ]

  @Test(arguments: seeds)
  func safetensorsNeverCrashes(seed: UInt64) throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("base.safetensors").path
    try Safetensors.write(
      [
        ("a", Tensor([1, 2, 3], shape: [3])), ("b", Tensor(zeros: [2, 2], dtype: .bf16)),
        ("c", Tensor(zeros: [0, 4], dtype: .i64)), ("d", Tensor(zeros: [3], dtype: .bool)),
      ],
      metadata: ["format": "pt"], to: source)
    let base = try Fixtures.bytes(of: source)
    let headerLength = Int(base.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    let path = directory.appendingPathComponent("fuzz.safetensors").path
    var rng = SeededRandom(seed: seed)
    var accepted = 0
    for iteration in 0..<Self.iterations {
      let bytes = Self.mutate(
        base, header: 8..<(8 + headerLength), tokens: Self.safetensorsTokens,
        lengthField: (0, 8), rng: &rng)
      try Fixtures.write(bytes, to: path)
      do {
        let file = try SafetensorsFile(path: path)
        accepted += 1
        try checkInside(file, size: bytes.count, "seed \(seed) iteration \(iteration)")
      } catch let error as WeightFileError {
        #expect(error.description.hasPrefix(path + ": "), "seed \(seed) iteration \(iteration): \(error)")
      }
    }
    #expect(accepted > 0, "some mutations (of data bytes) leave a valid file")
    #expect(accepted < Self.iterations, "most header mutations are rejected")
  }

  /// Every returned tensor lies inside the mapping and the tensors tile the data section.
  private func checkInside(_ file: SafetensorsFile, size: Int, _ label: String) throws {
    let start = try #require(file.file.bytes)
    #expect(file.file.size == size)
    var total = 0
    for (name, tensor) in file.tensors() {
      let first = tensor.baseAddress
      let count = tensor.count * tensor.dtype.byteSize
      #expect(
        first >= start + file.dataStart && first + count <= start + size, "\(label): \(name) outside the file"
      )
      #expect(tensor.storage.byteCount == count, "\(label): \(name) storage size")
      var checksum: UInt8 = 0
      for i in 0..<count { checksum &+= first.load(fromByteOffset: i, as: UInt8.self) }
      _ = checksum
      total += count
    }
    #expect(total == size - file.dataStart, "\(label): tensors tile the data section")
  }

  static let npyTokens = [
    "{", "}", "(", ")", ",", ":", "'", "\"", "\\", "True", "False", "None", "-1", "0", "3L",
    "99999999999999999999", "9223372036854775807", "<f4", ">f8", "|b1", "<c8", "'descr'",
    "'shape'", "'fortran_order'", "[", "]", "1.5",
  ]

  @Test(arguments: seeds)
  func npyNeverCrashes(seed: UInt64) throws {
    let bases: [[UInt8]] = [
      try NPY.encode(Tensor((0..<6).map(Float.init), shape: [2, 3])),
      try NPY.encode(Tensor(zeros: [], dtype: .i16)),
      craftNPY("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 2), }", data: Array(0..<16)),
    ]
    var rng = SeededRandom(seed: seed)
    var accepted = 0
    for iteration in 0..<Self.iterations {
      let base = bases[iteration % bases.count]
      let headerLength = Int(base[8]) | Int(base[9]) << 8
      let bytes = Self.mutate(
        base, header: 10..<(10 + headerLength), tokens: Self.npyTokens, lengthField: (8, 2),
        rng: &rng)
      let label = "seed \(seed) iteration \(iteration)"
      do {
        let tensor = try decodeNPY(bytes, path: "fuzz.npy")
        accepted += 1
        let header = try #require(try? bytes.withUnsafeBytes { try NPY.parseHeader($0, path: "fuzz.npy") })
        #expect(tensor.shape == header.shape && tensor.dtype == header.dtype, "\(label)")
        #expect(header.dataOffset + tensor.byteCount == bytes.count, "\(label): data fills the file")
        #expect(tensor.storage.byteCount >= tensor.byteCount, "\(label)")
      } catch let error as WeightFileError {
        #expect(error.description.hasPrefix("fuzz.npy: "), "\(label): \(error)")
      }
    }
    #expect(accepted > 0 && accepted < Self.iterations, "accepted \(accepted)")
  }
}

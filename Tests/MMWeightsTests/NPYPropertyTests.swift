import Foundation
import MMCore
import Testing

@testable import MMWeights

/// Seeded property tests of the `.npy` reader against hostile headers: random header lengths,
/// shapes whose extents overflow, garbage dtype descriptors and truncated data. The property:
/// `NPY.decode` returns a tensor whose shape, dtype and byte count agree with the header and
/// the file size, or throws a `WeightFileError` naming the file — it never crashes or allocates
/// what the file does not hold. Failures name the seed and iteration.
@Suite struct NPYPropertyTests {
  static let seeds: [UInt64] = [11, 12, 13]

  /// Decodes and checks the property; returns whether the bytes were accepted.
  @discardableResult
  static func check(_ bytes: [UInt8], _ label: String) -> Bool {
    do {
      let tensor = try decodeNPY(bytes, path: "prop.npy")
      guard let header = try? bytes.withUnsafeBytes({ try NPY.parseHeader($0, path: "prop.npy") }) else {
        Issue.record("\(label): decoded but the header does not parse")
        return true
      }
      #expect(tensor.shape == header.shape && tensor.dtype == header.dtype, "\(label)")
      #expect(header.dataOffset + tensor.byteCount == bytes.count, "\(label): data fills the file")
      return true
    } catch {
      #expect(error.description.hasPrefix("prop.npy: "), "\(label): \(error)")
      return false
    }
  }

  static let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

  /// Every length field a v1/v2/v3 file can declare near the truth, at the limits and at random.
  @Test(arguments: seeds)
  func hostileHeaderLengths(seed: UInt64) {
    var rng = SeededRandom(seed: seed)
    let data = [UInt8](repeating: 0x3F, count: 24)
    var (accepted, honestCount) = (0, 0)
    for major in [UInt8(1), 2, 3] {
      let honest = Self.header.utf8.count + 1
      var lengths: [Int] = [0, 1, 9, honest - 1, honest, honest + 1, honest + 24, honest + 25]
      lengths += [NPY.maxHeaderLength, NPY.maxHeaderLength + 1, 65_535, 4_294_967_295, 2_147_483_647]
      lengths += (0..<40).map { _ in Int(rng.next() % UInt64(major == 1 ? 1 << 16 : 1 << 32)) }
      lengths += (0..<40).map { _ in Int(rng.next() % UInt64(honest + 40)) }
      for length in lengths {
        let bytes = craftNPY(Self.header, data: data, major: major, declaredLength: length)
        let declared = major == 1 ? length & 0xFFFF : length & 0xFFFF_FFFF
        if declared == honest { honestCount += 1 }
        if Self.check(bytes, "seed \(seed) v\(major) length \(length)") {
          accepted += 1
          #expect(declared == honest, "only the honest length decodes: v\(major) length \(length)")
        }
      }
    }
    #expect(accepted == honestCount && honestCount >= 3, "the honest length of each version decodes")
  }

  /// Shapes whose element count, byte count or intermediate extents overflow 64 bits — also
  /// with a zero extent that makes the element count 0 — are refused, never trapped on.
  @Test func overflowingShapes() {
    let big = [
      "9223372036854775807", "4611686018427387904", "3037000500", "4294967296", "2305843009213693952",
    ]
    var shapes = [
      "(9223372036854775807, 2)", "(3037000500, 3037000500)", "(4294967296, 4294967296)",
      "(2305843009213693952, 4)", "(1152921504606846976, 2, 4)", "(0, 4611686018427387904, 4)",
      "(4611686018427387904, 4, 0)", "(0, 9223372036854775807, 9223372036854775807)",
      "(0, 9223372036854775807)", "(9223372036854775807, 0)", "(0,)", "(-0,)",
    ]
    var rng = SeededRandom(seed: 77)
    for _ in 0..<200 {
      let rank = 1 + Int(rng.next() % 4)
      let dims = (0..<rank).map { _ -> String in
        switch rng.next() % 4 {
        case 0: return "0"
        case 1: return String(rng.next() % 5)
        default: return big[Int(rng.next() % UInt64(big.count))]
        }
      }
      shapes.append("(" + dims.joined(separator: ", ") + ",)")
    }
    for shape in shapes {
      for descr in ["<f4", ">f8", "|u1", "<f2"] {
        let text =
          "{'descr': '\(descr)', 'fortran_order': \(shape.count % 2 == 0 ? "True" : "False"), 'shape': \(shape), }"
        let bytes = craftNPY(text)
        if Self.check(bytes, "shape \(shape) \(descr)") {
          // Accepted only with no data: some extent is 0 and the others stay addressable.
          #expect(shape.contains("0"), "shape \(shape) accepted with no data")
        }
      }
    }
  }

  /// Random descriptors from dtype-ish characters: only the supported dtypes decode.
  @Test(arguments: seeds)
  func garbageDescriptors(seed: UInt64) {
    var rng = SeededRandom(seed: seed)
    let alphabet = Array("<>|=!@fiubcOUSVMmc012468 '\"\\{}(),:[]\u{0}\u{FF}")
    let known: Set<String> = Set(
      NPYDescr.table.keys.flatMap { code in ["", "<", ">", "|", "="].map { $0 + code } })
    var accepted = 0
    for iteration in 0..<300 {
      let length = Int(rng.next() % 6)
      var descr = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
      if iteration % 5 == 0 {
        descr = ["<f4", ">i8", "|b1", "<f16", "<f4 ", "f", "<", ""][iteration / 5 % 8]
      }
      let text =
        "{'descr': '\(descr.replacingOccurrences(of: "'", with: "\\'"))', 'fortran_order': False, 'shape': (1,), }"
      let size = NPYDescr.parse(descr)?.dtype.byteSize ?? 4
      let bytes = craftNPY(text, data: [UInt8](repeating: 0, count: size))
      let ok = Self.check(bytes, "seed \(seed) iteration \(iteration) descr \(descr.debugDescription)")
      #expect(ok == known.contains(descr), "descr \(descr.debugDescription): accepted \(ok)")
      if ok { accepted += 1 }
    }
    #expect(accepted > 0)
  }

  /// Data cut short or padded by any amount, for every version and several dtypes and shapes.
  @Test(arguments: seeds)
  func truncatedAndPaddedData(seed: UInt64) throws {
    var rng = SeededRandom(seed: seed)
    let tensors = [
      Tensor((0..<12).map(Float.init), shape: [3, 4]),
      try Tensor(shape: [2, 2, 2], values: (0..<8).map(Double.init)),
      try Tensor(shape: [5], values: [Int16](1...5)),
      Tensor(zeros: [0, 7]),
    ]
    for (t, tensor) in tensors.enumerated() {
      let bytes = try NPY.encode(tensor)
      let headerEnd = 10 + (Int(bytes[8]) | Int(bytes[9]) << 8)
      for _ in 0..<40 {
        var mutated = bytes
        if rng.next() % 2 == 0 {
          mutated.removeSubrange((headerEnd + Int(rng.next() % UInt64(bytes.count - headerEnd + 1)))...)
        } else {
          mutated += (0..<(1 + Int(rng.next() % 9))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        let label = "seed \(seed) tensor \(t): \(mutated.count) of \(bytes.count) bytes"
        #expect(Self.check(mutated, label) == (mutated.count == bytes.count), "\(label)")
      }
    }
  }

  /// The same zero-extent shapes in a safetensors header: refused, not trapped on when viewed.
  @Test func safetensorsZeroExtentOverflow() throws {
    let directory = try Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("zero.safetensors").path
    for shape in ["[0, 4611686018427387904, 4]", "[0, 9223372036854775807, 9223372036854775807]"] {
      try Fixtures.write(
        craftSafetensors(
          header: "{\"a\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": [0, 0]}}"),
        to: path)
      do {
        let file = try SafetensorsFile(path: path)
        _ = file.tensors()
        Issue.record("shape \(shape) was accepted")
      } catch {
        #expect(error.kind == .shape && error.description.contains("overflows 64 bits"), "\(error)")
      }
    }
    // A zero extent beside small ones is fine.
    try Fixtures.write(
      craftSafetensors(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [0, 0]}}"),
      to: path)
    #expect(try SafetensorsFile(path: path).tensors().first?.tensor.shape == [0, 3])
  }
}

import Foundation
import MMCore
import MMMediaIO
import Testing

/// Seeded property tests of the WAV path of `AudioFile.read` (RIFF walk + libsndfile): hostile
/// RIFF, `fmt ` and `data` sizes, hostile format fields, junk chunks, random mutations and
/// truncations of small WAV files. Every read either decodes to a sane `[channels, frames]` of
/// finite samples at a positive rate, or throws an `AudioFileError` naming the file — never a
/// crash, never an allocation the file cannot back. Labels name the seed and trial.
@Suite("WAV reader fuzz") struct AudioFileFuzzTests {
  /// Small WAVs: 16-bit stereo and float mono from WAVEncoder, and the 8/24/32-bit fixtures.
  static func base(_ index: Int) throws -> (name: String, bytes: [UInt8]) {
    var rng = SeededRandom(seed: 5)
    let values = (0..<600).map { _ in Float(Double(rng.nextFloat()) * 1.8 - 0.9) }
    switch index {
    case 0:
      return ("pcm16", try WAVEncoder.encode(samples: Tensor(values, shape: [2, 300]), sampleRate: 8000))
    case 1:
      return (
        "float32",
        try WAVEncoder.encode(samples: Tensor(values, shape: [1, 600]), sampleRate: 22_050, format: .float32)
      )
    default:
      let name = ["tone_u8.wav", "tone_3ch_s24.wav", "tone_s32.wav"][index - 2]
      let path = AudioFiles.fixture(name)
      try AudioFiles.requireFile(path)
      return (name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }
  }
  static let bases = 0..<5

  /// The chunks of a RIFF WAVE file: id, offset of the 8-byte chunk header, declared size.
  static func chunks(_ bytes: [UInt8]) -> [(id: String, offset: Int, size: Int)] {
    var out: [(String, Int, Int)] = []
    var position = 12
    while position + 8 <= bytes.count {
      let id = String(decoding: bytes[position..<(position + 4)], as: UTF8.self)
      let size = Int(le32(bytes, position + 4))
      out.append((id, position, size))
      position += 8 + size + (size & 1)
    }
    return out
  }

  static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
  }
  static func put32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
    for i in 0..<4 where at + i < bytes.count {
      bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))
    }
  }
  static func put16(_ bytes: inout [UInt8], _ at: Int, _ value: UInt16) {
    for i in 0..<2 where at + i < bytes.count {
      bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt16(i)))
    }
  }

  /// Writes and reads `bytes`; checks the property; returns the error kind, or nil when decoded.
  @discardableResult
  static func read(_ bytes: [UInt8], _ path: String, _ label: String) throws -> AudioFileError.Kind? {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      let (samples, rate) = try AudioFile.read(contentsOf: path)
      let sane = samples.rank == 2 && samples.shape[0] >= 1 && samples.shape[1] >= 1 && rate > 0
      #expect(sane, "\(label): shape \(samples.shape) rate \(rate)")
      // No more samples than the file can back (compressed tags such as ADPCM or GSM give a few
      // per byte, never thousands).
      #expect(
        samples.count <= 8 * bytes.count, "\(label): \(samples.count) samples from \(bytes.count) bytes")
      #expect(samples.floats().allSatisfy { $0.isFinite }, "\(label): non-finite sample")
      return nil
    } catch {
      #expect(error.description.hasPrefix(path + ": "), "\(label): \(error)")
      return error.kind
    }
  }

  static let hostile32: [UInt32] = [
    0, 1, 2, 3, 7, 8, 15, 16, 17, 18, 40, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFF0, 0xFFFF_FFFE, 0xFFFF_FFFF,
  ]

  /// Every hostile value in the RIFF size, the `fmt ` size, the `data` size and each format
  /// field (tag, channels, rate, byte rate, block align, bits).
  @Test(arguments: bases)
  func hostileSizesAndFields(base index: Int) throws {
    let (name, original) = try Self.base(index)
    let path = AudioFiles.temporaryPath("fuzz-fields-\(name)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let chunks = Self.chunks(original)
    let fmt = try #require(chunks.first { $0.id == "fmt " })
    let data = try #require(chunks.first { $0.id == "data" })
    var kinds: [AudioFileError.Kind?] = []
    for value in Self.hostile32 + [UInt32(original.count - 8), UInt32(data.size + 1), UInt32(data.size - 1)] {
      for field in [4, fmt.offset + 4, data.offset + 4] {
        var bytes = original
        Self.put32(&bytes, field, value)
        kinds.append(try Self.read(bytes, path, "\(name) field @\(field) = \(value)"))
      }
      var bytes = original
      Self.put32(&bytes, fmt.offset + 12, value)  // sample rate
      kinds.append(try Self.read(bytes, path, "\(name) rate = \(value)"))
      bytes = original
      Self.put32(&bytes, fmt.offset + 16, value)  // byte rate
      kinds.append(try Self.read(bytes, path, "\(name) byte rate = \(value)"))
    }
    let hostile16: [UInt16] = [0, 1, 2, 3, 7, 8, 12, 24, 33, 64, 0x55, 0xFFFE, 0xFFFF]
    for value in hostile16 {
      for (field, what) in [(8, "tag"), (10, "channels"), (20, "block align"), (22, "bits")] {
        var bytes = original
        Self.put16(&bytes, fmt.offset + field, value)
        kinds.append(try Self.read(bytes, path, "\(name) \(what) = \(value)"))
      }
    }
    // A data chunk claiming more than the file holds is truncation, whatever else is intact.
    var bytes = original
    Self.put32(&bytes, data.offset + 4, UInt32(data.size + 2))
    #expect(try Self.read(bytes, path, "\(name) data + 2") == .truncated)
    #expect(kinds.contains { $0 != nil } && kinds.contains(nil), "\(name): \(kinds.count) reads")
  }

  /// Truncation anywhere inside the data chunk (header intact) is reported as truncation.
  @Test(arguments: bases)
  func truncatedDataIsReported(base index: Int) throws {
    let (name, original) = try Self.base(index)
    let path = AudioFiles.temporaryPath("fuzz-cut-\(name)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let data = try #require(Self.chunks(original).first { $0.id == "data" })
    var rng = SeededRandom(seed: 99 &+ UInt64(index))
    for trial in 0..<25 {
      let keep = data.offset + 8 + Int(rng.next() % UInt64(data.size))
      let kind = try Self.read(Array(original.prefix(keep)), path, "\(name) trial \(trial): \(keep) bytes")
      #expect(
        kind == .truncated,
        "\(name): cut to \(keep) of \(original.count) bytes gave \(String(describing: kind))")
    }
  }

  /// Seeded mixes of byte overwrites (mostly in the header), hostile 32-bit sizes at random
  /// aligned offsets, junk chunks with hostile sizes before `data`, duplicated and renamed
  /// chunks, and truncations.
  @Test(arguments: bases)
  func seededMutations(base index: Int) throws {
    let (name, original) = try Self.base(index)
    let path = AudioFiles.temporaryPath("fuzz-mut-\(name)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let chunks = Self.chunks(original)
    let data = try #require(chunks.first { $0.id == "data" })
    let fmt = try #require(chunks.first { $0.id == "fmt " })
    var rng = SeededRandom(seed: 0xA11D_10 &+ UInt64(index))
    func random(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
    var (decoded, rejected) = (0, 0)
    let trials = 160
    for trial in 0..<trials {
      var bytes = original
      switch trial % 6 {
      case 0:
        for _ in 0...random(4) { bytes[random(min(bytes.count, data.offset + 8))] = UInt8(random(256)) }
      case 1:
        Self.put32(&bytes, 4 * random((data.offset + 8) / 4), Self.hostile32[random(Self.hostile32.count)])
      case 2:
        var junk = Array((random(2) == 0 ? "LIST" : "junk").utf8)
        let size = random(3) == 0 ? Self.hostile32[random(Self.hostile32.count)] : UInt32(random(9))
        junk += [0, 0, 0, 0] + (0..<random(12)).map { _ in UInt8(random(256)) }
        Self.put32(&junk, 4, size)
        bytes.insert(contentsOf: junk, at: data.offset)
      case 3:
        let fmtChunk = Array(original[fmt.offset..<(fmt.offset + 8 + fmt.size)])
        bytes.insert(contentsOf: fmtChunk, at: random(2) == 0 ? data.offset : fmt.offset)
        if random(2) == 0 {
          Self.put16(&bytes, data.offset + 8 + 2 + 8, UInt16(truncatingIfNeeded: random(70_000)))
        }
      case 4:
        let ids = ["data", "fmt ", "RIFF", "WAVE", "fact", "\0\0\0\0"]
        let target = [0, 8, fmt.offset, data.offset][random(4)]
        bytes.replaceSubrange(target..<(target + 4), with: Array(ids[random(ids.count)].utf8))
      default:
        bytes = Array(bytes.prefix(random(bytes.count + 1)))
        if !bytes.isEmpty, random(2) == 0 { bytes[random(bytes.count)] ^= UInt8(1 << random(8)) }
      }
      if try Self.read(bytes, path, "\(name) trial \(trial)") == nil { decoded += 1 } else { rejected += 1 }
    }
    #expect(decoded + rejected == trials)
    #expect(decoded > 0 && rejected > 0, "\(name): decoded \(decoded), rejected \(rejected)")
  }
}

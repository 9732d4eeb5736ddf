import Foundation
import MMCore
import Testing

@testable import MMMediaIO

@Suite("Checksums") struct ChecksumTests {
  /// The standard check values of CRC-32 and Adler-32.
  @Test func knownVectors() {
    #expect(Checksum.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(Checksum.crc32([UInt8]()) == 0)
    #expect(Checksum.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
    // Long input crosses zlib's NMAX reduction point.
    let long = [UInt8](repeating: 0xFF, count: 100_000)
    var a: UInt64 = 1
    var b: UInt64 = 0
    for x in long {
      a = (a + UInt64(x)) % 65521
      b = (b + a) % 65521
    }
    #expect(Checksum.adler32(long) == UInt32(b << 16 | a))
  }
}

@Suite("PNG encoder") struct PNGEncoderTests {
  /// Chunks of a PNG file: (type, data), checking each CRC.
  func chunks(_ png: [UInt8]) -> [(String, [UInt8])] {
    var out: [(String, [UInt8])] = []
    var i = 8
    while i + 12 <= png.count {
      let length = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
      let type = String(decoding: png[i + 4..<i + 8], as: UTF8.self)
      let data = Array(png[i + 8..<i + 8 + length])
      let stored = png[i + 8 + length..<i + 12 + length].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      #expect(stored == Checksum.crc32(Array(png[i + 4..<i + 8 + length])), "CRC of \(type)")
      out.append((type, data))
      i += 12 + length
    }
    #expect(i == png.count)
    return out
  }

  @Test(arguments: [(1, 1, 1), (2, 3, 3), (5, 4, 4), (7, 2, 2), (300, 250, 3)])
  func pixelsSurviveTheRoundTrip(_ shape: (Int, Int, Int)) throws {
    let (h, w, c) = shape
    var rng = SeededRandom(seed: 5)
    let pixels = (0..<h * w * c).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let png = try PNGEncoder.encode(Tensor(shape: [h, w, c], values: pixels))
    // MMGRAPH_EXPORT_DIR=DIR keeps the files so a reference decoder (PIL) can check them.
    if let dir = ProcessInfo.processInfo.environment["MMGRAPH_EXPORT_DIR"] {
      _ = FileManager.default.createFile(atPath: "\(dir)/png_\(h)x\(w)x\(c).png", contents: Data(png))
      _ = FileManager.default.createFile(
        atPath: "\(dir)/png_\(h)x\(w)x\(c).raw", contents: Data(pixels))
    }
    #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    let parts = chunks(png)
    #expect(parts.first?.0 == "IHDR" && parts.last?.0 == "IEND")
    #expect(parts.dropFirst().dropLast().allSatisfy { $0.0 == "IDAT" }, "\(parts.map(\.0))")
    let ihdr = parts[0].1
    #expect(
      Array(ihdr[0..<8]) == [0, 0, UInt8(w >> 8), UInt8(w & 0xFF), 0, 0, UInt8(h >> 8), UInt8(h & 0xFF)])
    #expect(Array(ihdr[8...]) == [8, [0, 4, 2, 6][c - 1], 0, 0, 0])
    // libpng wrote it; libpng (through ImageFile) reads it back.
    let decoded = try ImageFile.decode(bytes: png, file: "roundtrip.png")
    #expect(decoded.width == w && decoded.height == h && decoded.channels == c && decoded.bitDepth == 8)
    #expect(decoded.pixels8 == pixels)
  }

  @Test func floatPixelsAreClampedAndRounded() throws {
    let png = try PNGEncoder.encode(Tensor([-1, 0, 0.5, 1, 2, 0.2], shape: [1, 2, 3]))
    #expect(try ImageFile.decode(bytes: png).pixels8 == [0, 0, 128, 255, 255, 51])
  }

  @Test func badImagesAreRefused() {
    #expect(throws: TensorError.self) { try PNGEncoder.encode(Tensor(zeros: [4, 4])) }
    #expect(throws: TensorError.self) { try PNGEncoder.encode(Tensor(zeros: [4, 4, 5])) }
    #expect(throws: TensorError.self) { try PNGEncoder.encode(Tensor(zeros: [0, 4, 3])) }
    #expect(throws: TensorError.self) { try PNGEncoder.encode(Tensor(zeros: [2, 2, 3], dtype: .i32)) }
  }
}

@Suite("WAV encoder") struct WAVEncoderTests {
  @Test func pcm16HeaderAndInterleavedSamples() throws {
    // Two channels, three frames: [[0, 1, -1], [0.5, 2 (clipped), -0.25]].
    let samples = Tensor([0, 1, -1, 0.5, 2, -0.25], shape: [2, 3])
    let wav = try WAVEncoder.encode(samples: samples, sampleRate: 16000)
    var header: [UInt8] = Array("RIFF".utf8)
    header += [48, 0, 0, 0]
    header += Array("WAVEfmt ".utf8)
    header += [16, 0, 0, 0, 1, 0, 2, 0]
    header += [0x80, 0x3E, 0, 0, 0x00, 0xFA, 0, 0, 4, 0, 16, 0]
    header += Array("data".utf8)
    header += [12, 0, 0, 0]
    #expect(Array(wav.prefix(44)) == header)
    let pcm = stride(from: 44, to: wav.count, by: 2).map {
      Int16(bitPattern: UInt16(wav[$0]) | UInt16(wav[$0 + 1]) << 8)
    }
    #expect(pcm == [0, 16384, 32767, 32767, -32767, -8192])
  }

  @Test func float32KeepsValuesExactly() throws {
    let values: [Float] = [0.1, -0.7, 1.5]
    let wav = try WAVEncoder.encode(
      samples: Tensor(values, shape: [1, 3]), sampleRate: 44100, format: .float32)
    #expect(wav[20] == 3 && wav[34] == 32)
    let floats = stride(from: 44, to: wav.count, by: 4).map { i in
      Float(
        bitPattern: UInt32(wav[i]) | UInt32(wav[i + 1]) << 8 | UInt32(wav[i + 2]) << 16 | UInt32(wav[i + 3])
          << 24)
    }
    #expect(floats == values)
  }

  @Test func badAudioIsRefused() {
    #expect(throws: TensorError.self) {
      try WAVEncoder.encode(samples: Tensor(zeros: [5]), sampleRate: 16000)
    }
    #expect(throws: TensorError.self) {
      try WAVEncoder.encode(samples: Tensor(zeros: [1, 5]), sampleRate: 0)
    }
  }
}

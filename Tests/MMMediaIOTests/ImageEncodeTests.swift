import MMCore
import Testing

@testable import MMMediaIO

/// PNGEncoder through libpng: every mode at 8 and 16 bits survives a round trip through the
/// decoder, and zlib compression actually compresses.
@Suite("PNG encoder (libpng)") struct ImageEncodeTests {
  @Test(arguments: ImageMode.allCases)
  func everyModeAndDepthRoundTrips(mode: ImageMode) throws {
    var random = SeededRandom(seed: 11)
    let (w, h) = (13, 7)
    let count = w * h * mode.channels
    let eight = try Image(
      width: w, height: h, mode: mode,
      pixels: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    let sixteen = try Image(
      width: w, height: h, mode: mode,
      samples: .uint16((0..<count).map { _ in UInt16(truncatingIfNeeded: random.next()) }))
    for image in [eight, sixteen] {
      let png = try PNGEncoder.encode(image)
      #expect(png[24] == UInt8(image.bitDepth), "IHDR bit depth")
      #expect(
        try ImageFile.decode(bytes: png, file: "roundtrip.png") == image, "\(mode) \(image.bitDepth)-bit")
    }
    // A u16 tensor is written as 16-bit.
    let png = try PNGEncoder.encode(sixteen.tensor())
    #expect(try ImageFile.decode(bytes: png) == sixteen)
  }

  @Test func compressionLevels() throws {
    var pixels: [UInt8] = []
    for y in 0..<64 { for x in 0..<64 { pixels += [UInt8(x * 4), UInt8(y * 4), 128] } }
    let image = try Image(width: 64, height: 64, mode: .rgb, pixels: pixels)
    let stored = try PNGEncoder.encode(image, compressionLevel: 0)
    let compressed = try PNGEncoder.encode(image)
    #expect(compressed.count < stored.count / 4, "\(compressed.count) vs \(stored.count) bytes")
    #expect(stored.count > image.width * image.height * 3)
    #expect(try ImageFile.decode(bytes: stored) == image)
    #expect(throws: TensorError.self) { try PNGEncoder.encode(image, compressionLevel: 10) }
  }
}

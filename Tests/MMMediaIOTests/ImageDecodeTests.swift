import Foundation
import MMCore
import MMMediaIO
import Testing

/// Decoding against PIL (Scripts/goldens/image.py). Tolerance everywhere: 0 — decoded samples
/// and their RGB conversion must equal the goldens exactly.
@Suite("Image decoding") struct ImageDecodeTests {
  /// (fixture, mode, bit depth) of every PNG fixture.
  static let pngs: [(String, ImageMode, Int)] = [
    ("grey1.png", .grey, 8), ("grey2.png", .grey, 8), ("grey4.png", .grey, 8), ("grey8.png", .grey, 8),
    ("grey2_interlaced.png", .grey, 8), ("grey16.png", .grey, 16), ("greyalpha8.png", .greyAlpha, 8),
    ("greyalpha16.png", .greyAlpha, 16), ("rgb8.png", .rgb, 8), ("rgb16.png", .rgb, 16),
    ("rgb16_interlaced.png", .rgb, 16), ("rgba8.png", .rgba, 8), ("rgba16.png", .rgba, 16),
    ("rgba8_interlaced.png", .rgba, 8), ("palette4.png", .rgb, 8), ("palette2_trns.png", .rgba, 8),
    ("palette1_interlaced.png", .rgb, 8), ("palette8_trns.png", .rgba, 8), ("grey8_trns.png", .greyAlpha, 8),
    ("rgb8_trns.png", .rgba, 8),
  ]

  @Test(arguments: pngs)
  func pngSamplesAndRGBMatch(name: String, mode: ImageMode, bitDepth: Int) throws {
    let stem = String(name.dropLast(4))
    let image = try ImageFiles.decode(name)
    #expect(image.mode == mode && image.bitDepth == bitDepth, "\(name): \(image.mode) \(image.bitDepth)-bit")
    let expected = try ImageFiles.golden(stem + "_decoded")
    #expect(expected.shape.reduce(1, *) == image.height * image.width * image.channels)
    #expect(Array(expected.shape.prefix(2)) == [image.height, image.width])
    let decoded = sampleDifference(sampleInts(image), try goldenInts(expected))
    #expect(decoded.maxDifference == 0, "\(name) samples: \(decoded.report)")
    // PIL's Image.open(f).convert("RGB").
    let rgb = image.convertedToRGB()
    let pil = sampleDifference(sampleInts(rgb), try goldenInts(ImageFiles.golden(stem + "_rgb")))
    #expect(rgb.mode == .rgb && rgb.bitDepth == 8)
    #expect(pil.maxDifference == 0, "\(name) convert(\"RGB\"): \(pil.report)")
  }

  @Test(arguments: ["baseline420", "baseline422", "baseline444", "progressive", "grey", "cmyk", "exif6"])
  func jpegMatchesPIL(stem: String) throws {
    let image = try ImageFiles.decode(stem + ".jpg")
    #expect(image.mode == (stem == "grey" ? .grey : .rgb) && image.bitDepth == 8)
    let result = sampleDifference(
      sampleInts(image.convertedToRGB()), try goldenInts(ImageFiles.golden(stem + "_rgb")))
    #expect(result.maxDifference == 0, "\(stem).jpg: \(result.report)")
  }

  /// The shared photos (progressive, 4:2:0): PIL's decode, every 16th row and column compared
  /// sample by sample, the whole array through its CRC-32.
  @Test(arguments: ["car", "dog"])
  func photoMatchesPIL(name: String) throws {
    let image = try ImageFile.read(contentsOf: ImageFiles.shared("\(name)_image.jpg"))
    let pixels = try #require(image.pixels8)
    let sample = try ImageFiles.golden("\(name)_decoded_sample")
    #expect(sample.shape == [(image.height + 15) / 16, (image.width + 15) / 16, 3])
    var picked: [Int] = []
    for y in stride(from: 0, to: image.height, by: 16) {
      for x in stride(from: 0, to: image.width, by: 16) {
        for c in 0..<3 { picked.append(Int(pixels[(y * image.width + x) * 3 + c])) }
      }
    }
    let result = sampleDifference(picked, try goldenInts(sample))
    #expect(result.maxDifference == 0, "\(name) sampled pixels: \(result.report)")
    let expected = try goldenInts(ImageFiles.golden("\(name)_decoded_digest"))
    #expect(imageDigest(pixels) == expected, "\(name): CRC-32/count/sum of all pixels differ from PIL's")
  }

  /// Orientations 1–8 in PNG eXIf chunks: upright by default, as stored on request.
  @Test(arguments: 1...8)
  func exifOrientationInPNG(orientation: Int) throws {
    let path = ImageFiles.fixture("orient\(orientation).png")
    #expect(ImageFile.exifOrientation(of: try ImageFiles.bytes(path)) == orientation)
    let upright = try ImageFile.read(contentsOf: path)
    let expected = try ImageFiles.golden("orient\(orientation)_upright_rgb")
    #expect(expected.shape == [upright.height, upright.width, 3])
    #expect(sampleInts(upright) == (try goldenInts(expected)), "exif_transpose of orientation \(orientation)")
    let stored = try ImageFile.read(contentsOf: path, options: .storedOrientation)
    #expect(sampleInts(stored) == (try goldenInts(ImageFiles.golden("orient\(orientation)_rgb"))))
  }

  @Test func exifOrientationInJPEG() throws {
    let path = ImageFiles.fixture("exif6.jpg")
    #expect(ImageFile.exifOrientation(of: try ImageFiles.bytes(path)) == 6)
    let upright = try ImageFile.read(contentsOf: path)
    #expect(upright.width == 20 && upright.height == 32)
    let result = sampleDifference(sampleInts(upright), try goldenInts(ImageFiles.golden("exif6_upright_rgb")))
    #expect(result.maxDifference == 0, "exif6.jpg upright: \(result.report)")
    let stored = try ImageFile.read(contentsOf: path, options: .storedOrientation)
    #expect(stored.width == 32 && stored.height == 20)
    #expect(ImageFile.exifOrientation(of: try ImageFiles.bytes(ImageFiles.fixture("baseline420.jpg"))) == nil)
  }

  /// Transposes compose as PIL's do: rotate90 ∘ rotate270 = identity, transpose twice = identity.
  @Test func transposesInvert() throws {
    let image = try ImageFiles.decode("rgba16.png")
    #expect(image.transposed(.rotate90).transposed(.rotate270) == image)
    #expect(image.transposed(.transpose).transposed(.transpose) == image)
    #expect(image.transposed(.transverse).transposed(.transverse) == image)
    #expect(image.transposed(.rotate180) == image.transposed(.flipLeftRight).transposed(.flipTopBottom))
  }

  @Test func formatComesFromTheBytesNotTheName() throws {
    let path = ImageFiles.temporaryPath("really-a-png.jpg")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(try ImageFiles.bytes(ImageFiles.fixture("rgb8.png"))).write(to: URL(fileURLWithPath: path))
    #expect(try ImageFile.read(contentsOf: path) == (try ImageFiles.decode("rgb8.png")))
    #expect(ImageFormat.detect(try ImageFiles.bytes(ImageFiles.fixture("grey.jpg"))) == .jpeg)
  }

  /// 16 → 8 bits: PIL clamps 16-bit grey ("I;16") but keeps the high byte of other modes.
  @Test func sixteenBitReductions() throws {
    let grey = try Image(width: 4, height: 1, mode: .grey, samples: .uint16([0, 255, 256, 65535]))
    #expect(grey.convertedTo8Bit(.pil).pixels8 == [0, 255, 255, 255])
    #expect(grey.convertedTo8Bit(.highByte).pixels8 == [0, 0, 1, 255])
    #expect(grey.convertedTo8Bit(.rounded).pixels8 == [0, 1, 1, 255])
    let la = try Image(width: 1, height: 1, mode: .greyAlpha, samples: .uint16([0x1234, 0xFF00]))
    #expect(la.convertedToRGB().pixels8 == [0x12, 0x12, 0x12])
  }

  /// PIL's convert between modes on 8-bit samples: luma in its fixed point, alpha 255 added.
  @Test func modeConversions() throws {
    let rgba = try Image(width: 2, height: 1, mode: .rgba, pixels: [255, 0, 0, 10, 10, 200, 30, 40])
    #expect(rgba.converted(to: .grey).pixels8 == [76, 124])
    #expect(rgba.converted(to: .greyAlpha).pixels8 == [76, 10, 124, 40])
    #expect(rgba.converted(to: .rgb).pixels8 == [255, 0, 0, 10, 200, 30])
    let grey = try Image(width: 2, height: 1, mode: .grey, pixels: [7, 9])
    #expect(grey.converted(to: .rgba).pixels8 == [7, 7, 7, 255, 9, 9, 9, 255])
    #expect(throws: TensorError.self) { try Image(width: 2, height: 2, mode: .rgb, pixels: [1, 2, 3]) }
  }

  @Test func tensorRoundTrip() throws {
    let image = try ImageFiles.decode("rgba16.png")
    let tensor = image.tensor()
    #expect(tensor.shape == [image.height, image.width, 4] && tensor.dtype == .u16)
    #expect(try Image(tensor: tensor) == image)
  }
}

import Foundation
import MMCore
import Testing

@testable import MMMediaIO

/// The error `decode` throws, or nil when it succeeds.
private func decodeError(_ bytes: [UInt8], _ file: String, maxPixels: Int = ImageFile.defaultMaxPixels)
  -> ImageFileError?
{
  do {
    _ = try ImageFile.decode(bytes: bytes, file: file, options: ImageDecodeOptions(maxPixels: maxPixels))
    return nil
  } catch { return error }
}

/// A PNG chunk with its CRC.
private func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
  let body = Array(type.utf8) + data
  let crc = body.withUnsafeBytes { imageCRC32($0) }
  return [
    UInt8(data.count >> 24), UInt8(data.count >> 16 & 0xFF), UInt8(data.count >> 8 & 0xFF),
    UInt8(data.count & 0xFF),
  ]
    + body + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
}

/// A PNG with a valid IHDR declaring `width`×`height` 8-bit RGB, a tiny IDAT and IEND.
private func pngDeclaring(width: UInt32, height: UInt32) -> [UInt8] {
  func be(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
  }
  let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
  return signature + pngChunk("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0])
    + pngChunk("IDAT", [0x78, 0x9C, 0x63, 0, 0, 0, 1, 0, 1]) + pngChunk("IEND", [])
}

/// Every error names the file first; each kind has its own message.
@Suite("Image bad input") struct ImageBadInputTests {
  @Test func missingEmptyAndDirectory() throws {
    let missing = ImageFiles.temporaryPath("missing.png")
    #expect(
      throws: ImageFileError(file: missing, kind: .io, message: "cannot open: No such file or directory")
    ) {
      try ImageFile.read(contentsOf: missing)
    }
    let empty = ImageFiles.temporaryPath("empty.png")
    _ = FileManager.default.createFile(atPath: empty, contents: Data())
    defer { try? FileManager.default.removeItem(atPath: empty) }
    #expect(throws: ImageFileError(file: empty, kind: .empty, message: "empty file (0 bytes)")) {
      try ImageFile.read(contentsOf: empty)
    }
    let directory = FileManager.default.temporaryDirectory.path
    do {
      _ = try ImageFile.read(contentsOf: directory)
      Issue.record("a directory decoded")
    } catch {
      #expect(error.kind == .io && error.description.hasPrefix(directory + ": "))
    }
  }

  @Test func wrongMagic() {
    let text = decodeError(Array("hello, world".utf8), "notes.png")
    #expect(text?.kind == .format)
    #expect(text?.description == "notes.png: not a PNG or JPEG file (starts with 68 65 6C 6C 6F 2C 20 77)")
    let gif = decodeError(Array("GIF89a\u{1}\u{0}\u{1}\u{0}".utf8), "anim.gif")
    #expect(gif?.kind == .unsupported)
    #expect(gif?.description == "anim.gif: GIF images are not supported (PNG and JPEG only)")
    #expect(decodeError([0x89, 0x50, 0x4E], "cut.png")?.kind == .format)
    #expect(decodeError([0x89, 0x50, 0x4E, 0x47, 0x0D], "cut.png")?.kind == .truncated)
  }

  /// PNGs cut inside the signature, IHDR, the image data and just before IEND all fail as
  /// truncated.
  @Test(arguments: ["rgb8.png", "rgb16_interlaced.png", "palette2_trns.png"])
  func truncatedPNG(name: String) throws {
    let bytes = try ImageFiles.bytes(ImageFiles.fixture(name))
    for cut in [20, 40, bytes.count / 3, bytes.count / 2, bytes.count - 20, bytes.count - 1] {
      let error = decodeError(Array(bytes.prefix(cut)), name)
      #expect(
        error?.kind == .truncated, "\(name) cut at \(cut) of \(bytes.count): \(String(describing: error))")
      #expect(error?.description.hasPrefix("\(name): truncated") == true, "\(String(describing: error))")
    }
  }

  /// JPEGs cut in the headers, in the middle of the scans, and just before EOI fail as truncated
  /// (libjpeg would warn "Premature end of JPEG file" and fill the rest with grey).
  @Test(arguments: ["baseline420.jpg", "progressive.jpg", "shared:dog_image.jpg"])
  func truncatedJPEG(name: String) throws {
    let path =
      name.hasPrefix("shared:") ? try ImageFiles.shared(String(name.dropFirst(7))) : ImageFiles.fixture(name)
    let bytes = try ImageFiles.bytes(path)
    for cut in [100, bytes.count / 2, bytes.count * 9 / 10, bytes.count - 2] {
      let error = decodeError(Array(bytes.prefix(cut)), name)
      #expect(
        error?.kind == .truncated, "\(name) cut at \(cut) of \(bytes.count): \(String(describing: error))")
      #expect(
        error?.description.contains("Premature end of JPEG file") == true, "\(String(describing: error))")
    }
  }

  @Test func hostileSizesAreRefusedBeforeAllocating() {
    let huge = decodeError(pngDeclaring(width: 100_000, height: 100_000), "bomb.png")
    #expect(huge?.kind == .tooLarge)
    #expect(
      huge?.description == "bomb.png: IHDR declares 100000×100000 pixels, over the limit of 178956970 pixels")
    #expect(decodeError(pngDeclaring(width: 0xFFFF_FFFF, height: 0xFFFF_FFFF), "max.png")?.kind == .tooLarge)
    // The shim's own check (libpng's user limits and the product), below the Swift pre-check.
    #expect(decodeError(pngDeclaring(width: 20, height: 20), "small.png", maxPixels: 399)?.kind == .tooLarge)
    let zero = decodeError(pngDeclaring(width: 0, height: 0), "zero.png")
    #expect(zero?.kind == .empty)
    #expect(zero?.description == "zero.png: IHDR declares an empty image of 0×0")
    #expect(decodeError(pngDeclaring(width: 7, height: 0), "flat.png")?.kind == .empty)
  }

  /// JPEGs whose SOF0 declares 60000×60000 (under libjpeg's 65500 limit, over ours), 65535×65535
  /// (over libjpeg's) and a zero height.
  @Test func hostileJPEGSizes() throws {
    let bytes = try ImageFiles.bytes(ImageFiles.fixture("baseline420.jpg"))
    let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
    var huge = bytes
    huge.replaceSubrange((sof + 5)..<(sof + 9), with: [0xEA, 0x60, 0xEA, 0x60])
    let error = decodeError(huge, "huge.jpg")
    #expect(error?.kind == .tooLarge)
    #expect(
      error?.description == "huge.jpg: JPEG image of 60000x60000 pixels is over the limit of 178956970 pixels"
    )
    huge.replaceSubrange((sof + 5)..<(sof + 9), with: [0xFF, 0xFF, 0xFF, 0xFF])
    #expect(decodeError(huge, "huger.jpg")?.kind == .tooLarge)
    var zero = bytes
    zero.replaceSubrange((sof + 7)..<(sof + 9), with: [0, 0])
    #expect(decodeError(zero, "zero.jpg")?.kind == .empty)
    #expect(decodeError(bytes, "small.jpg", maxPixels: 100)?.kind == .tooLarge)
  }

  /// A wrong CRC on IDAT and on an ancillary chunk (eXIf); damaged IDAT data (zlib sees it
  /// before the CRC is checked).
  @Test func corruptCRC() throws {
    let original = try ImageFiles.bytes(ImageFiles.fixture("rgb8.png"))
    let idat = try #require(
      (8..<(original.count - 4)).first { original[$0..<($0 + 4)].elementsEqual("IDAT".utf8) })
    let length = original[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }
    var bytes = original
    bytes[idat + 4 + length] ^= 0x55  // first byte of the CRC
    let error = decodeError(bytes, "crc.png")
    #expect(error?.kind == .format)
    #expect(error?.description == "crc.png: invalid PNG: IDAT: CRC error")
    bytes = original
    bytes[idat + 10] ^= 0x55
    #expect(decodeError(bytes, "data.png")?.kind == .format)
    var exif = try ImageFiles.bytes(ImageFiles.fixture("orient6.png"))
    let at = try #require((8..<(exif.count - 4)).first { exif[$0..<($0 + 4)].elementsEqual("eXIf".utf8) })
    exif[at + 6] ^= 0x01
    #expect(decodeError(exif, "exif.png")?.description == "exif.png: invalid PNG: eXIf: CRC error")
  }

  /// Damaged entropy-coded data: libjpeg's "Corrupt JPEG data" warnings are errors here.
  @Test func corruptJPEGData() throws {
    var bytes = try ImageFiles.bytes(ImageFiles.fixture("baseline444.jpg"))
    let sos = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
    // A restart marker where none is expected, inside the scan.
    bytes.replaceSubrange((sos + 200)..<(sos + 202), with: [0xFF, 0xD3])
    let error = decodeError(bytes, "corrupt.jpg")
    #expect(error?.kind == .format)
    #expect(
      error?.description.hasPrefix("corrupt.jpg: invalid JPEG: Corrupt JPEG data") == true,
      "\(String(describing: error))")
  }
}

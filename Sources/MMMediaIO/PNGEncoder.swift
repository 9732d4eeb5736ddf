import MMCore

/// Writes images as PNG (8-bit grey, grey+alpha, RGB or RGBA; no interlace). The zlib stream uses
/// stored (uncompressed) deflate blocks: valid for every PNG reader, larger than a compressed
/// file, and free of a compression dependency. (Reading PNG, and compressed writing through
/// libpng, arrive with the media decoders.)
public enum PNGEncoder {
  /// image: `[height, width, channels]` (channels 1–4) u8, or f32 in [0, 1] (clamped, rounded).
  public static func encode(_ image: Tensor) throws(TensorError) -> [UInt8] {
    guard image.rank == 3, (1...4).contains(image.shape[2]) else {
      throw .shapeMismatch(
        op: "PNG", expected: "[height, width, channels] with 1–4 channels", found: shapeText(image.shape))
    }
    let (height, width, channels) = (image.shape[0], image.shape[1], image.shape[2])
    guard height > 0, width > 0, height < 1 << 31, width < 1 << 31 else {
      throw .invalidArgument(op: "PNG", message: "image of \(height)×\(width) pixels cannot be written")
    }
    let pixels: [UInt8]
    switch image.dtype {
    case .u8: pixels = try image.scalars(UInt8.self)
    case .f32, .f16, .bf16, .f64:
      pixels = image.floats().map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
    default:
      throw .dtypeMismatch(op: "PNG", expected: .u8, found: image.dtype)
    }
    // Scanlines, each prefixed by filter type 0 (none).
    let rowBytes = width * channels
    var raw = [UInt8]()
    raw.reserveCapacity(height * (rowBytes + 1))
    for y in 0..<height {
      raw.append(0)
      raw.append(contentsOf: pixels[y * rowBytes..<(y + 1) * rowBytes])
    }
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    var header = [UInt8]()
    header.appendBigEndian(UInt32(width))
    header.appendBigEndian(UInt32(height))
    let colorType: UInt8 = [0, 4, 2, 6][channels - 1]
    header.append(contentsOf: [8, colorType, 0, 0, 0])  // depth, color type, deflate, filter, no interlace
    appendChunk("IHDR", header, to: &png)
    appendChunk("IDAT", storedZlib(raw), to: &png)
    appendChunk("IEND", [], to: &png)
    return png
  }

  /// A zlib stream of stored deflate blocks (at most 65 535 bytes each).
  static func storedZlib(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
      let count = min(65_535, data.count - offset)
      let final: UInt8 = offset + count == data.count ? 1 : 0
      out.append(final)
      out.appendLittleEndian(UInt16(count))
      out.appendLittleEndian(~UInt16(count))
      out.append(contentsOf: data[offset..<offset + count])
      offset += count
    } while offset < data.count
    out.appendBigEndian(Checksum.adler32(data))
    return out
  }

  private static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
    png.appendBigEndian(UInt32(data.count))
    let typeBytes = Array(type.utf8)
    png.append(contentsOf: typeBytes)
    png.append(contentsOf: data)
    png.appendBigEndian(Checksum.crc32(data, initial: Checksum.crc32(typeBytes)))
  }
}

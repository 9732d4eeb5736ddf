import CImageCodecs
import MMCore

/// Writes images as PNG through libpng: 8-bit or 16-bit grey, grey+alpha, RGB or RGBA, zlib
/// compressed with libpng's adaptive row filters, no interlace. Returns the file's bytes;
/// writing them (atomically) is the caller's job.
public enum PNGEncoder {
  /// zlib's default trade-off between size and speed.
  public static let defaultCompressionLevel = 6

  /// image: `[height, width, channels]` (channels 1–4) u8 or u16 (written as 16-bit), or f32/f16/
  /// bf16/f64 in [0, 1] (clamped, rounded to 8 bits). compressionLevel: zlib's 0 (stored) … 9.
  public static func encode(_ image: Tensor, compressionLevel: Int = defaultCompressionLevel)
    throws(TensorError) -> [UInt8]
  {
    guard image.rank == 3, (1...4).contains(image.shape[2]) else {
      throw .shapeMismatch(
        op: "PNG", expected: "[height, width, channels] with 1–4 channels", found: shapeText(image.shape))
    }
    let (height, width, channels) = (image.shape[0], image.shape[1], image.shape[2])
    guard height > 0, width > 0, height < 1 << 31, width < 1 << 31 else {
      throw .invalidArgument(op: "PNG", message: "image of \(height)×\(width) pixels cannot be written")
    }
    switch image.dtype {
    case .u8:
      return try write(try image.scalars(UInt8.self), width, height, channels, bitDepth: 8, compressionLevel)
    case .u16:
      return try write(
        try image.scalars(UInt16.self), width, height, channels, bitDepth: 16, compressionLevel)
    case .f32, .f16, .bf16, .f64:
      let pixels = image.floats().map { UInt8((min(max($0, 0), 1) * 255).rounded()) }
      return try write(pixels, width, height, channels, bitDepth: 8, compressionLevel)
    default:
      throw .dtypeMismatch(op: "PNG", expected: .u8, found: image.dtype)
    }
  }

  /// An `Image` at its own bit depth (16-bit images stay 16-bit).
  public static func encode(_ image: Image, compressionLevel: Int = defaultCompressionLevel)
    throws(TensorError) -> [UInt8]
  {
    switch image.samples {
    case .uint8(let values):
      return try write(values, image.width, image.height, image.channels, bitDepth: 8, compressionLevel)
    case .uint16(let values):
      return try write(values, image.width, image.height, image.channels, bitDepth: 16, compressionLevel)
    }
  }

  /// `samples`: native-endian, `[height][width][channels]`.
  private static func write<T>(
    _ samples: [T], _ width: Int, _ height: Int, _ channels: Int, bitDepth: Int, _ level: Int
  ) throws(TensorError) -> [UInt8] {
    guard (0...9).contains(level) else {
      throw .invalidArgument(op: "PNG", message: "compression level \(level) is not in 0…9")
    }
    var png: UnsafeMutablePointer<UInt8>? = nil
    var size = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = samples.withUnsafeBytes { raw in
      mm_png_encode(
        raw.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(width), UInt32(height), UInt32(channels),
        UInt32(bitDepth), Int32(level), &png, &size, &message)
    }
    defer { mm_image_free(png) }
    guard status == MM_IMAGE_OK, let png else {
      let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
      throw .invalidArgument(op: "PNG", message: text.isEmpty ? "libpng could not write the image" : text)
    }
    return Array(UnsafeBufferPointer(start: png, count: size))
  }
}

import CImageCodecs
import MMCore

/// Swift side of the CImageCodecs shim: status codes become `ImageFileError`s, malloc'd pixels
/// become `ImageSamples`.
enum ImageCodecs {
  static func decodePNG(_ bytes: [UInt8], file: String, maxPixels: Int) throws(ImageFileError) -> Image {
    try decode(bytes, file: file, format: "PNG", maxPixels: maxPixels, mm_png_decode)
  }

  /// CMYK files come back as RGB, converted as PIL's `Image.open(f).convert("RGB")` does.
  static func decodeJPEG(_ bytes: [UInt8], file: String, maxPixels: Int) throws(ImageFileError) -> Image {
    try decode(bytes, file: file, format: "JPEG", maxPixels: maxPixels, mm_jpeg_decode)
  }

  typealias Decoder = (
    UnsafePointer<UInt8>?, Int, UInt64, UnsafeMutablePointer<mm_image_info>?,
    UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?
  ) -> mm_image_status

  private static func decode(
    _ bytes: [UInt8], file: String, format: String, maxPixels: Int, _ decoder: Decoder
  ) throws(ImageFileError) -> Image {
    var info = mm_image_info()
    var pixels: UnsafeMutablePointer<UInt8>? = nil
    let status = bytes.withUnsafeBufferPointer {
      decoder($0.baseAddress, $0.count, UInt64(max(0, maxPixels)), &info, &pixels)
    }
    defer { mm_image_free(pixels) }
    guard status == MM_IMAGE_OK, let pixels else {
      let message = withUnsafeBytes(of: info.message) {
        String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
      }
      throw error(status, format: format, message: message, file: file)
    }
    let (width, height, channels) = (Int(info.width), Int(info.height), Int(info.channels))
    let count = width * height * channels
    if info.is_cmyk != 0 {
      let rgb = cmykToRGB(UnsafeBufferPointer(start: pixels, count: count))
      return Image(unchecked: width, height, .rgb, .uint8(rgb))
    }
    guard let mode = ImageMode(channels: channels) else {
      throw ImageFileError(
        file: file, kind: .unsupported, message: "\(format) decodes to \(channels) channels")
    }
    if info.bit_depth == 16 {
      let samples = UnsafeRawPointer(pixels).withMemoryRebound(to: UInt16.self, capacity: count) {
        Array(UnsafeBufferPointer(start: $0, count: count))
      }
      return Image(unchecked: width, height, mode, .uint16(samples))
    }
    return Image(
      unchecked: width, height, mode, .uint8(Array(UnsafeBufferPointer(start: pixels, count: count))))
  }

  static func error(_ status: mm_image_status, format: String, message: String, file: String)
    -> ImageFileError
  {
    switch status {
    case MM_IMAGE_TRUNCATED:
      return ImageFileError(file: file, kind: .truncated, message: "truncated \(format): \(message)")
    case MM_IMAGE_TOO_LARGE:
      return ImageFileError(file: file, kind: .tooLarge, message: "\(format) \(message)")
    case MM_IMAGE_EMPTY:
      return ImageFileError(file: file, kind: .empty, message: "empty \(format): \(message)")
    case MM_IMAGE_UNSUPPORTED:
      return ImageFileError(file: file, kind: .unsupported, message: "unsupported \(format): \(message)")
    case MM_IMAGE_NO_MEMORY:
      return ImageFileError(file: file, kind: .tooLarge, message: "\(format): \(message)")
    default:
      return ImageFileError(file: file, kind: .format, message: "invalid \(format): \(message)")
    }
  }

  /// libjpeg's CMYK as PIL reads it ("CMYK;I": Adobe's inverted polarity, assumed for every
  /// file) followed by PIL's `cmyk2rgb`: with k' = 255 − k (the stored value),
  /// r = clip(k' − k'·c'/255), c' = 255 − c, MULDIV255 rounding.
  static func cmykToRGB(_ cmyk: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    let pixels = cmyk.count / 4
    var rgb = [UInt8](repeating: 0, count: pixels * 3)
    @inline(__always) func mulDiv255(_ a: Int, _ b: Int) -> Int {
      let t = a * b + 128
      return ((t >> 8) + t) >> 8
    }
    for p in 0..<pixels {
      let nk = Int(cmyk[p * 4 + 3])  // 255 − inverted k
      for c in 0..<3 {
        let ink = 255 - Int(cmyk[p * 4 + c])
        rgb[p * 3 + c] = UInt8(clamping: nk - mulDiv255(ink, nk))
      }
    }
    return rgb
  }
}

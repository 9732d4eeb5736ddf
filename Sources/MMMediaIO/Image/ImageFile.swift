import Glibc
import MMCore

/// The container formats `ImageFile` decodes, detected from the first bytes (never the name).
public enum ImageFormat: String, Sendable, Equatable {
  case png
  case jpeg

  /// PNG: the 8-byte signature; JPEG: SOI followed by a marker (FF D8 FF).
  public static func detect(_ bytes: [UInt8]) -> ImageFormat? {
    if bytes.count >= 8, bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
      return .png
    }
    if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
    return nil
  }
}

/// How `ImageFile` decodes.
public struct ImageDecodeOptions: Sendable, Equatable {
  /// Rotate/flip the pixels as the EXIF orientation tag says (JPEG APP1 "Exif", PNG eXIf), so
  /// the image comes out upright; the tag's value is then treated as 1. Default true.
  ///
  /// Note that PIL's `Image.open` does NOT apply the orientation, and neither do torchvision's
  /// transforms (nor ImageBind's or CLIP's preprocessing, which call `Image.open(...)`);
  /// `PIL.ImageOps.exif_transpose` does. Set false to get the pixels as stored, which is what
  /// those pipelines see.
  public var applyExifOrientation: Bool
  /// The most pixels (width × height) a header may declare; checked before allocating.
  public var maxPixels: Int

  public init(applyExifOrientation: Bool = true, maxPixels: Int = ImageFile.defaultMaxPixels) {
    self.applyExifOrientation = applyExifOrientation
    self.maxPixels = maxPixels
  }

  /// The pixels exactly as stored (what PIL's `Image.open` gives).
  public static let storedOrientation = ImageDecodeOptions(applyExifOrientation: false)
}

/// Decodes PNG (libpng) and JPEG (libjpeg-turbo) files into `Image`s.
///
/// - PNG: 1/2/4/8/16-bit grey, grey+alpha, palette, RGB, RGBA, interlaced or not. Sub-byte grey
///   is scaled to 8 bits (×255, ×85, ×17, as PIL does), palettes are expanded to RGB, and a tRNS
///   chunk becomes an alpha channel (palette → RGBA, grey → grey+alpha, RGB → RGBA). 16-bit files
///   stay 16-bit (`ImageSamples.uint16`). Gamma, sBIT and colour profiles are ignored (so does
///   PIL). Every chunk CRC is checked.
/// - JPEG: baseline and progressive, decoded with PIL's settings (islow IDCT, fancy
///   upsampling), so pixels equal Pillow's bit for bit. Grey stays grey; YCbCr and RGB give RGB;
///   CMYK and YCCK are converted to RGB on decode as `Image.open(f).convert("RGB")` does: PIL
///   reads CMYK with Adobe's inverted polarity and mixes naively, r = (255 − c)(255 − k) / 255
///   with its integer rounding (no colour profile).
/// - Damage is an error, never grey filler: a truncated file throws `.truncated`, corrupt data
///   `.format`.
public enum ImageFile {
  /// PIL's `Image.MAX_IMAGE_PIXELS` × 2, where PIL raises `DecompressionBombError`.
  public static let defaultMaxPixels = 178_956_970
  /// Files larger than this (2 GiB) are refused before reading.
  public static let maxFileBytes = 1 << 31

  /// Reads and decodes a PNG or JPEG file.
  public static func read(contentsOf path: String, options: ImageDecodeOptions = .init())
    throws(ImageFileError) -> Image
  {
    try decode(bytes: readBytes(path), file: path, options: options)
  }

  /// Decodes a PNG or JPEG held in memory; `file` names it in errors.
  public static func decode(bytes: [UInt8], file: String = "<memory>", options: ImageDecodeOptions = .init())
    throws(ImageFileError) -> Image
  {
    guard !bytes.isEmpty else {
      throw ImageFileError(file: file, kind: .empty, message: "empty file (0 bytes)")
    }
    guard let format = ImageFormat.detect(bytes) else { throw unrecognised(bytes, file: file) }
    var image: Image
    switch format {
    case .png:
      try PNGHeader.check(bytes, file: file, maxPixels: options.maxPixels)
      image = try ImageCodecs.decodePNG(bytes, file: file, maxPixels: options.maxPixels)
    case .jpeg:
      image = try ImageCodecs.decodeJPEG(bytes, file: file, maxPixels: options.maxPixels)
    }
    if options.applyExifOrientation, let orientation = ExifOrientation.read(bytes, format: format) {
      image = image.applyingExifOrientation(orientation)
    }
    return image
  }

  /// The EXIF orientation (1–8) a PNG or JPEG declares, or nil when it has none (or an invalid
  /// one).
  public static func exifOrientation(of bytes: [UInt8]) -> Int? {
    guard let format = ImageFormat.detect(bytes) else { return nil }
    return ExifOrientation.read(bytes, format: format)
  }

  /// The whole file, with errors for missing, directory, unreadable and oversized files.
  static func readBytes(_ path: String) throws(ImageFileError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw ImageFileError(file: path, kind: .io, message: "cannot open: \(errnoText())")
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      throw ImageFileError(file: path, kind: .io, message: "cannot stat: \(errnoText())")
    }
    if (status.st_mode & S_IFMT) == S_IFDIR {
      throw ImageFileError(file: path, kind: .io, message: "is a directory, not an image file")
    }
    let size = Int(status.st_size)
    guard size <= maxFileBytes else {
      throw ImageFileError(
        file: path, kind: .tooLarge, message: "file of \(size) bytes is over the limit of \(maxFileBytes)")
    }
    var bytes = [UInt8](repeating: 0, count: size)
    var got = 0
    while got < size {
      let n = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + got, size - got) }
      if n < 0, errno == EINTR { continue }
      guard n >= 0 else {
        throw ImageFileError(file: path, kind: .io, message: "read failed: \(errnoText())")
      }
      if n == 0 { break }
      got += n
    }
    return Array(bytes.prefix(got))
  }

  /// The error for bytes that are neither PNG nor JPEG: other image formats are named.
  static func unrecognised(_ bytes: [UInt8], file: String) -> ImageFileError {
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
      return bytes.count < 8
        ? ImageFileError(file: file, kind: .truncated, message: "truncated PNG signature")
        : ImageFileError(file: file, kind: .format, message: "damaged PNG signature")
    }
    if let other = otherFormat(bytes) {
      return ImageFileError(
        file: file, kind: .unsupported, message: "\(other) images are not supported (PNG and JPEG only)")
    }
    let head = bytes.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }
    return ImageFileError(
      file: file, kind: .format,
      message: "not a PNG or JPEG file (starts with \(head.joined(separator: " ")))")
  }

  /// Image formats recognised by their magic only to name them in the error.
  static func otherFormat(_ bytes: [UInt8]) -> String? {
    func starts(_ text: String, at offset: Int = 0) -> Bool {
      bytes.count >= offset + text.utf8.count && bytes[offset...].starts(with: Array(text.utf8))
    }
    if starts("GIF8") { return "GIF" }
    if starts("BM") { return "BMP" }
    if starts("II*\u{0}") || starts("MM\u{0}*") { return "TIFF" }
    if starts("RIFF") && starts("WEBP", at: 8) { return "WebP" }
    if starts("ftyp", at: 4) { return "HEIF/AVIF" }
    return nil
  }
}

/// Reads IHDR before libpng does, for clear messages about empty and oversized images.
enum PNGHeader {
  static func check(_ bytes: [UInt8], file: String, maxPixels: Int) throws(ImageFileError) {
    guard bytes.count >= 33 else {
      throw ImageFileError(file: file, kind: .truncated, message: "truncated PNG: the file ends inside IHDR")
    }
    func u32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
    guard u32(8) == 13, bytes[12..<16].elementsEqual("IHDR".utf8) else {
      throw ImageFileError(file: file, kind: .format, message: "PNG does not start with a 13-byte IHDR chunk")
    }
    let (width, height) = (u32(16), u32(20))
    if width == 0 || height == 0 {
      throw ImageFileError(
        file: file, kind: .empty, message: "IHDR declares an empty image of \(width)×\(height)")
    }
    let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
    if overflow || pixels > maxPixels {
      throw ImageFileError(
        file: file, kind: .tooLarge,
        message: "IHDR declares \(width)×\(height) pixels, over the limit of \(maxPixels) pixels")
    }
  }
}

/// The EXIF Orientation tag (0x0112) of JPEG APP1 "Exif" segments and PNG eXIf chunks, and the
/// flips and rotations that make an image upright (what `PIL.ImageOps.exif_transpose` does).
enum ExifOrientation {
  /// The orientation (1–8), or nil when absent, malformed or out of range. JPEG: the first APP1
  /// "Exif" segment before the scan data; PNG: the first eXIf chunk.
  static func read(_ bytes: [UInt8], format: ImageFormat) -> Int? {
    let tiff: ArraySlice<UInt8>?
    switch format {
    case .jpeg: tiff = jpegExif(bytes)
    case .png: tiff = pngExif(bytes)
    }
    guard let tiff, let value = orientationTag(tiff), (1...8).contains(value) else { return nil }
    return value
  }

  /// The TIFF block of the first APP1 Exif segment.
  static func jpegExif(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
    var at = 2
    while at + 4 <= bytes.count {
      guard bytes[at] == 0xFF else { return nil }
      let marker = bytes[at + 1]
      if marker == 0xFF {  // fill byte
        at += 1
        continue
      }
      if marker == 0x01 || (0xD0...0xD8).contains(marker) {  // no length
        at += 2
        continue
      }
      if marker == 0xDA || marker == 0xD9 { return nil }  // scan data or end: no EXIF before it
      let length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
      guard length >= 2, at + 2 + length <= bytes.count else { return nil }
      let data = bytes[(at + 4)..<(at + 2 + length)]
      if marker == 0xE1, data.starts(with: Array("Exif\u{0}\u{0}".utf8)) { return data.dropFirst(6) }
      at += 2 + length
    }
    return nil
  }

  /// The TIFF block of the first eXIf chunk (chunks are walked up to IEND; CRCs are libpng's
  /// business).
  static func pngExif(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
    var at = 8
    while at + 12 <= bytes.count {
      let length = bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
      let type = bytes[(at + 4)..<(at + 8)]
      guard length <= bytes.count - at - 12 else { return nil }
      if type.elementsEqual("eXIf".utf8) {
        let data = bytes[(at + 8)..<(at + 8 + length)]
        // Some writers keep the JPEG "Exif\0\0" prefix inside the chunk; PIL copes, so do we.
        return data.starts(with: Array("Exif\u{0}\u{0}".utf8)) ? data.dropFirst(6) : data
      }
      if type.elementsEqual("IEND".utf8) { return nil }
      at += 12 + length
    }
    return nil
  }

  /// Tag 0x0112 of IFD0 in a TIFF block ("II" or "MM"), SHORT or LONG.
  static func orientationTag(_ tiff: ArraySlice<UInt8>) -> Int? {
    let base = tiff.startIndex
    guard tiff.count >= 8 else { return nil }
    let little: Bool
    switch (tiff[base], tiff[base + 1]) {
    case (0x49, 0x49): little = true
    case (0x4D, 0x4D): little = false
    default: return nil
    }
    func u16(_ offset: Int) -> Int? {
      guard offset >= 0, offset + 2 <= tiff.count else { return nil }
      let (a, b) = (Int(tiff[base + offset]), Int(tiff[base + offset + 1]))
      return little ? a | b << 8 : a << 8 | b
    }
    func u32(_ offset: Int) -> Int? {
      guard let low = u16(little ? offset : offset + 2), let high = u16(little ? offset + 2 : offset)
      else { return nil }
      return high << 16 | low
    }
    guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
    for entry in 0..<entries {
      let at = ifd + 2 + entry * 12
      guard let tag = u16(at), let type = u16(at + 2) else { return nil }
      if tag == 0x0112 {
        switch type {
        case 3: return u16(at + 8)
        case 4: return u32(at + 8)
        default: return nil
        }
      }
    }
    return nil
  }
}

/// PIL's `Image.Transpose` operations.
public enum ImageTranspose: Sendable, Equatable, CaseIterable {
  case flipLeftRight
  case flipTopBottom
  /// 90° counter-clockwise.
  case rotate90
  case rotate180
  /// 270° counter-clockwise (90° clockwise).
  case rotate270
  /// Mirror across the main diagonal (x ↔ y).
  case transpose
  /// Mirror across the other diagonal.
  case transverse

  /// The operation `PIL.ImageOps.exif_transpose` applies for an orientation; nil for 1 and
  /// invalid values.
  public init?(exifOrientation: Int) {
    switch exifOrientation {
    case 2: self = .flipLeftRight
    case 3: self = .rotate180
    case 4: self = .flipTopBottom
    case 5: self = .transpose
    case 6: self = .rotate270
    case 7: self = .transverse
    case 8: self = .rotate90
    default: return nil
    }
  }

  var swapsSides: Bool {
    self == .rotate90 || self == .rotate270 || self == .transpose || self == .transverse
  }
}

extension Image {
  /// The image flipped or rotated as PIL's `Image.transpose(method)` does.
  public func transposed(_ operation: ImageTranspose) -> Image {
    let (w, h) = (width, height)
    let (outWidth, outHeight) = operation.swapsSides ? (h, w) : (w, h)
    // Source pixel of output (x, y).
    let source: (Int, Int) -> Int
    switch operation {
    case .flipLeftRight: source = { x, y in y * w + (w - 1 - x) }
    case .flipTopBottom: source = { x, y in (h - 1 - y) * w + x }
    case .rotate180: source = { x, y in (h - 1 - y) * w + (w - 1 - x) }
    case .rotate90: source = { x, y in x * w + (w - 1 - y) }
    case .rotate270: source = { x, y in (h - 1 - x) * w + y }
    case .transpose: source = { x, y in x * w + y }
    case .transverse: source = { x, y in (h - 1 - x) * w + (w - 1 - y) }
    }
    func remap<T>(_ input: [T]) -> [T] {
      let c = channels
      var out = input
      for y in 0..<outHeight {
        for x in 0..<outWidth {
          let from = source(x, y) * c
          let to = (y * outWidth + x) * c
          for k in 0..<c { out[to + k] = input[from + k] }
        }
      }
      return out
    }
    switch samples {
    case .uint8(let values): return Image(unchecked: outWidth, outHeight, mode, .uint8(remap(values)))
    case .uint16(let values): return Image(unchecked: outWidth, outHeight, mode, .uint16(remap(values)))
    }
  }

  /// Upright pixels for an EXIF orientation (1–8); other values leave the image as it is.
  public func applyingExifOrientation(_ orientation: Int) -> Image {
    guard let operation = ImageTranspose(exifOrientation: orientation) else { return self }
    return transposed(operation)
  }
}

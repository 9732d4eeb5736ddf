import MMCore

/// How the channels of an `Image` pixel are laid out (PIL's mode names are the raw values).
public enum ImageMode: String, Sendable, Equatable, CaseIterable {
  /// One grey channel ("L").
  case grey = "L"
  /// Grey and alpha ("LA").
  case greyAlpha = "LA"
  /// Red, green, blue ("RGB").
  case rgb = "RGB"
  /// Red, green, blue, alpha ("RGBA"), not premultiplied.
  case rgba = "RGBA"

  /// Channels per pixel: 1–4.
  public var channels: Int {
    switch self {
    case .grey: return 1
    case .greyAlpha: return 2
    case .rgb: return 3
    case .rgba: return 4
    }
  }

  public var hasAlpha: Bool { self == .greyAlpha || self == .rgba }

  /// The mode with `channels` channels (1–4), or nil.
  public init?(channels: Int) {
    switch channels {
    case 1: self = .grey
    case 2: self = .greyAlpha
    case 3: self = .rgb
    case 4: self = .rgba
    default: return nil
    }
  }
}

/// The samples of an `Image`: row-major, channels interleaved (`[height][width][channels]`).
public enum ImageSamples: Sendable, Equatable {
  case uint8([UInt8])
  /// 16-bit samples (from 16-bit PNGs), full range 0…65535.
  case uint16([UInt16])

  public var bitDepth: Int {
    switch self {
    case .uint8: return 8
    case .uint16: return 16
    }
  }

  public var count: Int {
    switch self {
    case .uint8(let values): return values.count
    case .uint16(let values): return values.count
    }
  }
}

/// A decoded raster image: 8- or 16-bit samples in one of four modes (grey, grey+alpha, RGB,
/// RGBA). Palettes are expanded when decoding, a tRNS chunk becomes an alpha channel and CMYK
/// JPEGs arrive as RGB (see `ImageFile`).
public struct Image: Sendable, Equatable {
  public let width: Int
  public let height: Int
  public let mode: ImageMode
  public let samples: ImageSamples

  public var channels: Int { mode.channels }
  /// 8 or 16.
  public var bitDepth: Int { samples.bitDepth }

  /// An image from samples laid out `[height][width][channels]`; the count must match.
  public init(width: Int, height: Int, mode: ImageMode, samples: ImageSamples) throws(TensorError) {
    guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
      throw .invalidArgument(op: "Image", message: "an image of \(width)×\(height) pixels")
    }
    let (count, overflow) = width.multipliedReportingOverflow(by: height * mode.channels)
    guard !overflow, samples.count == count else {
      throw .invalidArgument(
        op: "Image",
        message: "\(samples.count) samples for \(width)×\(height) \(mode.rawValue) pixels (need \(count))")
    }
    self.width = width
    self.height = height
    self.mode = mode
    self.samples = samples
  }

  /// An 8-bit image; `pixels` are `[height][width][channels]`.
  public init(width: Int, height: Int, mode: ImageMode, pixels: [UInt8]) throws(TensorError) {
    try self.init(width: width, height: height, mode: mode, samples: .uint8(pixels))
  }

  /// For decoders and transforms that build the samples themselves.
  init(unchecked width: Int, _ height: Int, _ mode: ImageMode, _ samples: ImageSamples) {
    self.width = width
    self.height = height
    self.mode = mode
    self.samples = samples
  }

  /// The 8-bit samples, or nil for a 16-bit image.
  public var pixels8: [UInt8]? {
    if case .uint8(let values) = samples { return values }
    return nil
  }

  /// The 16-bit samples, or nil for an 8-bit image.
  public var pixels16: [UInt16]? {
    if case .uint16(let values) = samples { return values }
    return nil
  }

  /// `[height, width, channels]`, u8 or u16: the layout of an `image` value in a graph.
  public func tensor() -> Tensor {
    let shape = [height, width, channels]
    switch samples {
    case .uint8(let values): return try! Tensor(shape: shape, values: values)
    case .uint16(let values): return try! Tensor(shape: shape, values: values)
    }
  }

  /// An image from a `[height, width, channels]` tensor (channels 1–4) of u8 or u16.
  public init(tensor: Tensor) throws(TensorError) {
    guard tensor.rank == 3, let mode = ImageMode(channels: tensor.shape[2]) else {
      throw .shapeMismatch(
        op: "Image", expected: "[height, width, channels] with 1–4 channels", found: shapeText(tensor.shape))
    }
    switch tensor.dtype {
    case .u8:
      try self.init(
        width: tensor.shape[1], height: tensor.shape[0], mode: mode, samples: .uint8(tensor.scalars()))
    case .u16:
      try self.init(
        width: tensor.shape[1], height: tensor.shape[0], mode: mode, samples: .uint16(tensor.scalars()))
    default:
      throw .dtypeMismatch(op: "Image", expected: .u8, found: tensor.dtype)
    }
  }
}

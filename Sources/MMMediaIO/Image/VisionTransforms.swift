import MMCore

/// torchvision `Resize`'s `size` argument.
public enum VisionResizeSize: Sendable, Equatable {
  /// An int: the shorter side becomes `size`, the longer `int(size * long / short)`.
  case shorterSide(Int)
  /// A (height, width) pair.
  case exact(height: Int, width: Int)
}

/// torchvision.transforms on PIL images, reproduced on `Image` (the PIL backend: every resize
/// is PIL's `Image.resize`, so results are bit-identical to torchvision given identical
/// decoded pixels).
public enum VisionTransforms {
  /// The output size of torchvision's `Resize(size, max_size=maxSize)` for an image of
  /// `height`×`width` (`_compute_resized_output_size`): with `.shorterSide(s)` the shorter side
  /// becomes s and the longer `int(s * long / short)`; if that exceeds `maxSize` (which must be
  /// greater than s), the longer side becomes `maxSize` and the shorter
  /// `int(maxSize * short' / long')`. `maxSize` is only allowed with `.shorterSide`.
  public static func resizedSize(height: Int, width: Int, size: VisionResizeSize, maxSize: Int? = nil)
    throws(TensorError) -> (height: Int, width: Int)
  {
    guard height >= 1, width >= 1 else {
      throw .invalidArgument(op: "Resize", message: "image of \(width)×\(height) pixels")
    }
    switch size {
    case .exact(let h, let w):
      guard maxSize == nil else {
        throw .invalidArgument(op: "Resize", message: "max_size is only allowed with a single size")
      }
      guard h >= 1, w >= 1 else { throw .invalidArgument(op: "Resize", message: "size (\(h), \(w))") }
      return (h, w)
    case .shorterSide(let requested):
      guard requested >= 1 else { throw .invalidArgument(op: "Resize", message: "size \(requested)") }
      let (short, long) = width <= height ? (width, height) : (height, width)
      var newShort = requested
      var newLong = Int(Double(requested * long) / Double(short))
      if let maxSize {
        guard maxSize > requested else {
          throw .invalidArgument(
            op: "Resize",
            message: "max_size = \(maxSize) must be strictly greater than the requested size \(requested)")
        }
        if newLong > maxSize {
          newShort = Int(Double(maxSize * newShort) / Double(newLong))
          newLong = maxSize
        }
      }
      guard newShort >= 1, newLong >= 1 else {
        throw .invalidArgument(op: "Resize", message: "\(width)×\(height) resizes to an empty image")
      }
      return width <= height ? (newLong, newShort) : (newShort, newLong)
    }
  }

  /// torchvision `Resize(size, interpolation, max_size)` on a PIL image (default interpolation
  /// BILINEAR, as torchvision's). The image itself when the size does not change.
  public static func resize(
    _ image: Image, _ size: VisionResizeSize, filter: ResampleFilter = .bilinear, maxSize: Int? = nil
  ) throws(TensorError) -> Image {
    let (h, w) = try resizedSize(height: image.height, width: image.width, size: size, maxSize: maxSize)
    return try image.resized(width: w, height: h, filter: filter)
  }

  /// torchvision `CenterCrop((height, width))`: the crop starts at
  /// `int(round((H - height) / 2.0))` (Python's round, half to even) and likewise for x; where
  /// the crop is larger than the image, the image is first padded with zeros,
  /// `(crop - size) // 2` before and the rest after (alpha included).
  public static func centerCrop(_ image: Image, height: Int, width: Int) throws(TensorError) -> Image {
    guard height >= 1, width >= 1 else {
      throw .invalidArgument(op: "CenterCrop", message: "crop size \(width)×\(height)")
    }
    func start(_ size: Int, _ crop: Int) -> Int {
      crop > size ? -((crop - size) / 2) : Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
    }
    let (top, left) = (start(image.height, height), start(image.width, width))
    let c = image.channels
    func crop<T: Numeric>(_ values: [T]) -> [T] {
      var out = [T](repeating: 0, count: width * height * c)
      for y in 0..<height {
        let sy = y + top
        guard sy >= 0, sy < image.height else { continue }
        let x0 = max(0, -left)
        let x1 = min(width, image.width - left)
        guard x0 < x1 else { continue }
        let from = (sy * image.width + x0 + left) * c
        let to = (y * width + x0) * c
        out[to..<(to + (x1 - x0) * c)] = values[from..<(from + (x1 - x0) * c)]
      }
      return out
    }
    switch image.samples {
    case .uint8(let values): return Image(unchecked: width, height, image.mode, .uint8(crop(values)))
    case .uint16(let values): return Image(unchecked: width, height, image.mode, .uint16(crop(values)))
    }
  }

  /// torchvision `ToTensor`: `[channels, height, width]` f32, 8-bit samples / 255. 16-bit
  /// samples are divided by 65535 (torchvision would return mode "I;16" unscaled).
  public static func toTensor(_ image: Image) -> Tensor {
    try! toTensor(image, mean: nil, std: nil)
  }

  /// `ToTensor` then `Normalize(mean, std)`: (x / 255 − mean) / std in float32, the operations
  /// torch performs, so results are bit-identical. One mean and std per channel.
  public static func toTensor(_ image: Image, mean: [Double]?, std: [Double]?) throws(TensorError) -> Tensor {
    let (c, plane) = (image.channels, image.width * image.height)
    let meanF = (mean ?? [Double](repeating: 0, count: c)).map { Float($0) }
    let stdF = (std ?? [Double](repeating: 1, count: c)).map { Float($0) }
    guard meanF.count == c, stdF.count == c, !stdF.contains(0) else {
      throw .invalidArgument(
        op: "Normalize",
        message: "need \(c) means and \(c) non-zero standard deviations, got \(meanF) and \(stdF)")
    }
    let normalize = mean != nil || std != nil
    var out = [Float](repeating: 0, count: c * plane)
    func fill<T: BinaryInteger>(_ values: [T], _ scale: Float) {
      for k in 0..<c {
        let (m, s) = (meanF[k], stdF[k])
        for p in 0..<plane {
          let x = Float(values[p * c + k]) / scale
          out[k * plane + p] = normalize ? (x - m) / s : x
        }
      }
    }
    switch image.samples {
    case .uint8(let values): fill(values, 255)
    case .uint16(let values): fill(values, 65535)
    }
    return Tensor(out, shape: [c, image.height, image.width])
  }
}

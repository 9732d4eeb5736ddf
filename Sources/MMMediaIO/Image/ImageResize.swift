import MMCore

extension Image {
  /// PIL's `Image.resize((width, height), filter)` with its defaults (whole image, `box=None`,
  /// `reducing_gap=None`), exactly: same coefficients, same two passes, same rounding.
  ///
  /// - 8-bit: bit-identical to Pillow for L, LA, RGB and RGBA. As in PIL, images with alpha are
  ///   resized premultiplied (RGBA → "RGBa" → resize → RGBA, with PIL's integer rounding)
  ///   except with `.nearest`.
  /// - 16-bit: each channel as PIL resizes mode "I;16" (double accumulation, rounded half away
  ///   from zero, clipped). PIL has no 16-bit colour or alpha modes, so for those this is the
  ///   same rule per channel, without premultiplication.
  /// - Downscaling widens the filter by the scale (antialiasing), as PIL always does.
  /// - The passes run in Pillow 13's order: horizontal then vertical, except when the height
  ///   shrinks by more than twice as many pixels as the width (then vertical first). Pillow
  ///   12 and older always ran horizontal first; in those cases they differ by a few levels.
  ///
  /// Returns the image itself when the size is unchanged (PIL returns a copy).
  public func resized(width newWidth: Int, height newHeight: Int, filter: ResampleFilter = .bicubic)
    throws(TensorError) -> Image
  {
    guard newWidth >= 1, newHeight >= 1, newWidth <= Int(Int32.max), newHeight <= Int(Int32.max) else {
      throw .invalidArgument(
        op: "resize", message: "target size \(newWidth)×\(newHeight) must be at least 1×1")
    }
    if newWidth == width, newHeight == height { return self }
    let c = channels
    switch samples {
    case .uint8(let values):
      if filter == .nearest {
        return Image(
          unchecked: newWidth, newHeight, mode,
          .uint8(
            PILResample.nearest(
              values, width: width, height: height, channels: c, outWidth: newWidth, outHeight: newHeight,
              accumulate: true)))
      }
      let input = mode.hasAlpha ? Self.premultiplied(values, channels: c) : values
      let output = PILResample.resize(
        PILResample.Fixed8.self, input, width: width, height: height, channels: c, outWidth: newWidth,
        outHeight: newHeight, filter: filter)
      return Image(
        unchecked: newWidth, newHeight, mode,
        .uint8(mode.hasAlpha ? Self.unpremultiplied(output, channels: c) : output))
    case .uint16(let values):
      let output =
        filter == .nearest
        ? PILResample.nearest(
          values, width: width, height: height, channels: c, outWidth: newWidth, outHeight: newHeight,
          accumulate: false)
        : PILResample.resize(
          PILResample.Round16.self, values, width: width, height: height, channels: c, outWidth: newWidth,
          outHeight: newHeight, filter: filter)
      return Image(unchecked: newWidth, newHeight, mode, .uint16(output))
    }
  }

  /// PIL's RGBA → RGBa (and LA → La): colour × alpha / 255 with MULDIV255 rounding.
  static func premultiplied(_ values: [UInt8], channels: Int) -> [UInt8] {
    var out = values
    for p in stride(from: 0, to: values.count, by: channels) {
      let alpha = Int(values[p + channels - 1])
      for c in 0..<(channels - 1) {
        let t = Int(values[p + c]) * alpha + 128
        out[p + c] = UInt8(((t >> 8) + t) >> 8)
      }
    }
    return out
  }

  /// PIL's RGBa → RGBA (and La → LA): colour × 255 / alpha (integer division, clipped), kept
  /// as is where alpha is 0 or 255.
  static func unpremultiplied(_ values: [UInt8], channels: Int) -> [UInt8] {
    var out = values
    for p in stride(from: 0, to: values.count, by: channels) {
      let alpha = Int(values[p + channels - 1])
      if alpha == 0 || alpha == 255 { continue }
      for c in 0..<(channels - 1) { out[p + c] = UInt8(min(255, 255 * Int(values[p + c]) / alpha)) }
    }
    return out
  }
}

/// Resampling of float planes.
public enum ImageResampler {
  /// Resizes each plane of `[channels, height, width]` (or `[height, width]`) f32 as PIL resizes
  /// a mode "F" image: double accumulation with the same coefficients as `Image.resized`,
  /// stored as float after each pass (bit-identical to Pillow).
  public static func resize(
    planes: Tensor, height newHeight: Int, width newWidth: Int, filter: ResampleFilter
  )
    throws(TensorError) -> Tensor
  {
    guard planes.rank == 2 || planes.rank == 3 else {
      throw .shapeMismatch(
        op: "resize", expected: "[channels, height, width] or [height, width]", found: shapeText(planes.shape)
      )
    }
    guard planes.dtype == .f32 else {
      throw .dtypeMismatch(op: "resize", expected: .f32, found: planes.dtype)
    }
    guard newWidth >= 1, newHeight >= 1 else {
      throw .invalidArgument(
        op: "resize", message: "target size \(newWidth)×\(newHeight) must be at least 1×1")
    }
    let (height, width) = (planes.shape[planes.rank - 2], planes.shape[planes.rank - 1])
    guard height >= 1, width >= 1 else {
      throw .invalidArgument(op: "resize", message: "cannot resize an empty \(width)×\(height) plane")
    }
    let count = planes.rank == 3 ? planes.shape[0] : 1
    let values = try planes.scalars(Float.self)
    var out: [Float] = []
    out.reserveCapacity(count * newHeight * newWidth)
    for p in 0..<count {
      let plane = Array(values[(p * height * width)..<((p + 1) * height * width)])
      if newWidth == width, newHeight == height {
        out += plane
      } else if filter == .nearest {
        out += PILResample.nearest(
          plane, width: width, height: height, channels: 1, outWidth: newWidth, outHeight: newHeight,
          accumulate: true)
      } else {
        out += PILResample.resize(
          PILResample.Float32.self, plane, width: width, height: height, channels: 1, outWidth: newWidth,
          outHeight: newHeight, filter: filter)
      }
    }
    let shape = planes.rank == 3 ? [count, newHeight, newWidth] : [newHeight, newWidth]
    return Tensor(out, shape: shape)
  }
}

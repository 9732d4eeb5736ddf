/// How 16-bit samples become 8-bit ones.
public enum SixteenBitReduction: Sendable, Equatable {
  /// What PIL gives for `Image.open(f).convert("RGB")` of a 16-bit PNG: 16-bit grey opens as
  /// mode "I;16", whose conversion clamps (values above 255 become 255, so most of the range
  /// turns white); 16-bit grey+alpha, RGB and RGBA open as 8-bit modes keeping the high byte
  /// (v >> 8). The default, so that pipelines built on PIL see the same pixels.
  case pil
  /// v >> 8 for every mode (PIL's rule for everything but plain grey).
  case highByte
  /// The nearest 8-bit value, (v + 128) / 257: the faithful reduction.
  case rounded
}

extension Image {
  /// An 8-bit copy (itself when already 8-bit).
  public func convertedTo8Bit(_ reduction: SixteenBitReduction = .pil) -> Image {
    guard case .uint16(let values) = samples else { return self }
    let out: [UInt8]
    switch reduction {
    case .pil where mode == .grey: out = values.map { UInt8(min($0, 255)) }
    case .pil, .highByte: out = values.map { UInt8($0 >> 8) }
    case .rounded: out = values.map { UInt8((UInt32($0) + 128) / 257) }
    }
    return Image(unchecked: width, height, mode, .uint8(out))
  }

  /// PIL's `convert("RGB")`: grey is replicated, alpha dropped (not composited), palettes were
  /// already expanded when decoding; 16-bit images are reduced first (see
  /// `SixteenBitReduction`). Always 8-bit RGB.
  public func convertedToRGB(sixteenBit: SixteenBitReduction = .pil) -> Image {
    converted(to: .rgb, sixteenBit: sixteenBit)
  }

  /// PIL's `convert(mode)` between L, LA, RGB and RGBA on 8-bit samples (16-bit images are
  /// reduced first): grey → colour replicates, colour → grey is ITU-R 601-2 luma in PIL's fixed
  /// point ((19595 r + 38470 g + 7471 b + 32768) >> 16), added alpha is 255, dropped alpha is
  /// discarded. Always 8-bit.
  public func converted(to target: ImageMode, sixteenBit: SixteenBitReduction = .pil) -> Image {
    let source = convertedTo8Bit(sixteenBit)
    guard target != mode, case .uint8(let input) = source.samples else { return source }
    let (inC, outC) = (mode.channels, target.channels)
    let count = width * height
    var out = [UInt8](repeating: 255, count: count * outC)
    let fromColour = mode == .rgb || mode == .rgba
    let toColour = target == .rgb || target == .rgba
    input.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for p in 0..<count {
          let i = p * inC
          let o = p * outC
          switch (fromColour, toColour) {
          case (true, true), (false, false):
            dst[o] = src[i]
            if toColour {
              dst[o + 1] = src[i + 1]
              dst[o + 2] = src[i + 2]
            }
          case (false, true):
            dst[o] = src[i]
            dst[o + 1] = src[i]
            dst[o + 2] = src[i]
          case (true, false):
            let luma = Int(src[i]) * 19595 + Int(src[i + 1]) * 38470 + Int(src[i + 2]) * 7471 + 0x8000
            dst[o] = UInt8(luma >> 16)
          }
          if target.hasAlpha, mode.hasAlpha { dst[o + outC - 1] = src[i + inC - 1] }
        }
      }
    }
    return Image(unchecked: width, height, target, .uint8(out))
  }
}

/// bfloat16: the top 16 bits of an IEEE f32 (8-bit exponent, 7-bit mantissa).
/// Conversion from `Float` rounds to nearest even and keeps NaN a NaN.
@frozen
public struct BFloat16: Hashable, Sendable, CustomStringConvertible {
  public var bitPattern: UInt16

  @inlinable public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

  @inlinable public init(_ value: Float) {
    let bits = value.bitPattern
    if value.isNaN {
      bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
    } else {
      let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
      bitPattern = UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }
  }

  @inlinable public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
  public var description: String { floatValue.description }
}

extension Float {
  @inlinable public init(_ value: BFloat16) { self = value.floatValue }
}

/// The two 8-bit float formats of safetensors (OCP FP8): E4M3 "fn" (no infinities, one NaN
/// pattern per sign, max 448) and E5M2 (IEEE-like, with infinities).
public enum Float8 {
  /// E4M3FN bits → Float: 1 sign, 4 exponent (bias 7), 3 mantissa; 0x7F/0xFF are NaN.
  @inlinable public static func e4m3ToFloat(_ bits: UInt8) -> Float {
    let sign: Float = bits & 0x80 != 0 ? -1 : 1
    let exponent = Int((bits >> 3) & 0x0F)
    let mantissa = Float(bits & 0x07)
    if exponent == 0x0F && bits & 0x07 == 0x07 { return .nan }
    if exponent == 0 { return sign * mantissa / 8 * Float(sign: .plus, exponent: -6, significand: 1) }
    return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
  }

  /// E5M2 bits → Float: exactly the top byte of an IEEE f16.
  @inlinable public static func e5m2ToFloat(_ bits: UInt8) -> Float {
    Float(Float16(bitPattern: UInt16(bits) << 8))
  }

  /// Float → E4M3FN, round to nearest even, saturating to ±448.
  public static func floatToE4M3(_ value: Float) -> UInt8 {
    if value.isNaN { return 0x7F }
    let sign: UInt8 = value.sign == .minus ? 0x80 : 0
    let magnitude = min(abs(value), 448)
    var best: UInt8 = 0
    var bestError = Float.infinity
    // 126 finite magnitudes: an exhaustive nearest search is exact and simple.
    for code in UInt8(0)...0x7E {
      let error = abs(e4m3ToFloat(code) - magnitude)
      if error < bestError || (error == bestError && code & 1 == 0) {
        best = code
        bestError = error
      }
    }
    return sign | best
  }

  /// Float → E5M2, round to nearest even via f16.
  public static func floatToE5M2(_ value: Float) -> UInt8 {
    let half = Float16(value).bitPattern
    if Float16(bitPattern: half).isNaN { return UInt8(half >> 8) | 0x02 }
    let rounded = UInt32(half) + 0x7F + UInt32((half >> 8) & 1)
    return UInt8(truncatingIfNeeded: rounded >> 8)
  }
}

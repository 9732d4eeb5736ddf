import Foundation

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same stream on
/// every machine, for tests, synthetic weights and sampling.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1) with 24 bits of precision.
  public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

  /// Standard normal (Box–Muller).
  public mutating func nextGaussian() -> Float {
    let u1 = max(nextFloat(), 1e-7)
    let u2 = nextFloat()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }

  /// `count` values uniform in [low, high).
  public mutating func uniform(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
    (0..<count).map { _ in low + (high - low) * nextFloat() }
  }
}

import Foundation

/// Naive twin of `applyRoPE`: x [tokens, heads, headDim] contiguous, angles and rotation in Double.
extension Reference {
  public static func rope(
    _ x: [Float], tokens: Int, heads: Int, headDim: Int, positions: [Int],
    inverseFrequencies: [Float], rotaryDim: Int, style: RoPEStyle
  ) -> [Float] {
    var out = x
    let half = rotaryDim / 2
    for t in 0..<tokens {
      for h in 0..<heads {
        let base = (t * heads + h) * headDim
        for k in 0..<half {
          let angle = Double(Float(positions[t]) * inverseFrequencies[k])
          let (i, j) = style == .rotateHalf ? (k, k + half) : (2 * k, 2 * k + 1)
          let a = Double(x[base + i]), b = Double(x[base + j])
          out[base + i] = Float(a * Foundation.cos(angle) - b * Foundation.sin(angle))
          out[base + j] = Float(b * Foundation.cos(angle) + a * Foundation.sin(angle))
        }
      }
    }
    return out
  }
}

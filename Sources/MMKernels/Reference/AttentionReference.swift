import Foundation

/// Naive twin of `scaledDotProductAttention`: the full score matrix in Double, softmax, product.
extension Reference {
  /// q: [heads, Lq, d], k, v: [kvHeads, Lk, d] → [heads, Lq, d], all contiguous.
  /// mask: nil, [Lq, Lk] (`maskPerHead == false`) or [heads, Lq, Lk]. Rows seeing no key are 0.
  public static func attention(
    q: [Float], k: [Float], v: [Float], heads: Int, kvHeads: Int, queryLength: Int,
    keyLength: Int, headDim d: Int, scale: Float? = nil, causal: Bool = false, past: Int = 0,
    mask: [Float]? = nil, maskPerHead: Bool = false
  ) -> [Float] {
    let scale = Double(scale ?? 1 / Float(d).squareRoot())
    let group = heads / kvHeads
    var out = [Float](repeating: 0, count: heads * queryLength * d)
    for h in 0..<heads {
      let kvh = h / group
      for i in 0..<queryLength {
        var scores = [Double](repeating: -.infinity, count: keyLength)
        for j in 0..<keyLength {
          if causal && j > past + i { continue }
          var dot = 0.0
          for c in 0..<d {
            dot += Double(q[(h * queryLength + i) * d + c]) * Double(k[(kvh * keyLength + j) * d + c])
          }
          var s = dot * scale
          if let mask {
            s += Double(mask[((maskPerHead ? h * queryLength : 0) + i) * keyLength + j])
          }
          scores[j] = s
        }
        let peak = scores.max() ?? -.infinity
        if peak == -.infinity { continue }
        let weights = scores.map { Foundation.exp($0 - peak) }
        let total = weights.reduce(0, +)
        for c in 0..<d {
          var sum = 0.0
          for j in 0..<keyLength where weights[j] != 0 {
            sum += weights[j] * Double(v[(kvh * keyLength + j) * d + c])
          }
          out[(h * queryLength + i) * d + c] = Float(sum / total)
        }
      }
    }
    return out
  }
}

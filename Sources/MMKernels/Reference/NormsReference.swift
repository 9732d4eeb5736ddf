import Foundation

/// Naive twins of the row normalizations and softmaxes: plain loops, Double accumulators.
extension Reference {
  /// x: [rows, dim] → [rows, dim]; biased variance; gamma/beta nil mean 1/0.
  public static func layerNorm(
    _ x: [Float], rows: Int, dim: Int, gamma: [Float]?, beta: [Float]?, eps: Float
  ) -> [Float] {
    var out = [Float](repeating: 0, count: rows * dim)
    for r in 0..<rows {
      var mean = 0.0
      for i in 0..<dim { mean += Double(x[r * dim + i]) }
      mean /= Double(dim)
      var variance = 0.0
      for i in 0..<dim { variance += (Double(x[r * dim + i]) - mean) * (Double(x[r * dim + i]) - mean) }
      variance /= Double(dim)
      let inv = 1 / (variance + Double(eps)).squareRoot()
      for i in 0..<dim {
        var v = (Double(x[r * dim + i]) - mean) * inv
        if let gamma { v *= Double(gamma[i]) }
        if let beta { v += Double(beta[i]) }
        out[r * dim + i] = Float(v)
      }
    }
    return out
  }

  /// x: [rows, dim] → [rows, dim]; x / √(mean x² + eps) · (w or 1 + w).
  public static func rmsNorm(
    _ x: [Float], rows: Int, dim: Int, weight: [Float]?, eps: Float, addUnitOffset: Bool
  ) -> [Float] {
    var out = [Float](repeating: 0, count: rows * dim)
    for r in 0..<rows {
      var meanSquare = 0.0
      for i in 0..<dim { meanSquare += Double(x[r * dim + i]) * Double(x[r * dim + i]) }
      meanSquare /= Double(dim)
      let inv = 1 / (meanSquare + Double(eps)).squareRoot()
      for i in 0..<dim {
        var v = Double(x[r * dim + i]) * inv
        if let weight { v *= (addUnitOffset ? 1 : 0) + Double(weight[i]) }
        out[r * dim + i] = Float(v)
      }
    }
    return out
  }

  /// Softmax of each row of x: [rows, cols]; an all −∞ row gives zeros.
  public static func softmaxRows(_ x: [Float], rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: rows * cols)
    for r in 0..<rows {
      let row = (0..<cols).map { Double(x[r * cols + $0]) }
      let peak = row.max() ?? -.infinity
      if peak == -.infinity { continue }
      let e = row.map { Foundation.exp($0 - peak) }
      let total = e.reduce(0, +)
      for c in 0..<cols { out[r * cols + c] = Float(e[c] / total) }
    }
    return out
  }

  /// Log-softmax of each row of x: [rows, cols]; an all −∞ row gives −∞.
  public static func logSoftmaxRows(_ x: [Float], rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: -.infinity, count: rows * cols)
    for r in 0..<rows {
      let row = (0..<cols).map { Double(x[r * cols + $0]) }
      let peak = row.max() ?? -.infinity
      if peak == -.infinity { continue }
      let logTotal = Foundation.log(row.map { Foundation.exp($0 - peak) }.reduce(0, +))
      for c in 0..<cols { out[r * cols + c] = Float(row[c] - peak - logTotal) }
    }
    return out
  }
}

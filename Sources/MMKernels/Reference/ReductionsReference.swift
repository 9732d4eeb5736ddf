import Foundation
import MMCore

/// Naive twins of the axis reductions and top-k: Double accumulators, full sorts.
extension Reference {
  /// x (row-major values of `shape`) reduced along `axis` (non-negative); returns the values
  /// in row-major order of the shape without that axis (indices as Float for arg reductions).
  public static func reduce(
    _ x: [Float], shape: [Int], axis: Int, _ reduction: Reduction, correction: Int = 0
  ) -> [Float] {
    let n = shape[axis]
    let outer = shape[..<axis].reduce(1, *)
    let inner = shape[(axis + 1)...].reduce(1, *)
    var out: [Float] = []
    for o in 0..<outer {
      for c in 0..<inner {
        let column = (0..<n).map { Double(x[(o * n + $0) * inner + c]) }
        let mean = column.reduce(0, +) / Double(n)
        switch reduction {
        case .sum: out.append(Float(column.reduce(0, +)))
        case .mean: out.append(Float(mean))
        case .max: out.append(column.contains { $0.isNaN } ? .nan : Float(column.max()!))
        case .min: out.append(column.contains { $0.isNaN } ? .nan : Float(column.min()!))
        case .variance:
          out.append(Float(column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - correction)))
        case .argmax, .argmin:
          if let nan = column.firstIndex(where: { $0.isNaN }) {
            out.append(Float(nan))
          } else {
            let best = reduction == .argmax ? column.max()! : column.min()!
            out.append(Float(column.firstIndex(of: best)!))
          }
        }
      }
    }
    return out
  }

  /// The top k of x by a full stable sort (descending, NaN first, ties by lower index).
  public static func topK(_ x: [Float], k: Int) -> (values: [Float], indices: [Int]) {
    let order = x.indices.sorted { i, j in
      let (a, b) = (x[i], x[j])
      if a.isNaN != b.isNaN { return a.isNaN }
      if a.isNaN || a == b { return i < j }
      return a > b
    }
    let top = Array(order.prefix(k))
    return (top.map { x[$0] }, top)
  }
}

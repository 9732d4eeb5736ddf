import Foundation
import MMCore

/// Softmax and log-softmax over the rows of x: [rows, cols] → out: [rows, cols], rows contiguous.
/// `out` may equal `x`. Numerically stable (the row maximum is subtracted before exponentiating).
/// A row that is entirely −∞ (fully masked) gives zeros from `softmaxRows` and −∞ from
/// `logSoftmaxRows`; a NaN anywhere in a row makes the whole row NaN. Parallel over rows.

/// out[r, :] = exp(x[r, :] − max) / Σ exp(x[r, :] − max)
public func softmaxRows(
  _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
  pool: ThreadPool = .shared
) {
  pool.parallelRanges(rows, grain: max(1, 4096 / max(cols, 1))) { range in
    for r in range {
      let row = x + r * cols
      let dst = out + r * cols
      let peak = rowMax(row, cols)
      if peak == -.infinity {
        dst.update(repeating: 0, count: cols)
        continue
      }
      let shift = SIMD8<Float>(repeating: peak)
      var total = SIMD8<Float>()
      var i = 0
      while i + 8 <= cols {
        let e = vExp(load8(row + i) - shift)
        store8(e, dst + i)
        total += e
        i += 8
      }
      if i < cols {
        let e = vExp(loadPartial(row + i, cols - i, fill: -.infinity) - shift)
        storePartial(e, dst + i, cols - i)
        total += e
      }
      let scale = SIMD8<Float>(repeating: 1 / total.sum())
      mapVectors(dst, dst, count: cols) { $0 * scale }
    }
  }
}

/// out[r, :] = x[r, :] − max − log Σ exp(x[r, :] − max)
public func logSoftmaxRows(
  _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
  pool: ThreadPool = .shared
) {
  pool.parallelRanges(rows, grain: max(1, 4096 / max(cols, 1))) { range in
    for r in range {
      let row = x + r * cols
      let dst = out + r * cols
      let peak = rowMax(row, cols)
      if peak == -.infinity {
        dst.update(repeating: -.infinity, count: cols)
        continue
      }
      let shift = SIMD8<Float>(repeating: peak)
      var total = SIMD8<Float>()
      var i = 0
      while i + 8 <= cols {
        total += vExp(load8(row + i) - shift)
        i += 8
      }
      if i < cols { total += vExp(loadPartial(row + i, cols - i, fill: -.infinity) - shift) }
      let offset = SIMD8<Float>(repeating: peak + Float(Foundation.log(Double(total.sum()))))
      mapVectors(row, dst, count: cols) { $0 - offset }
    }
  }
}

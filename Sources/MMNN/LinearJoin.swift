import MMCore
import MMKernels

extension Linear {
  /// Linears of one input width joined by rows into one (q, k, v → qkv; k, v → kv).
  ///
  /// When the parts are consecutive row ranges of one stored matrix — the views a fused
  /// checkpoint tensor was split into (CTranslate2's `linear_0` [3·d, d]) — the result is a view
  /// of those same bytes in their stored format, without a copy. Otherwise the weights are
  /// stacked into an f32 copy (`stacked`). Missing biases count as zeros.
  public static func joined(_ parts: [Linear]) -> Linear? {
    guard let first = parts.first else { return nil }
    let m = first.weight.matrix
    let root = first.weight.owner.owner ?? first.weight.owner
    var next = m.base
    var rows = 0
    for part in parts {
      let p = part.weight.matrix
      let partRoot = part.weight.owner.owner ?? part.weight.owner
      guard p.format == m.format, p.columns == m.columns, p.rowStride == m.rowStride, p.base == next,
        partRoot === root, part.activation == first.activation
      else { return stacked(parts) }
      next = p.base + p.rows * p.rowStride
      rows += p.rows
    }
    let view = QuantizedMatrix(
      format: m.format, rows: rows, columns: m.columns, base: m.base, rowStride: m.rowStride)
    let hasBias = parts.contains { $0.bias != nil }
    let bias = hasBias ? parts.flatMap { $0.bias ?? [Float](repeating: 0, count: $0.outputs) } : nil
    return Linear(
      weight: StoredMatrix(matrix: view, owner: first.weight.owner), bias: bias, activation: first.activation)
  }
}

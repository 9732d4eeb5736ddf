import MMCore

extension Reference {
  /// Max pooling by visiting every kernel tap of every output and skipping taps in the padding.
  /// NaN anywhere in a window gives NaN. input [planes, …inputSize] → output [planes, …outputSize]
  public static func maxPool(
    _ g: PoolingGeometry, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
  ) {
    forEachWindow(g) { plane, taps in
      var best = -Double.infinity
      for (index, _) in taps where !index.isEmpty {
        let v = Double(input[plane + index[0]])
        if v.isNaN || best.isNaN { best = .nan } else { best = max(best, v) }
      }
      return best
    } store: {
      output[$0] = Float($1)
    }
  }

  /// Average pooling as PyTorch's CPU kernel defines it: the divisor is the window clipped to
  /// input + padding when `countIncludePad`, else the number of real input elements.
  public static func avgPool(
    _ g: PoolingGeometry, countIncludePad: Bool, input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>
  ) {
    forEachWindow(g) { plane, taps in
      var sum = 0.0
      var real = 0
      var withPad = 0
      for (index, insidePadding) in taps {
        if insidePadding { withPad += 1 }
        if !index.isEmpty {
          sum += Double(input[plane + index[0]])
          real += 1
        }
      }
      if real == 0 { return 0 }
      return sum / Double(countIncludePad ? withPad : real)
    } store: {
      output[$0] = Float($1)
    }
  }

  /// Adaptive average pooling: output o of each axis averages ⌊o·in/out⌋ ..< ⌈(o+1)·in/out⌉.
  public static func adaptiveAvgPool(
    planes: Int, inputSize: [Int], outputSize: [Int], input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>
  ) {
    let inCount = inputSize.reduce(1, *)
    let outCount = outputSize.reduce(1, *)
    for p in 0..<planes {
      for o in 0..<outCount {
        let position = unflatten(o, outputSize)
        let ranges = position.indices.map { axis -> Range<Int> in
          let (i, n, x) = (position[axis], outputSize[axis], inputSize[axis])
          let lo = Int((Double(i * x) / Double(n)).rounded(.down))
          let hi = Int((Double((i + 1) * x) / Double(n)).rounded(.up))
          return lo..<hi
        }
        var sum = 0.0
        var count = 0
        for i in 0..<inCount {
          let at = unflatten(i, inputSize)
          if at.indices.allSatisfy({ ranges[$0].contains(at[$0]) }) {
            sum += Double(input[p * inCount + i])
            count += 1
          }
        }
        output[p * outCount + o] = Float(sum / Double(count))
      }
    }
  }

  /// Visits every output of `g`; `reduce(planeOffset, taps)` sees every kernel tap as
  /// (input offset within the plane — empty when outside the input, whether it lies inside
  /// input + padding).
  private static func forEachWindow(
    _ g: PoolingGeometry, reduce: (Int, [([Int], Bool)]) -> Double, store: (Int, Double) -> Void
  ) {
    let inCount = g.inputSize.reduce(1, *)
    let outCount = g.outputSize.reduce(1, *)
    let kernelCount = g.kernelSize.reduce(1, *)
    for p in 0..<g.planes {
      for o in 0..<outCount {
        let position = unflatten(o, g.outputSize)
        var taps: [([Int], Bool)] = []
        for t in 0..<kernelCount {
          let tap = unflatten(t, g.kernelSize)
          var inside = true
          var insidePadding = true
          var offset = 0
          for axis in position.indices {
            let i = position[axis] * g.stride[axis] - g.padding[axis] + tap[axis] * g.dilation[axis]
            if i < 0 || i >= g.inputSize[axis] { inside = false }
            if i >= g.inputSize[axis] + g.padding[axis] { insidePadding = false }
            offset = offset * g.inputSize[axis] + i
          }
          taps.append((inside ? [offset] : [], insidePadding))
        }
        store(p * outCount + o, reduce(p * inCount, taps))
      }
    }
  }

  /// Row-major multi-index of a flat index.
  private static func unflatten(_ flat: Int, _ shape: [Int]) -> [Int] {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() {
      index[axis] = rest % shape[axis]
      rest /= shape[axis]
    }
    return index
  }
}

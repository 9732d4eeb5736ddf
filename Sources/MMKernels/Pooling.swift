import MMCore

// Max, average, adaptive-average and global-average pooling over 1, 2 or 3 trailing spatial
// dimensions, as PyTorch's `max_pool{1,2,3}d`, `avg_pool{1,2,3}d`, `adaptive_avg_pool{1,2}d`.
//
//   x [planes…, (D,) (H,) W] → [planes…, (oD,) (oH,) oW]   (planes = every leading dimension,
//                                                             e.g. batch × channels)
//   o = ⌊(X + 2p − d·(k−1) − 1 + (ceil ? s−1 : 0)) / s⌋ + 1, minus 1 in ceil mode when the last
//   window would start in the right padding.
//
// Every rank runs as 3-D (leading size-1 dimensions). Windows are clipped to the input once per
// axis, then each output is a plain loop over its valid taps; planes run in parallel.

/// The validated shape of one max or average pooling. Spatial arrays hold one entry per spatial
/// dimension, outermost first.
public struct PoolingGeometry: Sendable, Equatable {
  public let planes: Int
  public let inputSize: [Int]
  public let kernelSize: [Int]
  public let stride: [Int]
  public let padding: [Int]
  public let dilation: [Int]
  public let ceilMode: Bool
  public let outputSize: [Int]

  /// `stride` defaults to the kernel size (PyTorch); one-value arrays apply to every dimension.
  /// Throws `TensorError` when padding exceeds half the effective kernel or the output is empty.
  public init(
    planes: Int, inputSize: [Int], kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0],
    dilation: [Int] = [1], ceilMode: Bool = false
  ) throws(TensorError) {
    let rank = inputSize.count
    let op = "pool\(rank)d"
    guard (1...3).contains(rank) else {
      throw .invalidArgument(op: "pooling", message: "1, 2 or 3 spatial dimensions, found \(rank)")
    }
    func expand(_ values: [Int], _ name: String) throws(TensorError) -> [Int] {
      if values.count == 1 { return Array(repeating: values[0], count: rank) }
      guard values.count == rank else {
        throw .shapeMismatch(op: op, expected: "\(name) with 1 or \(rank) values", found: shapeText(values))
      }
      return values
    }
    let kernel = try expand(kernelSize, "kernel size")
    let stride = try expand(stride ?? kernel, "stride")
    let padding = try expand(padding, "padding")
    let dilation = try expand(dilation, "dilation")
    guard planes >= 0, inputSize.allSatisfy({ $0 >= 1 }) else {
      throw .invalidArgument(op: op, message: "input sizes must be ≥ 1, found \(shapeText(inputSize))")
    }
    guard (kernel + stride + dilation).allSatisfy({ $0 >= 1 }), padding.allSatisfy({ $0 >= 0 }) else {
      throw .invalidArgument(
        op: op,
        message:
          "kernel, stride, dilation must be ≥ 1 and padding ≥ 0, found kernel \(shapeText(kernel)) stride \(shapeText(stride)) dilation \(shapeText(dilation)) padding \(shapeText(padding))"
      )
    }
    var output = [Int]()
    for axis in 0..<rank {
      let span = dilation[axis] * (kernel[axis] - 1) + 1
      guard padding[axis] <= span / 2 else {
        throw .invalidArgument(
          op: op,
          message: "padding must be at most half the effective kernel size \(span), found \(padding[axis])")
      }
      let (size, pad, step) = (inputSize[axis], padding[axis], stride[axis])
      var count = convFloorDivide(size + 2 * pad - span + (ceilMode ? step - 1 : 0), step) + 1
      if ceilMode && (count - 1) * step >= size + pad { count -= 1 }
      guard count >= 1 else {
        throw .shapeMismatch(
          op: op, expected: "kernel extent \(span) ≤ padded input \(size + 2 * pad) in dimension \(axis)",
          found: "output size \(count)")
      }
      output.append(count)
    }
    self.planes = planes
    self.inputSize = inputSize
    self.kernelSize = kernel
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.ceilMode = ceilMode
    self.outputSize = output
  }
}

/// The valid taps of each output's window along one axis: input indices first, first+step, …
/// (`taps` of them), and the window length counted with padding (average pooling's divisor).
private struct AxisWindows {
  var first: [Int] = []
  var taps: [Int] = []
  var padded: [Int] = []
  var step = 1

  init(size: Int, output: Int, kernel: Int, stride: Int, pad: Int, dilation: Int) {
    step = dilation
    for o in 0..<output {
      let start = o * stride - pad
      let lo = max(0, convCeilDivide(-start, dilation))  // first tap index j with start + j·d ≥ 0
      let hi = min(kernel, convCeilDivide(size - start, dilation))  // taps with start + j·d < size
      first.append(start + lo * dilation)
      taps.append(max(0, hi - lo))
      padded.append(min(start + kernel, size + pad) - start)  // PyTorch's pool_size factor
    }
  }

  /// Adaptive pooling: window o covers ⌊o·in/out⌋ ..< ⌈(o+1)·in/out⌉.
  init(adaptiveFrom size: Int, to output: Int) {
    for o in 0..<output {
      let lo = o * size / output
      let hi = ((o + 1) * size + output - 1) / output
      first.append(lo)
      taps.append(hi - lo)
      padded.append(hi - lo)
    }
  }

  static func lifted(_ windows: [AxisWindows]) -> [AxisWindows] {
    var unit = AxisWindows(adaptiveFrom: 1, to: 1)
    unit.step = 1
    return Array(repeating: unit, count: 3 - windows.count) + windows
  }
}

private enum PoolReduction {
  case max
  case average(includePad: Bool)
}

/// Runs `reduction` over precomputed windows: input [planes, inD, inH, inW] → [planes, oD, oH, oW].
private func reduceWindows(
  _ w: [AxisWindows], inputSize: [Int], planes: Int, reduction: PoolReduction,
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, pool: ThreadPool
) {
  let size = Array(repeating: 1, count: 3 - inputSize.count) + inputSize
  let (inH, inW) = (size[1], size[2])
  let inPlane = size[0] * inH * inW
  let (oD, oH, oW) = (w[0].taps.count, w[1].taps.count, w[2].taps.count)
  let lines = planes * oD * oH
  pool.parallelRanges(lines, grain: max(1, 4096 / max(oW, 1))) { range in
    for line in range {
      let oh = line % oH
      let od = (line / oH) % oD
      let source = input + (line / (oH * oD)) * inPlane
      let out = output + line * oW
      for ow in 0..<oW {
        var best = -Float.infinity
        var sum: Float = 0
        for td in 0..<w[0].taps[od] {
          let id = w[0].first[od] + td * w[0].step
          for th in 0..<w[1].taps[oh] {
            let row = source + (id * inH + w[1].first[oh] + th * w[1].step) * inW + w[2].first[ow]
            for tw in 0..<w[2].taps[ow] {
              let v = row[tw * w[2].step]
              if v > best || v.isNaN { best = v }  // once NaN, stays NaN
              sum += v
            }
          }
        }
        switch reduction {
        case .max: out[ow] = best
        case .average(let includePad):
          let divisor =
            includePad
            ? w[0].padded[od] * w[1].padded[oh] * w[2].padded[ow]
            : w[0].taps[od] * w[1].taps[oh] * w[2].taps[ow]
          out[ow] = w[0].taps[od] * w[1].taps[oh] * w[2].taps[ow] == 0 ? 0 : sum / Float(divisor)
        }
      }
    }
  }
}

private func windows(_ g: PoolingGeometry) -> [AxisWindows] {
  AxisWindows.lifted(
    g.inputSize.indices.map {
      AxisWindows(
        size: g.inputSize[$0], output: g.outputSize[$0], kernel: g.kernelSize[$0],
        stride: g.stride[$0], pad: g.padding[$0], dilation: g.dilation[$0])
    })
}

/// Max pooling (padding counts as −∞; NaN propagates, as in PyTorch).
/// input [planes, …inputSize] → output [planes, …outputSize]
public func maxPool(
  _ g: PoolingGeometry, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
  pool: ThreadPool = .shared
) {
  reduceWindows(
    windows(g), inputSize: g.inputSize, planes: g.planes, reduction: .max, input: input,
    output: output, pool: pool)
}

/// Average pooling; `countIncludePad` divides by the window size including zero padding (but not
/// the part past the padding in ceil mode), else by the number of real input elements.
/// Dilation must be 1 (PyTorch's avg_pool has none).
/// input [planes, …inputSize] → output [planes, …outputSize]
public func avgPool(
  _ g: PoolingGeometry, countIncludePad: Bool = true, input: UnsafePointer<Float>,
  output: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
) {
  precondition(g.dilation.allSatisfy { $0 == 1 }, "average pooling has no dilation")
  reduceWindows(
    windows(g), inputSize: g.inputSize, planes: g.planes,
    reduction: .average(includePad: countIncludePad), input: input, output: output, pool: pool)
}

/// Adaptive average pooling to `outputSize` (window o: ⌊o·in/out⌋ ..< ⌈(o+1)·in/out⌉).
/// input [planes, …inputSize] → output [planes, …outputSize]
public func adaptiveAvgPool(
  planes: Int, inputSize: [Int], outputSize: [Int], input: UnsafePointer<Float>,
  output: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
) {
  precondition(inputSize.count == outputSize.count && (1...3).contains(inputSize.count))
  let w = AxisWindows.lifted(
    inputSize.indices.map { AxisWindows(adaptiveFrom: inputSize[$0], to: outputSize[$0]) })
  reduceWindows(
    w, inputSize: inputSize, planes: planes, reduction: .average(includePad: false), input: input,
    output: output, pool: pool)
}

/// Mean over each plane: input [planes, spatial] → output [planes].
public func globalAvgPool(
  planes: Int, spatial: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
  pool: ThreadPool = .shared
) {
  pool.parallelRanges(planes, grain: max(1, 16_384 / max(spatial, 1))) { range in
    for p in range {
      let x = UnsafeRawPointer(input + p * spatial)
      var lanes = SIMD8<Float>()
      var i = 0
      while i + 8 <= spatial {
        lanes += x.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
      }
      var sum = lanes.sum()
      while i < spatial {
        sum += x.load(fromByteOffset: i * 4, as: Float.self)
        i += 1
      }
      output[p] = sum / Float(spatial)
    }
  }
}

// MARK: - Shape-checked Tensor entry points

/// Max pooling over the last 1, 2 or 3 dimensions of an f32 tensor of rank ≥ spatialRank + 1
/// (`torch.nn.functional.max_pool{1,2,3}d`). x [planes…, …spatial] → [planes…, …pooled]
public func maxPool(
  _ x: Tensor, spatialRank: Int, kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0],
  dilation: [Int] = [1], ceilMode: Bool = false, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  try pooled(x, spatialRank, "max_pool\(spatialRank)d") { planes, size throws(TensorError) in
    try PoolingGeometry(
      planes: planes, inputSize: size, kernelSize: kernelSize, stride: stride, padding: padding,
      dilation: dilation, ceilMode: ceilMode)
  } run: { g, input, output in
    maxPool(g, input: input, output: output, pool: pool)
  }
}

/// Average pooling over the last 1, 2 or 3 dimensions (`torch.nn.functional.avg_pool{1,2,3}d`).
/// x [planes…, …spatial] → [planes…, …pooled]
public func avgPool(
  _ x: Tensor, spatialRank: Int, kernelSize: [Int], stride: [Int]? = nil, padding: [Int] = [0],
  ceilMode: Bool = false, countIncludePad: Bool = true, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  try pooled(x, spatialRank, "avg_pool\(spatialRank)d") { planes, size throws(TensorError) in
    try PoolingGeometry(
      planes: planes, inputSize: size, kernelSize: kernelSize, stride: stride, padding: padding,
      ceilMode: ceilMode)
  } run: { g, input, output in
    avgPool(g, countIncludePad: countIncludePad, input: input, output: output, pool: pool)
  }
}

/// Adaptive average pooling of the last `outputSize.count` dimensions to `outputSize`
/// (`torch.nn.functional.adaptive_avg_pool{1,2,3}d`). x [planes…, …spatial] → [planes…, …outputSize]
public func adaptiveAvgPool(_ x: Tensor, outputSize: [Int], pool: ThreadPool = .shared)
  throws(TensorError) -> Tensor
{
  let rank = outputSize.count
  let op = "adaptive_avg_pool\(rank)d"
  guard outputSize.allSatisfy({ $0 >= 1 }) else {
    throw .invalidArgument(op: op, message: "output sizes must be ≥ 1, found \(shapeText(outputSize))")
  }
  return try pooled(x, rank, op) { planes, size throws(TensorError) in
    // Only planes, inputSize and outputSize are used; a 1-wide kernel keeps the geometry valid.
    try PoolingGeometry(planes: planes, inputSize: size, kernelSize: [1])
  } run: { g, input, output in
    adaptiveAvgPool(
      planes: g.planes, inputSize: g.inputSize, outputSize: outputSize, input: input,
      output: output, pool: pool)
  } outputSize: { _ in
    outputSize
  }
}

/// Mean over the last `spatialRank` dimensions: x [planes…, …spatial] → [planes…] (or
/// [planes…, 1, …, 1] with `keepDims`).
public func globalAvgPool(
  _ x: Tensor, spatialRank: Int, keepDims: Bool = false, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  let result = try pooled(x, spatialRank, "global_avg_pool") { planes, size throws(TensorError) in
    try PoolingGeometry(planes: planes, inputSize: size, kernelSize: [1])
  } run: { g, input, output in
    globalAvgPool(
      planes: g.planes, spatial: g.inputSize.reduce(1, *), input: input, output: output, pool: pool)
  } outputSize: { _ in
    Array(repeating: 1, count: spatialRank)
  }
  if keepDims { return result }
  return try result.reshaped(Array(result.shape.dropLast(spatialRank)))
}

/// Checks rank and dtype, splits the shape into planes and spatial sizes, runs the kernel.
private func pooled(
  _ x: Tensor, _ spatialRank: Int, _ op: String,
  geometry: (Int, [Int]) throws(TensorError) -> PoolingGeometry,
  run: (PoolingGeometry, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
  outputSize: ((PoolingGeometry) -> [Int])? = nil
) throws(TensorError) -> Tensor {
  guard (1...3).contains(spatialRank), x.rank >= spatialRank + 1 else {
    throw .shapeMismatch(
      op: op, expected: "rank ≥ \(spatialRank + 1) [planes…, \(spatialRank) spatial]",
      found: shapeText(x.shape))
  }
  guard x.dtype == .f32 else { throw .dtypeMismatch(op: op, expected: .f32, found: x.dtype) }
  let leading = Array(x.shape.dropLast(spatialRank))
  let g = try geometry(leading.reduce(1, *), Array(x.shape.suffix(spatialRank)))
  let result = Tensor(zeros: leading + (outputSize?(g) ?? g.outputSize))
  let dense = x.contiguous()
  withExtendedLifetime(dense) { run(g, dense.pointer(Float.self), result.pointer(Float.self)) }
  return result
}

import MMCore

// Bilinear resizing as PyTorch's `torch.nn.functional.interpolate(x, size=(H', W'),
// mode="bilinear", antialias=False)` on the CPU:
//
//   scale  = in / out                       (align_corners=False; (in−1)/(out−1) when True)
//   src(o) = max(scale·(o + ½) − ½, 0)       (half-pixel centres; scale·o when align_corners)
//   i0 = min(⌊src⌋, in − 1), i1 = i0 + (i0 < in − 1 ? 1 : 0)   (the edge pixel repeats)
//   λ1 = clamp(src − i0, 0, 1), λ0 = 1 − λ1
//   y[o_h, o_w] = (x[i0h, i0w]·λ0w + x[i0h, i1w]·λ1w)·λ0h + (x[i1h, i0w]·λ0w + x[i1h, i1w]·λ1w)·λ1h
//
// in Float, as torch computes for f32 tensors. No antialiasing: downscaling samples, it does not
// average (torch's default, and what pytorchvideo's ShortSideScale uses).

/// One axis of a bilinear resize: the two source taps and their weights for every output index.
public struct BilinearAxis: Sendable, Equatable {
  public var first: [Int]
  public var second: [Int]
  public var firstWeight: [Float]
  public var secondWeight: [Float]

  /// Taps for resizing `input` samples to `output` samples (both ≥ 1).
  public init(input: Int, output: Int, alignCorners: Bool) {
    precondition(input >= 1 && output >= 1, "bilinear sizes must be ≥ 1")
    let scale: Float =
      alignCorners
      ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0) : Float(input) / Float(output)
    first = []
    second = []
    firstWeight = []
    secondWeight = []
    for o in 0..<output {
      if input == output {  // torch's identity shortcut
        first.append(o)
        second.append(o)
        firstWeight.append(1)
        secondWeight.append(0)
        continue
      }
      let source: Float = alignCorners ? scale * Float(o) : max(scale * (Float(o) + 0.5) - 0.5, 0)
      let i0 = min(Int(source.rounded(.down)), input - 1)
      let lambda = min(max(source - Float(i0), 0), 1)
      first.append(i0)
      second.append(i0 + (i0 < input - 1 ? 1 : 0))
      firstWeight.append(1 - lambda)
      secondWeight.append(lambda)
    }
  }
}

/// Bilinear resize of each plane. input [planes, inH, inW] → output [planes, outH, outW]
public func resizeBilinear(
  planes: Int, inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int,
  alignCorners: Bool = false, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
  pool: ThreadPool = .shared
) {
  let rows = BilinearAxis(input: inputHeight, output: outputHeight, alignCorners: alignCorners)
  let cols = BilinearAxis(input: inputWidth, output: outputWidth, alignCorners: alignCorners)
  let lines = planes * outputHeight
  cols.first.withUnsafeBufferPointer { c0 in
    cols.second.withUnsafeBufferPointer { c1 in
      cols.firstWeight.withUnsafeBufferPointer { w0 in
        cols.secondWeight.withUnsafeBufferPointer { w1 in
          pool.parallelRanges(lines, grain: max(1, 8192 / max(outputWidth, 1))) { range in
            for line in range {
              let (plane, oh) = line.quotientAndRemainder(dividingBy: outputHeight)
              let source = input + plane * inputHeight * inputWidth
              let top = source + rows.first[oh] * inputWidth
              let bottom = source + rows.second[oh] * inputWidth
              let (h0, h1) = (rows.firstWeight[oh], rows.secondWeight[oh])
              let out = output + line * outputWidth
              for ow in 0..<outputWidth {
                let (a, b, wa, wb) = (c0[ow], c1[ow], w0[ow], w1[ow])
                let t0 = top[a] * wa + top[b] * wb
                let t1 = bottom[a] * wa + bottom[b] * wb
                out[ow] = t0 * h0 + t1 * h1
              }
            }
          }
        }
      }
    }
  }
}

/// Bilinear resize of the last two dimensions of an f32 tensor
/// (`torch.nn.functional.interpolate(mode="bilinear", antialias=False)`).
/// x [planes…, H, W] (rank ≥ 2, e.g. [C, H, W]) → [planes…, height, width]
public func resizeBilinear(
  _ x: Tensor, height: Int, width: Int, alignCorners: Bool = false, pool: ThreadPool = .shared
) throws(TensorError) -> Tensor {
  let op = "resizeBilinear"
  guard x.rank >= 2 else {
    throw .shapeMismatch(op: op, expected: "rank ≥ 2 [planes…, H, W]", found: shapeText(x.shape))
  }
  guard x.dtype == .f32 else { throw .dtypeMismatch(op: op, expected: .f32, found: x.dtype) }
  guard height >= 1, width >= 1 else {
    throw .invalidArgument(op: op, message: "output size must be ≥ 1, found \(height)×\(width)")
  }
  let (inH, inW) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
  guard inH >= 1, inW >= 1 else {
    throw .invalidArgument(op: op, message: "input size must be ≥ 1, found \(inH)×\(inW)")
  }
  let leading = Array(x.shape.dropLast(2))
  let result = Tensor(zeros: leading + [height, width])
  let dense = x.contiguous()
  withExtendedLifetime(dense) {
    resizeBilinear(
      planes: leading.reduce(1, *), inputHeight: inH, inputWidth: inW, outputHeight: height,
      outputWidth: width, alignCorners: alignCorners, input: dense.pointer(Float.self),
      output: result.pointer(Float.self), pool: pool)
  }
  return result
}

import MMCore

// The data movement that lowers a convolution to GEMM, on one group of one batch item, for a
// block of output positions start..<start+count (flattened oD·oH·oW index). Every rank runs as
// 3-D: 1-D and 2-D convolutions get leading dimensions of size 1.
//
// K = Cin/groups · kD · kH · kW is the GEMM's inner dimension, ordered (ci, kd, kh, kw) to match
// a weight row [Cin/groups, kD, kH, kW].

/// A `ConvolutionGeometry` lifted to exactly three spatial dimensions.
struct LiftedConvolution {
  let inD: Int, inH: Int, inW: Int
  let kD: Int, kH: Int, kW: Int
  let sD: Int, sH: Int, sW: Int
  let dD: Int, dH: Int, dW: Int
  let pD: Int, pH: Int, pW: Int
  let oD: Int, oH: Int, oW: Int
  /// Input channels per group.
  let channels: Int

  init(_ g: ConvolutionGeometry) {
    func lift(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: 3 - values.count) + values
    }
    let i = lift(g.inputSize, 1), k = lift(g.kernelSize, 1), s = lift(g.stride, 1)
    let d = lift(g.dilation, 1), p = lift(g.padBefore, 0), o = lift(g.outputSize, 1)
    (inD, inH, inW) = (i[0], i[1], i[2])
    (kD, kH, kW) = (k[0], k[1], k[2])
    (sD, sH, sW) = (s[0], s[1], s[2])
    (dD, dH, dW) = (d[0], d[1], d[2])
    (pD, pH, pW) = (p[0], p[1], p[2])
    (oD, oH, oW) = (o[0], o[1], o[2])
    channels = g.inChannels / g.groups
  }

  var inputPlane: Int { inD * inH * inW }
  var outputPlane: Int { oD * oH * oW }
  var kernelVolume: Int { kD * kH * kW }
  /// The GEMM's inner dimension.
  var depth: Int { channels * kernelVolume }

  /// A 1×1(×1) kernel with stride 1 and no padding: the input plane already is the GEMM operand.
  var isPointwise: Bool {
    kernelVolume == 1 && sD == 1 && sH == 1 && sW == 1 && pD == 0 && pH == 0 && pW == 0
  }

  /// Non-overlapping patches (kernel == stride, no padding, no dilation): ViT/ImageBind patch
  /// embedding. Each input element lands in at most one GEMM row, copied in runs of kW.
  var isPatchEmbedding: Bool {
    (kD, kH, kW) == (sD, sH, sW) && pD == 0 && pH == 0 && pW == 0
      && (kD == 1 || dD == 1) && (kH == 1 || dH == 1) && (kW == 1 || dW == 1)
  }
}

/// Transposed im2col: `columns[K, count]`, row (ci, kd, kh, kw), column j holds
/// `input[ci, od·sD − pD + kd·dD, oh·sH − pH + kh·dH, ow·sW − pW + kw·dW]` for output position
/// start + j, and 0 where that falls in the padding. Parallel over rows of `columns`.
/// input: [Cin/groups, inD, inH, inW] of one group
func im2col(
  _ s: LiftedConvolution, input: UnsafePointer<Float>, start: Int, count: Int,
  columns: UnsafeMutablePointer<Float>, pool: ThreadPool
) {
  let end = start + count
  pool.parallelRanges(s.depth, grain: max(1, 8192 / count)) { rows in
    for row in rows {
      let kw = row % s.kW
      let kh = (row / s.kW) % s.kH
      let kd = (row / (s.kW * s.kH)) % s.kD
      let channel = input + (row / s.kernelVolume) * s.inputPlane
      let destination = columns + row * count
      // iw = ow·sW + shift; the ow with 0 ≤ iw < inW form one interval.
      let shift = kw * s.dW - s.pW
      let firstValid = convCeilDivide(-shift, s.sW)
      let endValid = convFloorDivide(s.inW - 1 - shift, s.sW) + 1
      var position = start
      while position < end {
        let ow0 = position % s.oW
        let line = position / s.oW
        let run = min(end - position, s.oW - ow0)
        let id = (line / s.oH) * s.sD - s.pD + kd * s.dD
        let ih = (line % s.oH) * s.sH - s.pH + kh * s.dH
        let out = destination + (position - start)  // out[t] is ow = ow0 + t
        if id < 0 || id >= s.inD || ih < 0 || ih >= s.inH {
          out.update(repeating: 0, count: run)
        } else {
          let lo = min(max(firstValid - ow0, 0), run)
          let hi = max(min(endValid - ow0, run), lo)
          // iw of out[t] = (ow0 + t)·sW + shift
          let source = channel + (id * s.inH + ih) * s.inW
          let iw0 = ow0 * s.sW + shift
          out.update(repeating: 0, count: lo)
          if s.sW == 1 {
            (out + lo).update(from: source + (iw0 + lo), count: hi - lo)
          } else {
            for t in lo..<hi { out[t] = source[iw0 + t * s.sW] }
          }
          (out + hi).update(repeating: 0, count: run - hi)
        }
        position += run
      }
    }
  }
}

/// Patch rows for non-overlapping kernels: `rows[count, K]`, row j the flattened patch under
/// output position start + j. A pure rearrangement (no zeros, no duplicates).
/// input: [Cin/groups, inD, inH, inW] of one group
func patchRows(
  _ s: LiftedConvolution, input: UnsafePointer<Float>, start: Int, count: Int,
  rows: UnsafeMutablePointer<Float>, pool: ThreadPool
) {
  let depth = s.depth
  pool.parallelRanges(count, grain: max(1, 4096 / depth)) { range in
    for j in range {
      let position = start + j
      let ow = position % s.oW
      let oh = (position / s.oW) % s.oH
      let od = position / (s.oW * s.oH)
      var destination = rows + j * depth
      for ci in 0..<s.channels {
        let channel = input + ci * s.inputPlane + ow * s.kW
        for kd in 0..<s.kD {
          for kh in 0..<s.kH {
            let source = channel + ((od * s.kD + kd) * s.inH + oh * s.kH + kh) * s.inW
            destination.update(from: source, count: s.kW)
            destination += s.kW
          }
        }
      }
    }
  }
}

/// Writes a GEMM result block `block[count, n]` (position-major) into channel-major output:
/// `output[co · planeStride + j] = block[j · n + co]`. Tiled so both sides stay in cache.
func scatterChannels(
  _ block: UnsafePointer<Float>, count: Int, n: Int, output: UnsafeMutablePointer<Float>,
  planeStride: Int, pool: ThreadPool
) {
  let tile = 64
  pool.parallelRanges(n, grain: max(1, 16_384 / max(count, 1))) { channels in
    var j0 = 0
    while j0 < count {
      let j1 = min(count, j0 + tile)
      for co in channels {
        let out = output + co * planeStride
        for j in j0..<j1 { out[j] = block[j * n + co] }
      }
      j0 = j1
    }
  }
}

@inline(__always) func convFloorDivide(_ a: Int, _ b: Int) -> Int {
  a >= 0 ? a / b : -((-a + b - 1) / b)
}

@inline(__always) func convCeilDivide(_ a: Int, _ b: Int) -> Int {
  -convFloorDivide(-a, b)
}

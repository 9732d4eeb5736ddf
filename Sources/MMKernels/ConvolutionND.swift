import MMCore

// The one convolution core for 1-D, 2-D and 3-D, lowered to `gemm`.
//
// For each batch item b and group g, with M = oD·oH·oW output positions, K = Cin/groups·kD·kH·kW
// and N = Cout/groups:
//
//   C[M, N] = act(patches[M, K] · Wᵀ[K, N] + bias[N])
//
// so the weight rows [N, K] (as stored: f32, f16 or bf16) are the GEMM's B operand read
// transposed; each group's rows are packed (and widened) once, then reused for every batch item
// and block. Bias plus activation ride the GEMM epilogue.
// `patches` comes from one of three lowerings:
//   pointwise  1×1 kernel, stride 1, no padding: the input plane [K, M] itself, read transposed;
//   patches    kernel == stride, no padding (ViT/ImageBind patch embedding): rows copied in runs;
//   im2col     everything else: a [K, M] column matrix, read transposed.
// C is position-major, so it is scattered into the channel-major output — except when N == 1
// (depthwise), where C already is the output row.
//
// Depthwise convolutions (one input channel per group, fewer than 8 outputs per group) skip the
// GEMM, whose 16-wide tiles would be mostly empty: each output row directly accumulates
// weight × shifted input row, tap by tap.
//
// Memory stays bounded: positions are processed in blocks whose scratch (patches + C) holds at
// most `scratchBudget` floats (default `convolutionScratchBudget`). When there are at least as
// many groups as threads (depthwise and other heavily grouped convolutions) the groups run in
// parallel, each with its own share of the budget; otherwise groups run in turn and the lowering
// and the GEMM parallelize inside.

/// Floats of scratch (patch matrix + GEMM result block) one convolution may hold: 16 MiB.
public let convolutionScratchBudget = 1 << 22

/// The convolution described by `geometry` on raw buffers, optionally followed by `activation`.
/// input [batch, Cin, …] f32, weight [Cout, Cin/groups, k…] in `weightType` (f32, f16 or bf16),
/// bias [Cout] f32 or nil → output [batch, Cout, …] f32 (every element written).
/// `scratchBudget` caps the floats of scratch held at once (tests shrink it to force blocking).
public func convolution(
  _ geometry: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafeRawPointer,
  weightType: DType = .f32, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
  activation: Activation = .identity, scratchBudget: Int = convolutionScratchBudget,
  pool: ThreadPool = .shared
) {
  precondition(
    weightType == .f32 || weightType == .f16 || weightType == .bf16,
    "convolution weight dtype \(weightType)")
  let lifted = LiftedConvolution(geometry)
  if lifted.channels == 1 && geometry.groups > 1 && geometry.outChannels / geometry.groups < 8 {
    depthwiseConvolution(
      lifted, geometry, input: input, weight: weight, weightType: weightType, bias: bias,
      output: output, activation: activation, pool: pool)
    return
  }
  let plan = ConvolutionPlan(
    geometry: geometry, input: input, weight: weight, weightType: weightType, bias: bias,
    output: output, activation: activation)
  let groups = geometry.groups
  if groups > 1 && pool.threadCount > 1 && groups >= pool.threadCount {
    let blockSize = plan.blockSize(budget: scratchBudget / pool.threadCount)
    pool.parallelFor(groups) { g in
      let weights = plan.packedWeights(group: g, pool: pool)
      plan.withScratch(blockSize) { patches, result in
        for b in 0..<geometry.batch {
          plan.run(
            batch: b, group: g, weights: weights, blockSize: blockSize, patches: patches,
            result: result, pool: pool)
        }
      }
    }
  } else {
    let blockSize = plan.blockSize(budget: scratchBudget)
    plan.withScratch(blockSize) { patches, result in
      for g in 0..<groups {
        let weights = plan.packedWeights(group: g, pool: pool)
        for b in 0..<geometry.batch {
          plan.run(
            batch: b, group: g, weights: weights, blockSize: blockSize, patches: patches,
            result: result, pool: pool)
        }
      }
    }
  }
}

private enum Lowering { case pointwise, patches, im2col }

private struct ConvolutionPlan {
  let shape: LiftedConvolution
  let lowering: Lowering
  let groups: Int
  let outChannels: Int
  let groupOutChannels: Int
  let input: UnsafePointer<Float>
  let weight: UnsafeRawPointer
  let weightType: DType
  let bias: UnsafePointer<Float>?
  let output: UnsafeMutablePointer<Float>
  let activation: Activation

  init(
    geometry: ConvolutionGeometry, input: UnsafePointer<Float>, weight: UnsafeRawPointer,
    weightType: DType, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
    activation: Activation
  ) {
    shape = LiftedConvolution(geometry)
    lowering = shape.isPointwise ? .pointwise : shape.isPatchEmbedding ? .patches : .im2col
    groups = geometry.groups
    outChannels = geometry.outChannels
    groupOutChannels = geometry.outChannels / geometry.groups
    self.input = input
    self.weight = weight
    self.weightType = weightType
    self.bias = bias
    self.output = output
    self.activation = activation
  }

  /// Output positions per block so that the scratch stays within `budget` floats.
  func blockSize(budget: Int) -> Int {
    let positions = shape.outputPlane
    let perPosition =
      (lowering == .pointwise ? 0 : shape.depth)
      + (groupOutChannels == 1 ? 0 : groupOutChannels)
    if perPosition == 0 { return positions }
    let fitting = max(1, budget / perPosition)
    if fitting >= positions { return positions }
    return fitting >= 64 ? fitting / 16 * 16 : fitting
  }

  func withScratch(
    _ blockSize: Int,
    _ body: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
  ) {
    let patchCount = lowering == .pointwise ? 0 : blockSize * shape.depth
    let resultCount = groupOutChannels == 1 ? 0 : blockSize * groupOutChannels
    let patches = patchCount > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: patchCount) : nil
    let result = resultCount > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: resultCount) : nil
    defer {
      patches?.deallocate()
      result?.deallocate()
    }
    body(patches, result)
  }

  /// One group's weight rows [N, K] as the GEMM's packed B[K, N], widened to f32 once and reused
  /// for every batch item and position block.
  func packedWeights(group g: Int, pool: ThreadPool) -> PackedB {
    let k = shape.depth
    let n = groupOutChannels
    let rows = MatrixOperand(
      raw: weight + g * n * k * weightType.byteSize, dtype: weightType, ld: k, transposed: true)
    return PackedB(k: k, n: n, b: rows, pool: pool)
  }

  /// Computes every output position of one (batch item, group) pair, block by block.
  func run(
    batch b: Int, group g: Int, weights: PackedB, blockSize: Int,
    patches: UnsafeMutablePointer<Float>?, result: UnsafeMutablePointer<Float>?, pool: ThreadPool
  ) {
    let k = shape.depth
    let n = groupOutChannels
    let positions = shape.outputPlane
    let groupInput = input + (b * groups + g) * shape.channels * shape.inputPlane
    let groupOutput = output + (b * outChannels + g * n) * positions
    let epilogue = GEMMEpilogue(bias: bias.map { $0 + g * n }, activation: activation)
    var start = 0
    while start < positions {
      let count = min(blockSize, positions - start)
      let a: MatrixOperand
      switch lowering {
      case .pointwise:
        a = MatrixOperand(groupInput + start, ld: shape.inputPlane, transposed: true)
      case .patches:
        patchRows(shape, input: groupInput, start: start, count: count, rows: patches!, pool: pool)
        a = MatrixOperand(patches!, ld: k)
      case .im2col:
        im2col(shape, input: groupInput, start: start, count: count, columns: patches!, pool: pool)
        a = MatrixOperand(patches!, ld: count, transposed: true)
      }
      if n == 1 {
        gemm(
          m: count, a: a, packedB: weights, c: groupOutput + start, ldc: 1, epilogue: epilogue,
          pool: pool)
      } else {
        gemm(m: count, a: a, packedB: weights, c: result!, ldc: n, epilogue: epilogue, pool: pool)
        scatterChannels(
          result!, count: count, n: n, output: groupOutput + start, planeStride: positions,
          pool: pool)
      }
      start += count
    }
  }
}

/// Direct depthwise convolution: output plane (b, co) reads only input plane (b, co / N).
/// input [batch, groups, …] → output [batch, groups·N, …]
private func depthwiseConvolution(
  _ s: LiftedConvolution, _ g: ConvolutionGeometry, input: UnsafePointer<Float>,
  weight: UnsafeRawPointer, weightType: DType, bias: UnsafePointer<Float>?,
  output: UnsafeMutablePointer<Float>, activation: Activation, pool: ThreadPool
) {
  let n = g.outChannels / g.groups
  let taps = s.kernelVolume
  pool.parallelFor(g.batch * g.outChannels) { plane in
    let co = plane % g.outChannels
    let source = input + ((plane / g.outChannels) * g.groups + co / n) * s.inputPlane
    let destination = output + plane * s.outputPlane
    let weights = (0..<taps).map { Float(ScalarAccess.load(weight, weightType, co * taps + $0)) }
    destination.update(repeating: bias?[co] ?? 0, count: s.outputPlane)
    for od in 0..<s.oD {
      for oh in 0..<s.oH {
        let out = destination + (od * s.oH + oh) * s.oW
        for kd in 0..<s.kD {
          let id = od * s.sD - s.pD + kd * s.dD
          if id < 0 || id >= s.inD { continue }
          for kh in 0..<s.kH {
            let ih = oh * s.sH - s.pH + kh * s.dH
            if ih < 0 || ih >= s.inH { continue }
            let row = source + (id * s.inH + ih) * s.inW
            for kw in 0..<s.kW {
              // out[ow] += w · row[ow·sW + shift] for the ow whose input index is inside the row.
              let w = weights[(kd * s.kH + kh) * s.kW + kw]
              let shift = kw * s.dW - s.pW
              let lo = max(0, convCeilDivide(-shift, s.sW))
              let hi = min(s.oW, convFloorDivide(s.inW - 1 - shift, s.sW) + 1)
              if lo >= hi { continue }
              if s.sW == 1 {
                accumulateScaled(w, row + (lo + shift), into: out + lo, count: hi - lo)
              } else {
                for ow in lo..<hi { out[ow] += w * row[ow * s.sW + shift] }
              }
            }
          }
        }
      }
    }
    if activation != .identity {
      for i in 0..<s.outputPlane { destination[i] = activation.apply(destination[i]) }
    }
  }
}

/// y[i] += a · x[i] for i in 0..<count, eight lanes at a time.
@inline(__always)
private func accumulateScaled(
  _ a: Float, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int
) {
  let scale = SIMD8<Float>(repeating: a)
  let xr = UnsafeRawPointer(x)
  let yr = UnsafeMutableRawPointer(y)
  var i = 0
  while i + 8 <= count {
    let sum =
      yr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
      + scale * xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
    yr.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD8<Float>.self)
    i += 8
  }
  while i < count {
    y[i] += a * x[i]
    i += 1
  }
}

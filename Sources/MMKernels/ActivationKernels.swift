import MMCore

/// Pointwise activations over buffers, vectorized with `SIMD8<Float>`.
/// `Activation.apply` is the scalar definition; these agree with it (computed in Double) to
/// ~1e-6 absolute / a few ulp relative — see `VectorMath.swift` for the building blocks.

extension Activation {
  /// The activation of eight lanes at once.
  @inline(__always)
  public func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
    switch self {
    case .identity: return x
    case .relu: return x.replacing(with: 0, where: x .< 0)
    case .gelu: return 0.5 * x * (1 + vErf(x * 0.707_106_781_186_547_5))
    case .geluTanh:
      // 0.5·(1 + tanh(z)) = σ(2z): one exp instead of a tanh.
      let inner = 0.797_884_560_802_865_4 * x.addingProduct(0.044715 * x * x, x)
      return x * vSigmoid(inner + inner)
    case .quickGelu: return x * vSigmoid(1.702 * x)
    case .silu: return x * vSigmoid(x)
    }
  }
}

/// x[0..<count] ← act(x) in place, on the calling thread (a GEMM epilogue calls this per row).
public func applyActivation(_ act: Activation, _ x: UnsafeMutablePointer<Float>, count: Int) {
  switch act {
  case .identity: return
  case .relu: mapVectors(x, x, count: count) { Activation.relu.apply($0) }
  case .gelu: mapVectors(x, x, count: count) { Activation.gelu.apply($0) }
  case .geluTanh: mapVectors(x, x, count: count) { Activation.geluTanh.apply($0) }
  case .quickGelu: mapVectors(x, x, count: count) { Activation.quickGelu.apply($0) }
  case .silu: mapVectors(x, x, count: count) { Activation.silu.apply($0) }
  }
}

/// output[i] = act(input[i]) for i < count, split over the pool. `output` may equal `input`.
public func applyActivation(
  _ act: Activation, _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
  count: Int, pool: ThreadPool = .shared
) {
  pool.parallelRanges(count, grain: 16_384) { range in
    let n = range.count
    if UnsafePointer(output) != input {
      (output + range.lowerBound).update(from: input + range.lowerBound, count: n)
    }
    applyActivation(act, output + range.lowerBound, count: n)
  }
}

/// output = act(gate) · up, elementwise (GLU-family MLPs: SwiGLU with `.silu`, GeGLU with `.gelu`
/// or `.geluTanh`). All three buffers hold `count` floats; `output` may alias `gate` or `up`.
public func gatedActivation(
  _ act: Activation, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
  output: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared
) {
  pool.parallelRanges(count, grain: 16_384) { range in
    var i = range.lowerBound
    let end = range.upperBound
    while i + 8 <= end {
      store8(act.apply(load8(gate + i)) * load8(up + i), output + i)
      i += 8
    }
    if i < end {
      let n = end - i
      storePartial(act.apply(loadPartial(gate + i, n)) * loadPartial(up + i, n), output + i, n)
    }
  }
}

/// output = silu(gate) · up (LLaMA's MLP). gate, up, output: [count].
public func swiglu(
  gate: UnsafePointer<Float>, up: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
  count: Int, pool: ThreadPool = .shared
) {
  gatedActivation(.silu, gate: gate, up: up, output: output, count: count, pool: pool)
}

/// Vectorized transcendental functions on `SIMD8<Float>`: the building blocks of the activation,
/// softmax and attention kernels. Each is branch-free (both sides of a split are computed and
/// blended), so one call costs the same for every input.
///
/// Accuracy, measured against Double in the tests over the full float range:
/// - `vExp`: ≤ 2 ulp for normal results; exact 0 below −103.97, +∞ above 88.72, NaN stays NaN;
///   subnormal results are rounded once.
/// - `vErf`: ≤ 1e-6 absolute (|x| ≥ 4 gives ±1).
/// - `vTanh`: ≤ 2e-7 absolute, a few ulp relative.
/// - `vSigmoid`: 1 / (1 + vExp(−x)).

/// Lane-wise eˣ (Cephes-style: 2ⁿ·e^r with |r| ≤ ln2/2, degree-6 polynomial).
@inline(__always)
public func vExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let log2e = SIMD8<Float>(repeating: 1.442_695_040_888_963_4)
  // ln 2 split in two so that n·ln2Hi is exact: r keeps full precision.
  let ln2Hi = SIMD8<Float>(repeating: 0.693_359_375)
  let ln2Lo = SIMD8<Float>(repeating: -2.121_944_400_546_905_8e-4)
  // 1.5·2²³: adding it rounds to the nearest integer, which then sits in the low mantissa bits.
  let magic = SIMD8<Float>(repeating: 12_582_912)
  // Clamp with compares and blends (`clamped` is an out-of-line generic call); NaN passes.
  let xc = x.replacing(with: -104, where: x .< -104).replacing(with: 89, where: x .> 89)
  let t = magic.addingProduct(xc, log2e)
  let n = t - magic
  var r = xc.addingProduct(-n, ln2Hi)
  r = r.addingProduct(-n, ln2Lo)
  var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
  p = SIMD8(repeating: 1.398_199_950_7e-3).addingProduct(p, r)
  p = SIMD8(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
  p = SIMD8(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
  p = SIMD8(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
  p = SIMD8(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
  let y = (r + 1).addingProduct(p, r * r)
  // 2ⁿ as two factors 2^(n/2)·2^(n−n/2): n ∈ [−150, 128] overflows one exponent field, not two.
  let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
  let n1 = ni &>> 1
  let n2 = ni &- n1
  let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD8<Float>.self)
  let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: SIMD8<Float>.self)
  let result = y * s1 * s2
  return result.replacing(with: x, where: x .!= x)
}

/// Lane-wise erf(x): a rational approximation x·P(x²)/Q(x²) on [−4, 4] (the one Eigen and XLA use).
@inline(__always)
public func vErf(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let xc = x.replacing(with: -4, where: x .< -4).replacing(with: 4, where: x .> 4)
  let x2 = xc * xc
  var p = SIMD8<Float>(repeating: -2.726_142_258_013_06e-10)
  p = SIMD8(repeating: 2.770_681_424_959_02e-08).addingProduct(p, x2)
  p = SIMD8(repeating: -2.101_024_020_825_08e-06).addingProduct(p, x2)
  p = SIMD8(repeating: -5.692_506_394_623_46e-05).addingProduct(p, x2)
  p = SIMD8(repeating: -7.349_906_303_268_55e-04).addingProduct(p, x2)
  p = SIMD8(repeating: -2.954_599_808_540_25e-03).addingProduct(p, x2)
  p = SIMD8(repeating: -1.609_603_332_624_15e-02).addingProduct(p, x2)
  var q = SIMD8<Float>(repeating: -1.456_607_184_649_96e-05)
  q = SIMD8(repeating: -2.133_740_552_789_05e-04).addingProduct(q, x2)
  q = SIMD8(repeating: -1.682_826_974_382_03e-03).addingProduct(q, x2)
  q = SIMD8(repeating: -7.373_329_167_204_68e-03).addingProduct(q, x2)
  q = SIMD8(repeating: -1.426_473_905_141_89e-02).addingProduct(q, x2)
  let result = xc * p / q
  return result.replacing(with: x, where: x .!= x)
}

/// Lane-wise tanh(x): an odd polynomial for |x| < 0.625 (Cephes), else 1 − 2/(e^{2|x|} + 1).
@inline(__always)
public func vTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let z = x * x
  var p = SIMD8<Float>(repeating: -5.704_988_727_45e-3)
  p = SIMD8(repeating: 2.063_908_879_54e-2).addingProduct(p, z)
  p = SIMD8(repeating: -5.373_971_555_31e-2).addingProduct(p, z)
  p = SIMD8(repeating: 1.333_144_220_36e-1).addingProduct(p, z)
  p = SIMD8(repeating: -3.333_328_194_22e-1).addingProduct(p, z)
  let small = x.addingProduct(p * z, x)
  let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
  let e = vExp(a + a)
  let large = 1 - 2 / (e + 1)
  let signed = large.replacing(with: -large, where: x .< 0)
  return signed.replacing(with: small, where: a .< 0.625)
}

/// Lane-wise logistic σ(x) = 1 / (1 + e^{−x}).
@inline(__always)
public func vSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
  1 / (1 + vExp(-x))
}

// MARK: - Loads and stores with a ragged tail

/// Eight floats from `p` (may be unaligned).
@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
  UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
  UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The first `n` (< 8) floats from `p`; the other lanes are `fill`.
@inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float = 0) -> SIMD8<Float> {
  var v = SIMD8<Float>(repeating: fill)
  for i in 0..<n { v[i] = p[i] }
  return v
}

/// Stores the first `n` (< 8) lanes of `v` to `p`.
@inline(__always)
func storePartial(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
  for i in 0..<n { p[i] = v[i] }
}

/// Applies `body` to `count` floats from `input`, eight at a time, writing to `output` (which may
/// equal `input`). The tail is padded with zeros and only its real lanes are stored.
@inline(__always)
func mapVectors(
  _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
  _ body: (SIMD8<Float>) -> SIMD8<Float>
) {
  var i = 0
  while i + 8 <= count {
    store8(body(load8(input + i)), output + i)
    i += 8
  }
  if i < count { storePartial(body(loadPartial(input + i, count - i)), output + i, count - i) }
}

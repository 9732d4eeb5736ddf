import Foundation
import MMCore

// MARK: - Stockham stages

/// One radix-p pass of a decimation-in-time Stockham FFT (autosorting, so no bit reversal).
/// With L = n/p butterflies and `span` = product of the earlier radices, butterfly j = b·span + k
/// reads x[j + r·L] (r < p), multiplies by e^(−2πi·rk/(span·p)), and writes y[b·span·p + k + r·span].
struct FFTStage: Sendable {
  let radix: Int
  let span: Int
  /// e^(−2πi·rk/(span·p)) at [(r−1)·span + k], r in 1..<p, k in 0..<span.
  let twiddleRe: [Float]
  let twiddleIm: [Float]

  init(radix: Int, span: Int) {
    self.radix = radix
    self.span = span
    var tRe = [Float](repeating: 0, count: (radix - 1) * span)
    var tIm = tRe
    let size = span * radix
    for r in 1..<radix {
      for k in 0..<span {
        let angle = -2 * Double.pi * Double((r * k) % size) / Double(size)
        tRe[(r - 1) * span + k] = Float(cos(angle))
        tIm[(r - 1) * span + k] = Float(sin(angle))
      }
    }
    twiddleRe = tRe
    twiddleIm = tIm
  }

  func run(
    n: Int, _ xRe: UnsafePointer<Float>, _ xIm: UnsafePointer<Float>,
    _ yRe: UnsafeMutablePointer<Float>, _ yIm: UnsafeMutablePointer<Float>
  ) {
    twiddleRe.withUnsafeBufferPointer { twRe in
      twiddleIm.withUnsafeBufferPointer { twIm in
        let s = StageIO(
          xRe: xRe, xIm: xIm, yRe: yRe, yIm: yIm, twRe: twRe.baseAddress!, twIm: twIm.baseAddress!,
          count: n / radix, span: span, radix: radix)
        switch radix {
        case 2:
          s.sweep { w, j, k, o in w ? s.radix2(SIMD8<Float>.self, j, k, o) : s.radix2(Float.self, j, k, o) }
        case 3:
          s.sweep { w, j, k, o in w ? s.radix3(SIMD8<Float>.self, j, k, o) : s.radix3(Float.self, j, k, o) }
        case 4:
          s.sweep { w, j, k, o in w ? s.radix4(SIMD8<Float>.self, j, k, o) : s.radix4(Float.self, j, k, o) }
        case 5:
          s.sweep { w, j, k, o in w ? s.radix5(SIMD8<Float>.self, j, k, o) : s.radix5(Float.self, j, k, o) }
        default: s.generic()
        }
      }
    }
  }
}

/// Float or SIMD8<Float>: each butterfly is written once and runs 1 or 8 consecutive k at a time.
protocol FFTVector {
  static func + (lhs: Self, rhs: Self) -> Self
  static func - (lhs: Self, rhs: Self) -> Self
  static func * (lhs: Self, rhs: Self) -> Self
  static func * (lhs: Self, rhs: Float) -> Self
  static func load(_ pointer: UnsafePointer<Float>) -> Self
  func store(_ pointer: UnsafeMutablePointer<Float>)
}

extension Float: FFTVector {
  @inline(__always) static func load(_ pointer: UnsafePointer<Float>) -> Float { pointer.pointee }
  @inline(__always) func store(_ pointer: UnsafeMutablePointer<Float>) { pointer.pointee = self }
}

extension SIMD8: FFTVector where Scalar == Float {
  @inline(__always) static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
  }
  @inline(__always) func store(_ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: self, as: SIMD8<Float>.self)
  }
}

/// The pointers and sizes of one stage, and its butterflies.
struct StageIO {
  let xRe: UnsafePointer<Float>, xIm: UnsafePointer<Float>
  let yRe: UnsafeMutablePointer<Float>, yIm: UnsafeMutablePointer<Float>
  let twRe: UnsafePointer<Float>, twIm: UnsafePointer<Float>
  /// L = n / radix butterflies.
  let count: Int
  let span: Int
  let radix: Int

  /// Calls `body(wide, j, k, out)` for every butterfly, 8 consecutive k at a time where it can.
  @inline(__always) func sweep(_ body: (Bool, Int, Int, Int) -> Void) {
    for b in 0..<count / span {
      var k = 0
      while k + 8 <= span {
        body(true, b * span + k, k, b * span * radix + k)
        k += 8
      }
      while k < span {
        body(false, b * span + k, k, b * span * radix + k)
        k += 1
      }
    }
  }

  /// Input r of butterfly j, times its twiddle (r ≥ 1, skipped in the first stage).
  @inline(__always) func load<V: FFTVector>(_: V.Type, _ j: Int, _ k: Int, _ r: Int) -> (V, V) {
    let re = V.load(xRe + j + r * count)
    let im = V.load(xIm + j + r * count)
    if r == 0 || span == 1 { return (re, im) }
    let wRe = V.load(twRe + (r - 1) * span + k)
    let wIm = V.load(twIm + (r - 1) * span + k)
    return (re * wRe - im * wIm, re * wIm + im * wRe)
  }

  @inline(__always) func store<V: FFTVector>(_ value: (V, V), _ out: Int, _ r: Int) {
    value.0.store(yRe + out + r * span)
    value.1.store(yIm + out + r * span)
  }

  @inline(__always) func radix2<V: FFTVector>(_ t: V.Type, _ j: Int, _ k: Int, _ out: Int) {
    let a = load(t, j, k, 0)
    let b = load(t, j, k, 1)
    store((a.0 + b.0, a.1 + b.1), out, 0)
    store((a.0 - b.0, a.1 - b.1), out, 1)
  }

  @inline(__always) func radix3<V: FFTVector>(_ t: V.Type, _ j: Int, _ k: Int, _ out: Int) {
    let a = load(t, j, k, 0)
    let b = load(t, j, k, 1)
    let c = load(t, j, k, 2)
    let sum = (b.0 + c.0, b.1 + c.1)
    let mid = (a.0 - sum.0 * 0.5, a.1 - sum.1 * 0.5)
    let s: Float = 0.866_025_403_784_438_6  // sin(2π/3)
    let rot = ((b.1 - c.1) * s, (c.0 - b.0) * s)  // −i·s·(b − c)
    store((a.0 + sum.0, a.1 + sum.1), out, 0)
    store((mid.0 + rot.0, mid.1 + rot.1), out, 1)
    store((mid.0 - rot.0, mid.1 - rot.1), out, 2)
  }

  @inline(__always) func radix4<V: FFTVector>(_ t: V.Type, _ j: Int, _ k: Int, _ out: Int) {
    let a = load(t, j, k, 0)
    let b = load(t, j, k, 1)
    let c = load(t, j, k, 2)
    let d = load(t, j, k, 3)
    let ac = (a.0 + c.0, a.1 + c.1)
    let acDiff = (a.0 - c.0, a.1 - c.1)
    let bd = (b.0 + d.0, b.1 + d.1)
    let rot = (b.1 - d.1, d.0 - b.0)  // −i·(b − d)
    store((ac.0 + bd.0, ac.1 + bd.1), out, 0)
    store((acDiff.0 + rot.0, acDiff.1 + rot.1), out, 1)
    store((ac.0 - bd.0, ac.1 - bd.1), out, 2)
    store((acDiff.0 - rot.0, acDiff.1 - rot.1), out, 3)
  }

  @inline(__always) func radix5<V: FFTVector>(_ t: V.Type, _ j: Int, _ k: Int, _ out: Int) {
    let c1: Float = 0.309_016_994_374_947_4  // cos(2π/5)
    let c2: Float = -0.809_016_994_374_947_4  // cos(4π/5)
    let s1: Float = 0.951_056_516_295_153_5  // sin(2π/5)
    let s2: Float = 0.587_785_252_292_473_1  // sin(4π/5)
    let a = load(t, j, k, 0)
    let b = load(t, j, k, 1)
    let c = load(t, j, k, 2)
    let d = load(t, j, k, 3)
    let e = load(t, j, k, 4)
    let t1 = (b.0 + e.0, b.1 + e.1)
    let t2 = (c.0 + d.0, c.1 + d.1)
    let t3 = (b.0 - e.0, b.1 - e.1)
    let t4 = (c.0 - d.0, c.1 - d.1)
    let m1 = (a.0 + t1.0 * c1 + t2.0 * c2, a.1 + t1.1 * c1 + t2.1 * c2)
    let m2 = (a.0 + t1.0 * c2 + t2.0 * c1, a.1 + t1.1 * c2 + t2.1 * c1)
    let n1 = (t3.0 * s1 + t4.0 * s2, t3.1 * s1 + t4.1 * s2)
    let n2 = (t3.0 * s2 - t4.0 * s1, t3.1 * s2 - t4.1 * s1)
    // V1 = m1 − i·n1, V4 = m1 + i·n1, V2 = m2 − i·n2, V3 = m2 + i·n2; −i·(x + iy) = y − ix.
    store((a.0 + t1.0 + t2.0, a.1 + t1.1 + t2.1), out, 0)
    store((m1.0 + n1.1, m1.1 - n1.0), out, 1)
    store((m2.0 + n2.1, m2.1 - n2.0), out, 2)
    store((m2.0 - n2.1, m2.1 + n2.0), out, 3)
    store((m1.0 - n1.1, m1.1 + n1.0), out, 4)
  }

  /// Any odd prime radix p: a direct p-point DFT per butterfly, O(p²), using the symmetry
  /// V[q] and V[p−q] share the sums of x[r] ± x[p−r].
  func generic() {
    let p = radix
    let half = p / 2
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * p) { buffer in
      let cosine = buffer.baseAddress!
      let sine = cosine + p
      let sumRe = sine + p, sumIm = sumRe + p, diffRe = sumIm + p, diffIm = diffRe + p
      for q in 0..<p {
        cosine[q] = Float(cos(2 * Double.pi * Double(q) / Double(p)))
        sine[q] = Float(sin(2 * Double.pi * Double(q) / Double(p)))
      }
      sweep { wide, j0, k0, out0 in
        for lane in 0..<(wide ? 8 : 1) {
          let (j, k, out) = (j0 + lane, k0 + lane, out0 + lane)
          let a = load(Float.self, j, k, 0)
          var dcRe = a.0
          var dcIm = a.1
          for r in 1...half {
            let x = load(Float.self, j, k, r)
            let y = load(Float.self, j, k, p - r)
            (sumRe[r], sumIm[r]) = (x.0 + y.0, x.1 + y.1)
            (diffRe[r], diffIm[r]) = (x.0 - y.0, x.1 - y.1)
            dcRe += x.0 + y.0
            dcIm += x.1 + y.1
          }
          store((dcRe, dcIm), out, 0)
          // V[q] = a + Σ_r (s_r·cos − i·d_r·sin)(2π·rq/p) and V[p−q] with +i.
          for q in 1...half {
            var evenRe = a.0
            var evenIm = a.1
            var oddRe: Float = 0
            var oddIm: Float = 0
            var index = 0
            for r in 1...half {
              index += q
              if index >= p { index -= p }
              evenRe += sumRe[r] * cosine[index]
              evenIm += sumIm[r] * cosine[index]
              oddRe += diffRe[r] * sine[index]
              oddIm += diffIm[r] * sine[index]
            }
            // −i·(oddRe + i·oddIm) = oddIm − i·oddRe
            store((evenRe + oddIm, evenIm - oddRe), out, q)
            store((evenRe - oddIm, evenIm + oddRe), out, p - q)
          }
        }
      }
    }
  }
}

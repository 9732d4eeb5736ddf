import Foundation
import MMCore
import Synchronization

// MARK: - Real FFT

/// A real-input FFT of one fixed length `n ≥ 1` and its inverse; immutable and thread-safe.
///
/// Spectrum layout: **interleaved complex**, `[n/2 + 1, 2]` = (re, im) per bin, bins 0…n/2: the
/// layout of `torch.view_as_real(torch.fft.rfft(x))` and of `numpy.fft.rfft` viewed as floats.
/// Even n runs one complex FFT of n/2 (the packing trick); odd n runs a complex FFT of n.
public final class RealFFTPlan: Sendable {
  public let count: Int
  /// Complex bins: n/2 + 1.
  public var binCount: Int { count / 2 + 1 }
  private let complex: FFTPlan
  /// e^(−2πi·k/n) for k in 0...n/2 (even n only).
  private let twiddleRe: [Float]
  private let twiddleIm: [Float]

  public init(count: Int) {
    precondition(count >= 1, "RealFFTPlan length must be ≥ 1, got \(count)")
    self.count = count
    let even = count % 2 == 0
    complex = FFTPlan.shared(count: even ? count / 2 : count)
    let half = even ? count / 2 : 0
    twiddleRe = (0..<(even ? half + 1 : 0)).map { Float(cos(-2 * Double.pi * Double($0) / Double(count))) }
    twiddleIm = (0..<(even ? half + 1 : 0)).map { Float(sin(-2 * Double.pi * Double($0) / Double(count))) }
  }

  /// The plan for `count` from a process-wide cache.
  public static func shared(count: Int) -> RealFFTPlan {
    if let plan = cache.withLock({ $0[count] }) { return plan }
    let plan = RealFFTPlan(count: count)
    return cache.withLock { table in
      if let existing = table[count] { return existing }
      if table.count >= 64 { table.removeAll() }
      table[count] = plan
      return plan
    }
  }
  private static let cache = Mutex<[Int: RealFFTPlan]>([:])

  /// Floats of scratch memory `forward(_:_:scratch:)` and `inverse(_:_:scratch:)` need.
  public var scratchCount: Int { 2 * complex.count + complex.scratchCount + 2 * complex.count }

  /// x[n] → spectrum[n/2 + 1, 2] (interleaved re, im).
  public func forward(_ x: UnsafePointer<Float>, _ spectrum: UnsafeMutablePointer<Float>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) {
      forward(x, spectrum, scratch: $0.baseAddress!)
    }
  }

  /// As `forward(_:_:)` with caller-owned scratch of `scratchCount` floats (for loops over frames).
  public func forward(
    _ x: UnsafePointer<Float>, _ spectrum: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let m = complex.count
    let zRe = scratch
    let zIm = scratch + m
    let fRe = scratch + 2 * m
    let fIm = scratch + 3 * m
    let inner = scratch + 4 * m
    if count % 2 == 1 {
      zRe.update(from: x, count: m)
      zIm.initialize(repeating: 0, count: m)
      complex.execute(zRe, zIm, fRe, fIm, scratch: inner)
      for k in 0..<binCount {
        spectrum[2 * k] = fRe[k]
        spectrum[2 * k + 1] = fIm[k]
      }
      return
    }
    // z[j] = x[2j] + i·x[2j+1]; Z = FFT_h(z); X[k] = E[k] + w^k·O[k] with
    // E[k] = (Z[k] + conj Z[h−k])/2 and O[k] = (Z[k] − conj Z[h−k])/(2i).
    for j in 0..<m {
      zRe[j] = x[2 * j]
      zIm[j] = x[2 * j + 1]
    }
    complex.execute(zRe, zIm, fRe, fIm, scratch: inner)
    for k in 0...m {
      let a = k == m ? 0 : k
      let b = k == 0 ? 0 : m - k
      let eRe = 0.5 * (fRe[a] + fRe[b])
      let eIm = 0.5 * (fIm[a] - fIm[b])
      let oRe = 0.5 * (fIm[a] + fIm[b])
      let oIm = 0.5 * (fRe[b] - fRe[a])
      let wRe = twiddleRe[k]
      let wIm = twiddleIm[k]
      spectrum[2 * k] = eRe + wRe * oRe - wIm * oIm
      spectrum[2 * k + 1] = eIm + wRe * oIm + wIm * oRe
    }
  }

  /// spectrum[n/2 + 1, 2] → x[n], scaled by 1/n (NumPy's `irfft`: `inverse(forward(x)) == x`).
  /// The imaginary parts of bin 0 (and of bin n/2 for even n) are ignored, as NumPy does.
  public func inverse(_ spectrum: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) {
      inverse(spectrum, x, scratch: $0.baseAddress!)
    }
  }

  /// As `inverse(_:_:)` with caller-owned scratch of `scratchCount` floats.
  public func inverse(
    _ spectrum: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let m = complex.count
    let zRe = scratch
    let zIm = scratch + m
    let fRe = scratch + 2 * m
    let fIm = scratch + 3 * m
    let inner = scratch + 4 * m
    let scale = 1 / Float(count)
    if count % 2 == 1 {
      // Full Hermitian spectrum, conjugated so that the forward transform inverts it.
      for k in 0..<m {
        let source = k < binCount ? k : m - k
        zRe[k] = spectrum[2 * source]
        zIm[k] = k == 0 ? 0 : (k < binCount ? -spectrum[2 * k + 1] : spectrum[2 * source + 1])
      }
      complex.execute(zRe, zIm, fRe, fIm, scratch: inner)
      for j in 0..<m { x[j] = fRe[j] * scale }
      return
    }
    // Z[k] = E[k] + i·O[k], E[k] = (X[k] + conj X[h−k])/2, O[k] = (X[k] − conj X[h−k])·conj(w^k)/2;
    // z = IFFT_h(Z) interleaves x. The inverse runs as a forward FFT of the swapped parts.
    for k in 0..<m {
      let b = m - k
      let aRe = spectrum[2 * k]
      let aIm = k == 0 ? 0 : spectrum[2 * k + 1]
      let bRe = spectrum[2 * b]
      let bIm = b == m ? 0 : spectrum[2 * b + 1]
      // 2E and 2D = 2·w^k·O: the factor 2 is folded into the 1/n scale below (h = n/2).
      let eRe = aRe + bRe
      let eIm = aIm - bIm
      let dRe = aRe - bRe
      let dIm = aIm + bIm
      let wRe = twiddleRe[k]
      let wIm = -twiddleIm[k]
      let oRe = dRe * wRe - dIm * wIm
      let oIm = dRe * wIm + dIm * wRe
      zRe[k] = eRe - oIm
      zIm[k] = eIm + oRe
    }
    complex.execute(zIm, zRe, fIm, fRe, scratch: inner)
    for j in 0..<m {
      x[2 * j] = fRe[j] * scale
      x[2 * j + 1] = fIm[j] * scale
    }
  }
}

/// Real FFT of an array: x[n] → [n/2 + 1, 2] interleaved (re, im). Throws on an empty input.
public func rfft(_ x: [Float]) throws(TensorError) -> [Float] {
  guard !x.isEmpty else { throw .invalidArgument(op: "rfft", message: "length must be ≥ 1, got 0") }
  let plan = RealFFTPlan.shared(count: x.count)
  var spectrum = [Float](repeating: 0, count: 2 * plan.binCount)
  plan.forward(x, &spectrum)
  return spectrum
}

/// Inverse real FFT: spectrum [count/2 + 1, 2] interleaved → x[count], scaled by 1/count.
public func irfft(_ spectrum: [Float], count: Int) throws(TensorError) -> [Float] {
  guard count >= 1 else {
    throw .invalidArgument(op: "irfft", message: "output length must be ≥ 1, got \(count)")
  }
  guard spectrum.count == 2 * (count / 2 + 1) else {
    throw .shapeMismatch(
      op: "irfft", expected: "[\(count / 2 + 1), 2] = \(2 * (count / 2 + 1)) floats",
      found: "\(spectrum.count) floats")
  }
  let plan = RealFFTPlan.shared(count: count)
  var x = [Float](repeating: 0, count: count)
  plan.inverse(spectrum, &x)
  return x
}

import Foundation

// MARK: - Double-precision real power spectrum

/// |DFT(x)|² of a real frame of `count` samples at bins 0...count/2, in Double.
///
/// Why Double: log filterbank bins of quiet frames amplify rounding, and a float32 FFT moves them by
/// up to ~1e-3 from the exact value (torchaudio's own float32 run sits as far from its float64 run).
/// Powers of two use an iterative radix-2 FFT; other lengths a direct DFT from a twiddle table.
/// Built once per length and reused across frames; not thread-safe (one per caller).
final class DoublePowerSpectrum {
  let count: Int
  private let cosTable: [Double]
  private let sinTable: [Double]
  private let isPowerOfTwo: Bool
  private var re: [Double]
  private var im: [Double]

  init(count: Int) {
    precondition(count >= 2)
    self.count = count
    isPowerOfTwo = count & (count - 1) == 0
    cosTable = (0..<count).map { cos(2 * Double.pi * Double($0) / Double(count)) }
    sinTable = (0..<count).map { sin(2 * Double.pi * Double($0) / Double(count)) }
    re = [Double](repeating: 0, count: count)
    im = [Double](repeating: 0, count: count)
  }

  /// x: [count] → power: [count/2 + 1].
  func callAsFunction(_ x: [Double], into power: inout [Double]) {
    let n = count
    if isPowerOfTwo {
      // Bit-reversed copy, then butterflies (on raw buffers: no exclusivity checks in the loop).
      var bits = 0
      while 1 << bits < n { bits += 1 }
      re.withUnsafeMutableBufferPointer { re in
        im.withUnsafeMutableBufferPointer { im in
          cosTable.withUnsafeBufferPointer { cosTable in
            sinTable.withUnsafeBufferPointer { sinTable in
              for i in 0..<n {
                var r = 0, v = i
                for _ in 0..<bits {
                  r = r << 1 | v & 1
                  v >>= 1
                }
                re[r] = x[i]
                im[r] = 0
              }
              var size = 2
              while size <= n {
                let half = size / 2, step = n / size
                for start in stride(from: 0, to: n, by: size) {
                  for k in 0..<half {
                    let wr = cosTable[k * step], wi = -sinTable[k * step]
                    let a = start + k, b = a + half
                    let tr = re[b] * wr - im[b] * wi
                    let ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                  }
                }
                size <<= 1
              }
              for k in 0...(n / 2) { power[k] = re[k] * re[k] + im[k] * im[k] }
            }
          }
        }
      }
    } else {
      for k in 0...(n / 2) {
        var sr = 0.0, si = 0.0
        var index = 0
        for t in 0..<n {
          sr += x[t] * cosTable[index]
          si -= x[t] * sinTable[index]
          index += k
          if index >= n { index -= n }
        }
        power[k] = sr * sr + si * si
      }
    }
  }
}

import Foundation
import MMCore

// MARK: - Windowed-sinc resampling (torchaudio.functional.resample)

/// Resamples a mono signal from `from` Hz to `to` Hz as `torchaudio.functional.resample` does with its
/// defaults (method `sinc_interp_hann`, lowpass_filter_width 6, rolloff 0.99).
///
/// samples: [n] → [ceil(n · to / from)] (after reducing both rates by their gcd). Equal rates return
/// the input. Like torchaudio, the kernel is built in float32 (the waveform's dtype) and the signal is
/// zero-padded by `width` on the left and `width + from'` on the right; we accumulate in Double.
/// Throws `TensorError.invalidArgument` for a non-positive or non-integer rate or a non-finite sample.
public func resample(
  _ samples: [Float], from: Int, to: Int, lowpassFilterWidth: Int = 6, rolloff: Double = 0.99
) throws(TensorError) -> [Float] {
  let op = "resample"
  guard from > 0, to > 0 else {
    throw .invalidArgument(op: op, message: "sample rates must be > 0, got from \(from) to \(to)")
  }
  guard lowpassFilterWidth >= 1, rolloff > 0, rolloff <= 1 else {
    throw .invalidArgument(
      op: op,
      message: "need lowpassFilterWidth ≥ 1 and 0 < rolloff ≤ 1, got \(lowpassFilterWidth), \(rolloff)")
  }
  guard samples.allSatisfy({ $0.isFinite }) else {
    throw .invalidArgument(op: op, message: "the signal holds NaN or infinite samples")
  }
  if from == to { return samples }
  let g = gcd(from, to)
  let orig = from / g, new = to / g
  let (kernel, width) = sincResampleKernel(
    orig: orig, new: new, lowpassFilterWidth: lowpassFilterWidth, rolloff: rolloff)
  let taps = 2 * width + orig
  let n = samples.count
  let blocks = n / orig + 1
  let target = Int((Double(new) * Double(n) / Double(orig)).rounded(.up))
  var out = [Float](repeating: 0, count: min(target, blocks * new))
  // Widened once (exact conversions), so the loop is plain Double multiply-adds in tap order.
  // Four phases run side by side (independent sums, each in tap order: the same bits as one at
  // a time, without waiting on one long chain of dependent adds).
  let wideKernel = kernel.map(Double.init)
  let wide = samples.map(Double.init)
  wide.withUnsafeBufferPointer { x in
    wideKernel.withUnsafeBufferPointer { kernel in
      out.withUnsafeMutableBufferPointer { out in
        for b in 0..<blocks {
          let base = b * orig - width  // index into samples of tap 0
          let lo = max(0, -base), hi = min(taps, n - base)
          let phases = min(new, out.count - b * new)
          var j = 0
          while j < phases {
            let k = kernel.baseAddress! + j * taps
            if j + 4 <= phases {
              var (a0, a1, a2, a3) = (0.0, 0.0, 0.0, 0.0)
              if lo < hi {
                for t in lo..<hi {
                  let v = x[base + t]
                  a0 += k[t] * v
                  a1 += k[taps + t] * v
                  a2 += k[2 * taps + t] * v
                  a3 += k[3 * taps + t] * v
                }
              }
              let index = b * new + j
              (out[index], out[index + 1], out[index + 2], out[index + 3]) = (
                Float(a0), Float(a1), Float(a2), Float(a3)
              )
              j += 4
            } else {
              var acc = 0.0
              if lo < hi { for t in lo..<hi { acc += k[t] * x[base + t] } }
              out[b * new + j] = Float(acc)
              j += 1
            }
          }
        }
      }
    }
  }
  return out
}

/// torchaudio's `_get_sinc_resample_kernel` in float32: `new` phases of `2·width + orig` taps,
/// row-major [new, taps], and `width`.
public func sincResampleKernel(orig: Int, new: Int, lowpassFilterWidth: Int = 6, rolloff: Double = 0.99)
  -> (kernel: [Float], width: Int)
{
  let baseFreq = Double(min(orig, new)) * rolloff
  let width = Int((Double(lowpassFilterWidth) * Double(orig) / baseFreq).rounded(.up))
  let taps = 2 * width + orig
  let lw = Float(lowpassFilterWidth)
  let base = Float(baseFreq)
  let scale = Float(baseFreq / Double(orig))
  var kernel = [Float](repeating: 0, count: new * taps)
  for j in 0..<new {
    let phase = Float(-j) / Float(new)
    for k in 0..<taps {
      let idx = Float(k - width) / Float(orig)
      var t = (phase + idx) * base
      t = min(max(t, -lw), lw)
      let c = cos(t * Float.pi / lw / 2)
      let window = c * c
      t *= Float.pi
      let sinc: Float = t == 0 ? 1 : sin(t) / t
      kernel[j * taps + k] = sinc * (window * scale)
    }
  }
  return (kernel, width)
}

private func gcd(_ a: Int, _ b: Int) -> Int {
  var (x, y) = (a, b)
  while y != 0 { (x, y) = (y, x % y) }
  return x
}

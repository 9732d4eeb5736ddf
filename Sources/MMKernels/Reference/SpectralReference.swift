import Foundation
import MMCore

/// Naive twins of the spectral kernels: O(n²) DFTs in Double, the ground truth for the tests.
extension Reference {
  /// X[k] = Σ_j x[j]·e^(∓2πi·jk/n), split layout; the inverse (+ sign) is scaled by 1/n.
  public static func dft(
    real: [Float], imag: [Float], inverse: Bool = false
  ) -> (real: [Float], imag: [Float]) {
    let n = real.count
    let sign: Double = inverse ? 1 : -1
    var outRe = [Float](repeating: 0, count: n)
    var outIm = [Float](repeating: 0, count: n)
    for k in 0..<n {
      var sumRe = 0.0
      var sumIm = 0.0
      for j in 0..<n {
        let angle = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
        let (c, s) = (cos(angle), sin(angle))
        sumRe += Double(real[j]) * c - Double(imag[j]) * s
        sumIm += Double(real[j]) * s + Double(imag[j]) * c
      }
      let scale = inverse ? 1 / Double(n) : 1
      outRe[k] = Float(sumRe * scale)
      outIm[k] = Float(sumIm * scale)
    }
    return (outRe, outIm)
  }

  /// Real DFT: x[n] → [n/2 + 1, 2] interleaved (re, im).
  public static func rfft(_ x: [Float]) -> [Float] {
    let full = dft(real: x, imag: [Float](repeating: 0, count: x.count))
    var out: [Float] = []
    for k in 0...(x.count / 2) {
      out.append(full.real[k])
      out.append(full.imag[k])
    }
    return out
  }

  /// `stft` by the definition: pad, cut frames, multiply by the window, naive DFT per frame.
  /// → [frames, bins] or [frames, bins, 2], as the fast kernel.
  public static func stft(
    _ signal: [Float], configuration: STFTConfiguration, kind: SpectrogramKind
  ) throws(TensorError) -> (frames: Int, values: [Float]) {
    let n = configuration.fftSize
    let pad = configuration.padding
    if configuration.padMode == .reflect && pad >= signal.count {
      throw .invalidArgument(op: "stft", message: "reflect padding longer than the signal")
    }
    var padded: [Float] = []
    for i in -pad..<(signal.count + pad) {
      if i >= 0 && i < signal.count {
        padded.append(signal[i])
      } else if configuration.padMode == .constant {
        padded.append(0)
      } else {
        padded.append(signal[i < 0 ? -i : 2 * (signal.count - 1) - i])
      }
    }
    guard padded.count >= n, !signal.isEmpty else {
      throw .invalidArgument(op: "stft", message: "signal shorter than one frame")
    }
    let frames = 1 + (padded.count - n) / configuration.hopLength
    let scale = configuration.normalized ? 1 / Double(n).squareRoot() : 1
    var values: [Float] = []
    for t in 0..<frames {
      for k in 0...(n / 2) {
        var sumRe = 0.0
        var sumIm = 0.0
        for j in 0..<n {
          let x = Double(padded[t * configuration.hopLength + j]) * Double(configuration.window[j])
          let angle = -2 * Double.pi * Double((j * k) % n) / Double(n)
          sumRe += x * cos(angle)
          sumIm += x * sin(angle)
        }
        sumRe *= scale
        sumIm *= scale
        switch kind {
        case .complex: values += [Float(sumRe), Float(sumIm)]
        case .magnitude: values.append(Float((sumRe * sumRe + sumIm * sumIm).squareRoot()))
        case .power: values.append(Float(sumRe * sumRe + sumIm * sumIm))
        }
      }
    }
    return (frames, values)
  }

  /// power [frames, freqs] · filterbank [mels, freqs]ᵀ → [frames, mels] or [mels, frames].
  public static func applyMelFilterbank(
    power: [Float], frames: Int, frequencyCount: Int, filterbank: [Float], melCount: Int,
    layout: MelSpectrogramLayout = .framesByMels
  ) -> [Float] {
    var out = [Float](repeating: 0, count: frames * melCount)
    for t in 0..<frames {
      for m in 0..<melCount {
        var sum = 0.0
        for f in 0..<frequencyCount {
          sum += Double(power[t * frequencyCount + f]) * Double(filterbank[m * frequencyCount + f])
        }
        out[layout == .framesByMels ? t * melCount + m : m * frames + t] = Float(sum)
      }
    }
    return out
  }
}

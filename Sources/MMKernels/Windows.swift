import Foundation
import MMCore

/// The window functions of `torch.*_window` and Kaldi, for `stft` and feature extraction.
///
/// `periodic: true` (PyTorch's default, right for spectral analysis) divides the phase by N;
/// `periodic: false` (symmetric, for filter design and Kaldi) divides by N − 1.
public enum WindowFunction: String, Sendable, CaseIterable, Codable {
  /// 0.5 − 0.5·cos(2πi/N)  (`torch.hann_window`)
  case hann
  /// 0.54 − 0.46·cos(2πi/N)  (`torch.hamming_window`)
  case hamming
  /// 0.42 − 0.5·cos(2πi/N) + 0.08·cos(4πi/N)  (`torch.blackman_window`)
  case blackman
  /// hann^0.85, Kaldi's default "povey" window. Kaldi uses it symmetric (`periodic: false`), as
  /// `torchaudio.compliance.kaldi` does: `torch.hann_window(N, periodic=False).pow(0.85)`.
  case povey
  /// All ones (`torch.stft` with `window=None`).
  case rectangular
}

/// A window of `length` samples, computed in Double and rounded to Float.
/// length 0 → [], length 1 → [1] (as PyTorch).
public func makeWindow(_ function: WindowFunction, length: Int, periodic: Bool = true) -> [Float] {
  if length <= 0 { return [] }
  if length == 1 { return [1] }
  let denominator = Double(periodic ? length : length - 1)
  return (0..<length).map { i in
    let phase = 2 * Double.pi * Double(i) / denominator
    let value: Double
    switch function {
    case .hann: value = 0.5 - 0.5 * cos(phase)
    case .hamming: value = 0.54 - 0.46 * cos(phase)
    case .blackman: value = 0.42 - 0.5 * cos(phase) + 0.08 * cos(2 * phase)
    case .povey: value = pow(max(0.5 - 0.5 * cos(phase), 0), 0.85)
    case .rectangular: value = 1
    }
    return Float(value)
  }
}

/// How `stft` extends the signal at both ends when `center` is true (`torch.stft`'s `pad_mode`).
public enum STFTPadMode: String, Sendable, CaseIterable, Codable {
  /// Mirror without repeating the edge sample: [a b c d] → [c b | a b c d | c b]. Needs a
  /// signal longer than the padding (n_fft/2), as PyTorch does.
  case reflect
  /// Zeros.
  case constant
}

/// signal[count] → [count + 2·pad], extended at both ends by `pad` samples.
public func padSignal(
  _ signal: UnsafePointer<Float>, count: Int, pad: Int, mode: STFTPadMode
) throws(TensorError) -> [Float] {
  guard count >= 1 else {
    throw .invalidArgument(op: "stft", message: "signal must have at least 1 sample, got 0")
  }
  if mode == .reflect && pad >= count {
    throw .invalidArgument(
      op: "stft",
      message: "reflect padding of \(pad) samples needs a signal longer than \(pad) samples, "
        + "got \(count); use padMode .constant or a longer signal")
  }
  var padded = [Float](repeating: 0, count: count + 2 * pad)
  padded.withUnsafeMutableBufferPointer { out in
    (out.baseAddress! + pad).update(from: signal, count: count)
    if mode == .reflect {
      for i in 0..<pad {
        out[pad - 1 - i] = signal[i + 1]
        out[pad + count + i] = signal[count - 2 - i]
      }
    }
  }
  return padded
}

/// A window of `windowLength` samples placed in the middle of `fftSize` zeros, starting at
/// (fftSize − windowLength)/2 rounded down: what `torch.stft` does when win_length < n_fft.
public func centerWindow(_ window: [Float], fftSize: Int) throws(TensorError) -> [Float] {
  guard window.count <= fftSize else {
    throw .shapeMismatch(
      op: "centerWindow", expected: "a window of at most \(fftSize) samples (fftSize)",
      found: "\(window.count) samples")
  }
  var padded = [Float](repeating: 0, count: fftSize)
  let left = (fftSize - window.count) / 2
  for i in window.indices { padded[left + i] = window[i] }
  return padded
}

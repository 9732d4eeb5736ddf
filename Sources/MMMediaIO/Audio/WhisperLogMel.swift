import Foundation
import MMCore
import MMKernels

// MARK: - Whisper log-mel spectrogram

/// Whisper's input features (openai-whisper `log_mel_spectrogram`, transformers
/// `WhisperFeatureExtractor._torch_extract_fbank_features`) of a 16 kHz mono signal.
///
/// samples16k: [n] → [melCount, n/160] (frames of `torch.stft(n_fft=400, hop=160, hann periodic,
/// center, reflect)` minus the last). Steps: power spectrum, librosa slaney mel filters
/// (80 or 128 bins, 0–8000 Hz), log10(max(x, 1e-10)), max(x, max(x) − 8), (x + 4) / 4.
/// No padding or trimming to 30 s is done here (Whisper pads the waveform to 480000 samples first).
/// Throws `TensorError.invalidArgument` for a signal too short for the reflect padding (≤ 200
/// samples), non-finite samples or a mel count other than 80 or 128.
public func whisperLogMel(samples16k samples: [Float], melCount: Int = 80) throws(TensorError) -> Tensor {
  let op = "whisperLogMel"
  guard melCount == 80 || melCount == 128 else {
    throw .invalidArgument(op: op, message: "Whisper uses 80 or 128 mel bins, got \(melCount)")
  }
  guard samples.count > 200 else {
    throw .invalidArgument(
      op: op, message: "the signal has \(samples.count) samples; need > 200 (n_fft/2, for reflect padding)")
  }
  guard samples.allSatisfy({ $0.isFinite }) else {
    throw .invalidArgument(op: op, message: "the signal holds NaN or infinite samples")
  }
  let configuration = try STFTConfiguration(fftSize: 400, hopLength: 160)
  let (frames, power) = try stft(samples, configuration: configuration, kind: .power)
  let bins = configuration.binCount
  let kept = frames - 1
  guard kept >= 1 else { throw .invalidArgument(op: op, message: "the signal gives no frame") }
  let filters = try librosaMelFilterbank(sampleRate: 16000, fftSize: 400, melCount: melCount)
  var logSpec = [Double](repeating: 0, count: melCount * kept)
  for m in 0..<melCount {
    let row = m * bins
    for t in 0..<kept {
      var e = 0.0
      for b in 0..<bins { e += Double(filters[row + b]) * Double(power[t * bins + b]) }
      logSpec[m * kept + t] = log10(max(e, 1e-10))
    }
  }
  let floor = (logSpec.max() ?? 0) - 8
  return Tensor(logSpec.map { Float((max($0, floor) + 4) / 4) }, shape: [melCount, kept])
}

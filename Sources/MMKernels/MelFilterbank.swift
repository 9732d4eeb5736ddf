import Foundation
import MMCore

/// The Hz ↔ mel conversion of a mel filterbank.
public enum MelScale: String, Sendable, CaseIterable, Codable {
  /// 2595·log10(1 + f/700) (HTK; `htk=True` in librosa, torchaudio's default).
  case htk
  /// Slaney's Auditory Toolbox: linear below 1 kHz (f·3/200), logarithmic above
  /// (librosa's default, Whisper's filters, `mel_scale="slaney"` in torchaudio).
  case slaney

  public func mel(fromHz hz: Double) -> Double {
    switch self {
    case .htk: return 2595 * log10(1 + hz / 700)
    case .slaney:
      if hz < 1000 { return hz * 3 / 200 }
      return 15 + log(hz / 1000) / (log(6.4) / 27)
    }
  }

  public func hz(fromMel mel: Double) -> Double {
    switch self {
    case .htk: return 700 * (pow(10, mel / 2595) - 1)
    case .slaney:
      if mel < 15 { return mel * 200 / 3 }
      return 1000 * exp(log(6.4) / 27 * (mel - 15))
    }
  }
}

/// How each triangular filter is scaled.
public enum MelNorm: String, Sendable, CaseIterable, Codable {
  /// Peak 1 (torchaudio's default `norm=None`; librosa `norm=None`).
  case none
  /// Divide each triangle by its width in Hz/2, so it has unit area (librosa's default
  /// `norm="slaney"`, Whisper; torchaudio `norm="slaney"`).
  case slaney
}

/// Which way round the filterbank matrix is stored.
public enum MelFilterbankLayout: String, Sendable, CaseIterable, Codable {
  /// [melCount, frequencyCount]: `librosa.filters.mel`, Whisper's `mel_filters`.
  case melsByFrequencies
  /// [frequencyCount, melCount]: `torchaudio.functional.melscale_fbanks`.
  case frequenciesByMels
}

/// Triangular mel filters over the frequencies linspace(0, sampleRate/2, frequencyCount).
///
/// → [melCount, frequencyCount] (`.melsByFrequencies`, default) or [frequencyCount, melCount].
/// Computed in Double, rounded to Float; follows the shared formula of
/// `torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm,
/// mel_scale)` and `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm)` (there
/// frequencyCount = 1 + n_fft/2, `maxFrequency` nil = sr/2). torchaudio's grid uses
/// `sample_rate // 2`, the same for every even sample rate.
public func melFilterbank(
  frequencyCount: Int, sampleRate: Double, melCount: Int, minFrequency: Double = 0,
  maxFrequency: Double? = nil, scale: MelScale = .slaney, norm: MelNorm = .slaney,
  layout: MelFilterbankLayout = .melsByFrequencies
) throws(TensorError) -> [Float] {
  let op = "melFilterbank"
  let fMax = maxFrequency ?? sampleRate / 2
  guard frequencyCount >= 1 else {
    throw .invalidArgument(op: op, message: "frequencyCount must be ≥ 1, got \(frequencyCount)")
  }
  guard melCount >= 1 else {
    throw .invalidArgument(op: op, message: "melCount must be ≥ 1, got \(melCount)")
  }
  guard sampleRate > 0, minFrequency >= 0, minFrequency < fMax else {
    throw .invalidArgument(
      op: op,
      message: "need sampleRate > 0 and 0 ≤ minFrequency < maxFrequency, got sampleRate "
        + "\(sampleRate), minFrequency \(minFrequency), maxFrequency \(fMax)")
  }
  // Band edges: melCount + 2 points equally spaced in mel between the two limits.
  let melMin = scale.mel(fromHz: minFrequency)
  let melMax = scale.mel(fromHz: fMax)
  let edges = (0..<(melCount + 2)).map { i in
    scale.hz(fromMel: melMin + (melMax - melMin) * Double(i) / Double(melCount + 1))
  }
  let nyquist = sampleRate / 2
  var weights = [Float](repeating: 0, count: melCount * frequencyCount)
  for m in 0..<melCount {
    let lower = edges[m]
    let peak = edges[m + 1]
    let upper = edges[m + 2]
    let gain = norm == .slaney ? 2 / (upper - lower) : 1
    for f in 0..<frequencyCount {
      let hz = frequencyCount == 1 ? 0 : nyquist * Double(f) / Double(frequencyCount - 1)
      let rising = (hz - lower) / (peak - lower)
      let falling = (upper - hz) / (upper - peak)
      let value = max(0, min(rising, falling)) * gain
      let index = layout == .melsByFrequencies ? m * frequencyCount + f : f * melCount + m
      weights[index] = Float(value)
    }
  }
  return weights
}

/// The filterbank of `librosa.filters.mel(sr=sampleRate, n_fft=fftSize, n_mels=melCount,
/// fmin, fmax, htk, norm)`: [melCount, 1 + fftSize/2]. Whisper: (16000, 400, 80) or (…, 128).
public func librosaMelFilterbank(
  sampleRate: Double, fftSize: Int, melCount: Int = 128, minFrequency: Double = 0,
  maxFrequency: Double? = nil, htk: Bool = false, norm: MelNorm = .slaney
) throws(TensorError) -> [Float] {
  try melFilterbank(
    frequencyCount: 1 + fftSize / 2, sampleRate: sampleRate, melCount: melCount,
    minFrequency: minFrequency, maxFrequency: maxFrequency, scale: htk ? .htk : .slaney,
    norm: norm, layout: .melsByFrequencies)
}

/// Mel spectrogram = power spectrogram · filterbankᵀ, one GEMM.
///
/// power: [frames, frequencyCount] (the `stft` layout), filterbank: [melCount, frequencyCount]
/// (`.melsByFrequencies`) → output [frames, melCount] (`.framesByMels`) or [melCount, frames]
/// (`.melsByFrames`, Whisper's and torchaudio's [n_mels, time]).
public func applyMelFilterbank(
  power: UnsafePointer<Float>, frames: Int, frequencyCount: Int,
  filterbank: UnsafePointer<Float>, melCount: Int, output: UnsafeMutablePointer<Float>,
  layout: MelSpectrogramLayout = .framesByMels, pool: ThreadPool = .shared
) {
  if frames == 0 || melCount == 0 { return }
  let spectra = MatrixOperand(power, ld: frequencyCount)
  let filters = MatrixOperand(filterbank, ld: frequencyCount)
  switch layout {
  case .framesByMels:
    // [frames × freqs] · [freqs × mels]: the filterbank read transposed.
    gemm(
      m: frames, n: melCount, k: frequencyCount, a: spectra,
      b: MatrixOperand(filterbank, ld: frequencyCount, transposed: true), c: output,
      ldc: melCount, pool: pool)
  case .melsByFrames:
    // [mels × freqs] · [freqs × frames]: the spectrogram read transposed.
    gemm(
      m: melCount, n: frames, k: frequencyCount, a: filters,
      b: MatrixOperand(power, ld: frequencyCount, transposed: true), c: output, ldc: frames,
      pool: pool)
  }
}

/// The layout of a mel spectrogram written by `applyMelFilterbank`.
public enum MelSpectrogramLayout: String, Sendable, CaseIterable, Codable {
  /// [frames, melCount]: each frame's mel vector contiguous (conv/transformer input per token).
  case framesByMels
  /// [melCount, frames]: Whisper's `mel_filters @ magnitudes`, torchaudio's [n_mels, time].
  case melsByFrames
}

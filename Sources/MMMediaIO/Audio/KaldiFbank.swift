import Foundation
import MMCore
import MMKernels

// MARK: - Kaldi filterbank features (torchaudio.compliance.kaldi.fbank)

/// Window applied to each Kaldi frame; the names and formulas of torchaudio's `window_type`.
public enum KaldiWindowType: String, Sendable, CaseIterable, Codable {
  /// Symmetric Hann raised to 0.85 (Kaldi's default).
  case povey
  /// Symmetric Hann: 0.5 − 0.5 cos(2πn/(N−1)).
  case hanning
  /// Symmetric Hamming: 0.54 − 0.46 cos(2πn/(N−1)).
  case hamming
  case rectangular
  /// Blackman with coefficient `blackmanCoefficient`.
  case blackman
}

/// Options of `kaldiFbank`, named and defaulted as in `torchaudio.compliance.kaldi.fbank`.
/// Lengths are in milliseconds, frequencies in Hz.
public struct KaldiFbankOptions: Sendable, Equatable {
  public var frameLength: Double = 25
  public var frameShift: Double = 10
  /// Frames are whole windows inside the signal (true) or centred every shift with reflected edges.
  public var snipEdges = true
  /// Only 0 is supported: random dither cannot reproduce a reference.
  public var dither: Double = 0
  public var removeDCOffset = true
  public var preemphasisCoefficient: Double = 0.97
  public var windowType: KaldiWindowType = .povey
  public var blackmanCoefficient: Double = 0.42
  public var roundToPowerOfTwo = true
  public var numMelBins = 23
  public var lowFreq: Double = 20
  /// 0 means Nyquist; a negative value is an offset from Nyquist.
  public var highFreq: Double = 0
  /// Adds a log-energy column: first, or last when `htkCompat`.
  public var useEnergy = false
  /// Energy before preemphasis and windowing (true) or after.
  public var rawEnergy = true
  /// Floor on the energy (absolute, not log); 0 for none.
  public var energyFloor: Double = 1
  public var useLogFbank = true
  /// Power spectrum (true) or magnitude.
  public var usePower = true
  public var htkCompat = false
  /// Subtracts each column's mean over frames.
  public var subtractMean = false

  public init() {}

  /// The options ImageBind passes: `fbank(waveform, htk_compat=True, sample_frequency=sr,
  /// use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0, frame_length=25,
  /// frame_shift=10)`.
  public static var imageBind: KaldiFbankOptions {
    var o = KaldiFbankOptions()
    o.htkCompat = true
    o.useEnergy = false
    o.windowType = .hanning
    o.numMelBins = 128
    return o
  }
}

/// torch.finfo(torch.float32).eps, Kaldi's log floor.
let kaldiEpsilon = Double(Float.ulpOfOne)

/// Kaldi log-mel filterbank features of a mono waveform, as `torchaudio.compliance.kaldi.fbank`.
///
/// samples: [n] → [frames, numMelBins (+1 with useEnergy)].
/// Scaling: the waveform is used as given. torchaudio does not rescale, so features of samples in
/// [-1, 1] differ from Kaldi's (which reads int16 values) by a constant 2·ln(32768) in log space.
/// ImageBind passes `waveform - waveform.mean()` with samples in [-1, 1]; do the same before calling.
/// Throws `TensorError.invalidArgument` for an empty signal, a signal shorter than one frame with
/// `snipEdges`, a non-positive sample rate, a dither other than 0, or inconsistent options.
public func kaldiFbank(samples: [Float], sampleRate: Double, options: KaldiFbankOptions = .init())
  throws(TensorError) -> Tensor
{
  let op = "kaldiFbank"
  func bad(_ message: String) -> TensorError { .invalidArgument(op: op, message: message) }
  guard sampleRate > 0, sampleRate.isFinite else { throw bad("sample rate must be > 0, got \(sampleRate)") }
  guard options.dither == 0 else {
    throw bad("dither must be 0 (random dither is not reproducible), got \(options.dither)")
  }
  guard !samples.isEmpty else { throw bad("the signal is empty") }
  guard samples.allSatisfy({ $0.isFinite }) else { throw bad("the signal holds NaN or infinite samples") }
  let windowSize = Int(sampleRate * options.frameLength * 0.001)
  let windowShift = Int(sampleRate * options.frameShift * 0.001)
  guard windowSize >= 2 else { throw bad("frame length gives \(windowSize) samples; need ≥ 2") }
  guard windowShift >= 1 else { throw bad("frame shift gives \(windowShift) samples; need ≥ 1") }
  guard (0...1).contains(options.preemphasisCoefficient) else {
    throw bad("preemphasis coefficient must be in [0, 1], got \(options.preemphasisCoefficient)")
  }
  guard options.numMelBins >= 1 else { throw bad("numMelBins must be ≥ 1, got \(options.numMelBins)") }
  let padded = options.roundToPowerOfTwo ? nextPowerOfTwo(windowSize) : windowSize
  guard padded % 2 == 0 else {
    throw bad("the FFT length \(padded) must be even; use roundToPowerOfTwo or an even frame length")
  }
  let n = samples.count
  let frames: Int
  if options.snipEdges {
    guard n >= windowSize else {
      throw bad("the signal has \(n) samples, shorter than one frame of \(windowSize) (snipEdges)")
    }
    frames = 1 + (n - windowSize) / windowShift
  } else {
    frames = (n + windowShift / 2) / windowShift
    // Frames read the signal reflected once at each end (torchaudio's padding); a signal too short
    // for that has no defined output there.
    let pad = windowSize / 2 - windowShift / 2
    let lastEnd = (frames - 1) * windowShift - pad + windowSize
    guard frames >= 1, pad <= n, lastEnd <= 2 * n else {
      throw bad(
        "the signal has \(n) samples, too short for centred frames of \(windowSize) (snipEdges false)")
    }
  }
  let banks = try kaldiMelBanks(
    numBins: options.numMelBins, paddedWindow: padded, sampleRate: sampleRate,
    lowFreq: options.lowFreq, highFreq: options.highFreq)
  let window = kaldiWindow(options.windowType, size: windowSize, blackman: options.blackmanCoefficient)
  let energyColumns = options.useEnergy ? 1 : 0
  let columns = options.numMelBins + energyColumns
  let melOffset = options.useEnergy && !options.htkCompat ? 1 : 0
  let energyIndex = options.htkCompat ? options.numMelBins : 0
  // Reflection used by snipEdges = false: frame i starts at i·shift − pad.
  let pad = windowSize / 2 - windowShift / 2
  func sample(_ j: Int) -> Double {
    var k = j
    if k < 0 { k = -k - 1 }
    if k >= n { k = 2 * n - 1 - k }
    return Double(samples[k])
  }
  let powerSpectrum = DoublePowerSpectrum(count: padded)
  let bins = padded / 2 + 1
  var out = [Float](repeating: 0, count: frames * columns)
  var frame = [Double](repeating: 0, count: windowSize)
  var input = [Double](repeating: 0, count: padded)
  var power = [Double](repeating: 0, count: bins)
  let logFloor = options.energyFloor > 0 ? log(options.energyFloor) : -Double.infinity
  func logEnergy(_ sum: Double) -> Double { max(log(max(sum, kaldiEpsilon)), logFloor) }
  for f in 0..<frames {
    let start = options.snipEdges ? f * windowShift : f * windowShift - pad
    for i in 0..<windowSize { frame[i] = sample(start + i) }
    if options.removeDCOffset {
      let mean = frame.reduce(0, +) / Double(windowSize)
      for i in 0..<windowSize { frame[i] -= mean }
    }
    var energy = 0.0
    if options.rawEnergy { energy = logEnergy(frame.reduce(0) { $0 + $1 * $1 }) }
    let c = options.preemphasisCoefficient
    if c != 0 {
      for i in stride(from: windowSize - 1, through: 1, by: -1) { frame[i] -= c * frame[i - 1] }
      frame[0] -= c * frame[0]
    }
    var sum = 0.0
    for i in 0..<windowSize {
      let v = frame[i] * window[i]
      sum += v * v
      input[i] = v
    }
    if !options.rawEnergy { energy = logEnergy(sum) }
    powerSpectrum(input, into: &power)
    if !options.usePower { for b in 0..<bins { power[b] = power[b].squareRoot() } }
    let row = f * columns
    for m in 0..<options.numMelBins {
      let bank = banks[m]
      var e = 0.0
      for b in bank.first..<(bank.first + bank.weights.count) { e += bank.weights[b - bank.first] * power[b] }
      out[row + melOffset + m] = Float(options.useLogFbank ? log(max(e, kaldiEpsilon)) : e)
    }
    if options.useEnergy { out[row + energyIndex] = Float(energy) }
  }
  if options.subtractMean {
    for col in 0..<columns {
      var mean = 0.0
      for f in 0..<frames { mean += Double(out[f * columns + col]) }
      mean /= Double(frames)
      for f in 0..<frames { out[f * columns + col] = Float(Double(out[f * columns + col]) - mean) }
    }
  }
  return Tensor(out, shape: [frames, columns])
}

/// The smallest power of two ≥ x.
private func nextPowerOfTwo(_ x: Int) -> Int {
  var p = 1
  while p < x { p <<= 1 }
  return p
}

/// Kaldi's frame window of `size` samples (symmetric forms, as torchaudio's `_feature_window_function`).
public func kaldiWindow(_ type: KaldiWindowType, size: Int, blackman: Double = 0.42) -> [Double] {
  let a = 2 * Double.pi / Double(size - 1)
  return (0..<size).map { i in
    let x = Double(i)
    switch type {
    case .hanning: return 0.5 - 0.5 * cos(a * x)
    case .povey: return pow(0.5 - 0.5 * cos(a * x), 0.85)
    case .hamming: return 0.54 - 0.46 * cos(a * x)
    case .rectangular: return 1
    case .blackman: return blackman - 0.5 * cos(a * x) + (0.5 - blackman) * cos(2 * a * x)
    }
  }
}

/// One triangular Kaldi mel filter: nonzero weights over FFT bins first..<first+weights.count.
public struct KaldiMelBank: Sendable, Equatable {
  public var first: Int
  public var weights: [Double]
}

/// Kaldi mel scale: 1127 ln(1 + f/700).
@inline(__always) func kaldiMel(_ hz: Double) -> Double { 1127 * log(1 + hz / 700) }

/// Kaldi's mel filterbank (torchaudio `get_mel_banks`, no VTLN): `numBins` triangles evenly spaced
/// in mel between lowFreq and highFreq, evaluated at FFT bins 0..<paddedWindow/2 (the Nyquist bin
/// has weight 0). highFreq ≤ 0 is an offset from Nyquist.
public func kaldiMelBanks(
  numBins: Int, paddedWindow: Int, sampleRate: Double, lowFreq: Double, highFreq: Double
) throws(TensorError) -> [KaldiMelBank] {
  let nyquist = 0.5 * sampleRate
  let high = highFreq <= 0 ? highFreq + nyquist : highFreq
  guard lowFreq >= 0, lowFreq < nyquist, high > 0, high <= nyquist, lowFreq < high else {
    throw .invalidArgument(
      op: "kaldiFbank",
      message: "need 0 ≤ lowFreq < highFreq ≤ Nyquist (\(nyquist)); got lowFreq \(lowFreq), highFreq \(high)")
  }
  // Like torchaudio: the band edges in Double, the weights in float32 (torch's default dtype; its
  // float64 fbank casts these float32 weights). Weights near a triangle's feet are differences of
  // nearly equal mels, so the float32 rounding is visible in log bins of narrow-band frames.
  let binWidth = Float(sampleRate / Double(paddedWindow))
  let melLow = kaldiMel(lowFreq), melHigh = kaldiMel(high)
  let delta = Float((melHigh - melLow) / Double(numBins + 1))
  let low = Float(melLow)
  let fftMel: [Float] = (0..<(paddedWindow / 2)).map {
    1127 * Float(Foundation.log(Double(1 + binWidth * Float($0) / 700)))
  }
  return (0..<numBins).map { m in
    let left = low + Float(m) * delta
    let center = low + Float(m + 1) * delta
    let right = low + Float(m + 2) * delta
    let w = fftMel.map { mel in
      Double(max(0, min((mel - left) / (center - left), (right - mel) / (right - center))))
    }
    let first = w.firstIndex { $0 > 0 } ?? 0
    let last = w.lastIndex { $0 > 0 } ?? -1
    return KaldiMelBank(first: first, weights: last >= first ? Array(w[first...last]) : [])
  }
}

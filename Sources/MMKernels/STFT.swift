import Foundation
import MMCore

/// What `stft` writes per (frame, bin).
public enum SpectrogramKind: String, Sendable, CaseIterable, Codable {
  /// (re, im) pairs: output [frames, bins, 2] — `torch.view_as_real(torch.stft(...))` transposed.
  case complex
  /// |X|: output [frames, bins].
  case magnitude
  /// |X|²: output [frames, bins] (Whisper's `stft.abs() ** 2`, torchaudio `power=2`).
  case power

  /// Floats per (frame, bin).
  public var valuesPerBin: Int { self == .complex ? 2 : 1 }
}

/// The parameters of a short-time Fourier transform, with `torch.stft` semantics and names:
/// n_fft = `fftSize`, hop_length = `hopLength`, win_length = length of the window before it is
/// centered in `fftSize` zeros, `center` with `padMode`, `normalized`, always onesided.
public struct STFTConfiguration: Sendable, Equatable {
  public let fftSize: Int
  public let hopLength: Int
  /// The analysis window, already zero-padded to `fftSize` (centered, as `torch.stft` does).
  public let window: [Float]
  /// Pad the signal by fftSize/2 at both ends so that frame t is centered on sample t·hop.
  public let center: Bool
  public let padMode: STFTPadMode
  /// Multiply by fftSize^(−1/2) (`torch.stft(normalized=True)`).
  public let normalized: Bool

  /// Onesided bins: fftSize/2 + 1.
  public var binCount: Int { fftSize / 2 + 1 }

  /// A named window. Defaults follow `torch.stft`: hop = fftSize/4, windowLength = fftSize,
  /// periodic window, center = true, reflect padding.
  ///
  /// Whisper: `STFTConfiguration(fftSize: 400, hopLength: 160)` with `.power`, then drop the last
  /// frame. torchaudio `Spectrogram`: same defaults except `hopLength = windowLength / 2`.
  public init(
    fftSize: Int, hopLength: Int? = nil, windowLength: Int? = nil,
    window: WindowFunction = .hann, periodic: Bool = true, center: Bool = true,
    padMode: STFTPadMode = .reflect, normalized: Bool = false
  ) throws(TensorError) {
    let length = windowLength ?? fftSize
    guard length >= 1 && length <= fftSize else {
      throw .invalidArgument(
        op: "stft", message: "windowLength must be in 1...\(fftSize) (fftSize), got \(length)")
    }
    try self.init(
      fftSize: fftSize, hopLength: hopLength ?? max(fftSize / 4, 1),
      windowValues: makeWindow(window, length: length, periodic: periodic), center: center,
      padMode: padMode, normalized: normalized)
  }

  /// Any window of 1...fftSize samples (a `torch.stft(window=tensor)` call).
  public init(
    fftSize: Int, hopLength: Int, windowValues: [Float], center: Bool = true,
    padMode: STFTPadMode = .reflect, normalized: Bool = false
  ) throws(TensorError) {
    guard fftSize >= 1 else {
      throw .invalidArgument(op: "stft", message: "fftSize must be ≥ 1, got \(fftSize)")
    }
    guard hopLength >= 1 else {
      throw .invalidArgument(op: "stft", message: "hopLength must be ≥ 1, got \(hopLength)")
    }
    guard windowValues.count >= 1 && windowValues.count <= fftSize else {
      throw .shapeMismatch(
        op: "stft", expected: "a window of 1...\(fftSize) samples",
        found: "\(windowValues.count) samples")
    }
    self.fftSize = fftSize
    self.hopLength = hopLength
    self.window = try centerWindow(windowValues, fftSize: fftSize)
    self.center = center
    self.padMode = padMode
    self.normalized = normalized
  }

  /// Samples before the first frame's start when centered: fftSize/2.
  public var padding: Int { center ? fftSize / 2 : 0 }

  /// Frames for a signal of `sampleCount` samples: 1 + (padded − fftSize)/hop, or a thrown error
  /// when the (padded) signal is shorter than one frame.
  public func frameCount(sampleCount: Int) throws(TensorError) -> Int {
    let padded = sampleCount + 2 * padding
    guard sampleCount >= 1 && padded >= fftSize else {
      throw .invalidArgument(
        op: "stft",
        message: "a signal of \(sampleCount) samples is shorter than one frame of \(fftSize)"
          + (center ? " after padding" : ""))
    }
    return 1 + (padded - fftSize) / hopLength
  }
}

/// Short-time Fourier transform of one signal, parallel over frames.
///
/// signal: [count] → output: [frames, binCount] (`.magnitude`, `.power`) or
/// [frames, binCount, 2] (`.complex`), frames = `configuration.frameCount(sampleCount: count)`.
/// Frame-major, the transpose of `torch.stft`'s [bins, frames]: each frame's spectrum is
/// contiguous, ready for a mel GEMM. Frame t covers padded samples t·hop ..< t·hop + fftSize.
public func stft(
  signal: UnsafePointer<Float>, count: Int, configuration: STFTConfiguration,
  kind: SpectrogramKind, output: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
) throws(TensorError) {
  let frames = try configuration.frameCount(sampleCount: count)
  let padded = try padSignal(
    signal, count: count, pad: configuration.padding, mode: configuration.padMode)
  let n = configuration.fftSize
  let bins = configuration.binCount
  let hop = configuration.hopLength
  let plan = RealFFTPlan.shared(count: n)
  let scale: Float = configuration.normalized ? 1 / Float(n).squareRoot() : 1
  let stride = bins * kind.valuesPerBin
  padded.withUnsafeBufferPointer { source in
    configuration.window.withUnsafeBufferPointer { window in
      pool.parallelRanges(frames, grain: 2) { range in
        let scratchCount = n + 2 * bins + plan.scratchCount
        withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { buffer in
          let frame = buffer.baseAddress!
          let spectrum = frame + n
          let scratch = spectrum + 2 * bins
          for t in range {
            let start = source.baseAddress! + t * hop
            for i in 0..<n { frame[i] = start[i] * window[i] }
            plan.forward(frame, spectrum, scratch: scratch)
            writeBins(spectrum, bins: bins, kind: kind, scale: scale, to: output + t * stride)
          }
        }
      }
    }
  }
}

/// `stft` on an array; returns the frame count and the values laid out as documented there.
public func stft(
  _ signal: [Float], configuration: STFTConfiguration, kind: SpectrogramKind,
  pool: ThreadPool = .shared
) throws(TensorError) -> (frames: Int, values: [Float]) {
  let frames = try configuration.frameCount(sampleCount: signal.count)
  var values = [Float](repeating: 0, count: frames * configuration.binCount * kind.valuesPerBin)
  try values.withUnsafeMutableBufferPointer { (out) throws(TensorError) in
    try signal.withUnsafeBufferPointer { (input) throws(TensorError) in
      try stft(
        signal: input.baseAddress!, count: input.count, configuration: configuration,
        kind: kind, output: out.baseAddress!, pool: pool)
    }
  }
  return (frames, values)
}

/// One frame's interleaved spectrum [bins, 2] → the requested kind.
@inline(__always)
private func writeBins(
  _ spectrum: UnsafePointer<Float>, bins: Int, kind: SpectrogramKind, scale: Float,
  to out: UnsafeMutablePointer<Float>
) {
  switch kind {
  case .complex:
    for i in 0..<2 * bins { out[i] = spectrum[i] * scale }
  case .magnitude:
    for k in 0..<bins {
      let re = spectrum[2 * k]
      let im = spectrum[2 * k + 1]
      out[k] = (re * re + im * im).squareRoot() * scale
    }
  case .power:
    let scale2 = scale * scale
    for k in 0..<bins {
      let re = spectrum[2 * k]
      let im = spectrum[2 * k + 1]
      out[k] = (re * re + im * im) * scale2
    }
  }
}

import MMCore

// MARK: - ImageBind audio clips (imagebind.data.load_and_transform_audio_data)

/// Audio could not be turned into clip spectrograms. The description names the source (a file
/// path, or `samples` for a tensor) and the problem.
public struct AudioClipError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable, Equatable {
    /// The audio file could not be read; `message` is the `AudioFileError`'s.
    case file
    /// The audio holds no frames.
    case empty
    /// A clip holds fewer samples than one filterbank window (torchaudio refuses it too).
    case tooShort
    /// The samples tensor has the wrong rank or holds NaN or infinite values.
    case samples
    /// An option is out of range.
    case options
  }

  public var source: String
  public var kind: Kind
  public var message: String

  public init(source: String, kind: Kind, message: String) {
    self.source = source
    self.kind = kind
    self.message = message
  }

  public var description: String { "\(source): \(message)" }
}

/// The parameters of ImageBind's `load_and_transform_audio_data`; the defaults are ImageBind's.
public struct AudioClipOptions: Sendable, Equatable {
  /// How pytorchvideo's `ConstantClipsPerVideoSampler` spreads clip starts over
  /// `0 … max(duration − clipDuration, 0)`.
  public enum Spacing: Sendable, Equatable {
    /// Starts at `maxStart · i / max(clips − 1, 1)`: the first clip starts at 0 and the last ends
    /// at the end. pytorchvideo since 2022-04-28, including the commit ImageBind's requirements
    /// pin (6cdc929): what ImageBind runs.
    case lastClipAtEnd
    /// Starts at `maxStart · i / clips`: pytorchvideo 0.1.5 as published on PyPI.
    case pytorchvideo015
  }

  /// Audio is resampled to this rate (Hz) before clips are cut.
  public var sampleRate = 16_000
  /// Seconds per clip (pytorchvideo's `clip_duration`).
  public var clipDuration: Double = 2
  /// Clips per file (pytorchvideo's `ConstantClipsPerVideoSampler.clips_per_video`).
  public var clipsPerVideo = 3
  /// Where the clips start; ImageBind's pinned pytorchvideo by default.
  public var spacing: Spacing = .lastClipAtEnd
  /// Filterbank frames per clip: fewer are padded with zeros, more are cut.
  public var targetLength = 204
  /// Normalization: `(fbank − mean) / std`, in float32.
  public var mean: Float = -4.268
  public var std: Float = 9.138
  /// The Kaldi filterbank of each clip (ImageBind's call; `sampleFrequency` is `sampleRate`).
  public var fbank: KaldiFbankOptions = .imageBind

  /// Mel bins per frame (`num_mel_bins`), stored in `fbank`.
  public var numMelBins: Int {
    get { fbank.numMelBins }
    set { fbank.numMelBins = newValue }
  }

  public init() {}

  /// `load_and_transform_audio_data`'s defaults: 16 kHz, 3 clips of 2 s spaced as ImageBind's
  /// pinned pytorchvideo spaces them, 128 mel bins, 204 frames, mean −4.268, std 9.138.
  public static var imageBind: AudioClipOptions { AudioClipOptions() }
}

/// ImageBind's audio preprocessing, exactly: resample every channel to `sampleRate`
/// (`torchaudio.functional.resample`), cut clips where pytorchvideo's
/// `ConstantClipsPerVideoSampler` puts them (through ImageBind's `get_clip_timepoints`), and for
/// each clip subtract its mean over all channels, take the Kaldi filterbank of channel 0 (what
/// torchaudio's `kaldi.fbank` reads of a multichannel waveform), transpose to `[mel, frames]`,
/// zero-pad or cut to `targetLength` and normalize.
///
///     let clips = try AudioClips.melSpectrograms(contentsOf: "dog.wav")  // [3, 1, 128, 204]
///
/// Mean subtraction is in place, as in ImageBind (`waveform -= waveform.mean()` on a slice that
/// shares the waveform's storage): where clips overlap, a later clip sees the samples an earlier
/// clip already shifted. Clips are therefore computed in order; `AudioClipStream` gives them one
/// at a time.
public enum AudioClips {
  /// Reads the file (all channels) and returns `[clips, 1, numMelBins, targetLength]` f32.
  public static func melSpectrograms(contentsOf path: String, options: AudioClipOptions = .imageBind)
    throws(AudioClipError) -> Tensor
  {
    var stream = try AudioClipStream(contentsOf: path, options: options)
    return try stream.all()
  }

  /// samples: `[channels, frames]` (or `[frames]`) at `sampleRate` Hz →
  /// `[clips, 1, numMelBins, targetLength]` f32.
  public static func melSpectrograms(
    samples: Tensor, sampleRate: Int, options: AudioClipOptions = .imageBind, source: String = "samples"
  ) throws(AudioClipError) -> Tensor {
    var stream = try AudioClipStream(
      samples: samples, sampleRate: sampleRate, options: options, source: source)
    return try stream.all()
  }

  /// The sample ranges `int(start · rate)..<int(end · rate)` of the clips pytorchvideo's
  /// `ConstantClipsPerVideoSampler(clipDuration, clipsPerVideo)` returns for audio of `frames`
  /// samples at `sampleRate`, as ImageBind slices them (before Python's slice clamps them to the
  /// audio, which `AudioClipStream` does).
  ///
  /// pytorchvideo computes in `fractions.Fraction` from the float duration `frames / rate`:
  /// clip i starts at `i · max(duration − clipDuration, 0) / d` (the subtraction in float; d is
  /// `max(clipsPerVideo − 1, 1)`, or `clipsPerVideo` for `.pytorchvideo015`) and ends
  /// `clipDuration` later. Here the doubles are split into integer · 2^e and the floors taken in
  /// Int128, so the ranges are identical; an input whose exact values do not fit in 127 bits (far
  /// beyond real audio) throws `.options`.
  public static func clipRanges(
    frames: Int, sampleRate: Int, clipDuration: Double, clipsPerVideo: Int,
    spacing: AudioClipOptions.Spacing = .lastClipAtEnd, source: String = "samples"
  ) throws(AudioClipError) -> [Range<Int>] {
    func bad(_ message: String) -> AudioClipError {
      AudioClipError(source: source, kind: .options, message: message)
    }
    guard frames >= 0, sampleRate > 0 else {
      throw bad("need frames ≥ 0 and a sample rate > 0, got \(frames) frames at \(sampleRate) Hz")
    }
    guard clipDuration > 0, clipDuration.isFinite else {
      throw bad("clip duration must be a positive number of seconds, got \(clipDuration)")
    }
    guard clipsPerVideo >= 1 else { throw bad("clips per video must be ≥ 1, got \(clipsPerVideo)") }
    let duration = Double(frames) / Double(sampleRate)
    let difference = duration - clipDuration
    let maxStart = difference > 0 ? difference : 0
    let (m, mExponent) = dyadic(maxStart)
    let (c, cExponent) = dyadic(clipDuration)
    let k = Int128(spacing == .lastClipAtEnd ? max(clipsPerVideo - 1, 1) : clipsPerVideo)
    let rate = Int128(sampleRate)
    let overflow = bad(
      "clip times for \(frames) frames at \(sampleRate) Hz with clips of \(clipDuration) s do not fit "
        + "exact 127-bit arithmetic")
    var ranges: [Range<Int>] = []
    for index in 0..<clipsPerVideo {
      let i = Int128(index)
      // start · rate = m·2^mExponent · i · rate / k (k: the spacing's divisor)
      guard let mi = multiplied(m, i), let startNumerator = multiplied(mi, rate),
        let start = floorScaled(startNumerator, exponent: mExponent, over: k)
      else { throw overflow }
      // end · rate = (m·i·2^mExponent + c·k·2^cExponent) · rate / k
      let low = min(mExponent, cExponent)
      guard let ck = multiplied(c, k), let a = shiftedLeft(mi, by: mExponent - low),
        let b = shiftedLeft(ck, by: cExponent - low), case (let sum, false) = a.addingReportingOverflow(b),
        let endNumerator = multiplied(sum, rate),
        let end = floorScaled(endNumerator, exponent: low, over: k),
        let startInt = Int(exactly: start), let endInt = Int(exactly: end)
      else { throw overflow }
      ranges.append(startInt..<max(startInt, endInt))
    }
    return ranges
  }
}

/// ImageBind's audio clips one at a time, in order (each clip's in-place mean subtraction
/// affects the clips after it where they overlap). All checks run in `init`, so a stream that
/// was created yields every clip.
///
///     var stream = try AudioClipStream(contentsOf: "car.wav")
///     while let clip = try stream.next() { … }  // [1, 128, 204] each
public struct AudioClipStream: Sendable {
  public let options: AudioClipOptions
  /// A file path, or what the caller named the samples; used in errors.
  public let source: String
  /// Frames after resampling to `options.sampleRate`.
  public let frameCount: Int
  /// The samples of each clip at `options.sampleRate`, clamped to the audio (Python's slicing).
  public let ranges: [Range<Int>]
  /// The index of the clip `next()` returns.
  public private(set) var nextIndex = 0
  /// The resampled channels; mean subtraction shifts them in place, as ImageBind does.
  private var channels: [[Float]]

  /// Reads every channel of the file.
  public init(contentsOf path: String, options: AudioClipOptions = .imageBind) throws(AudioClipError) {
    let audio: (samples: Tensor, sampleRate: Int)
    do { audio = try AudioFile.read(contentsOf: path) } catch {
      throw AudioClipError(source: path, kind: error.kind == .empty ? .empty : .file, message: error.message)
    }
    try self.init(samples: audio.samples, sampleRate: audio.sampleRate, options: options, source: path)
  }

  /// samples: `[channels, frames]` or `[frames]` at `sampleRate` Hz.
  public init(
    samples: Tensor, sampleRate: Int, options: AudioClipOptions = .imageBind, source: String = "samples"
  ) throws(AudioClipError) {
    func fail(_ kind: AudioClipError.Kind, _ message: String) -> AudioClipError {
      AudioClipError(source: source, kind: kind, message: message)
    }
    try Self.validate(options, source: source)
    guard samples.rank == 1 || samples.rank == 2 else {
      throw fail(
        .samples, "expected samples [channels, frames] or [frames], found \(shapeText(samples.shape))")
    }
    let channelCount = samples.rank == 2 ? samples.shape[0] : 1
    let frames = samples.shape[samples.rank - 1]
    guard channelCount >= 1, frames >= 1 else {
      throw fail(.empty, "zero-length audio (\(shapeText(samples.shape)): no frames)")
    }
    guard sampleRate > 0 else { throw fail(.samples, "sample rate must be > 0 Hz, got \(sampleRate)") }
    let values = samples.floats()
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw fail(.samples, "sample \(bad % frames) of channel \(bad / frames) is \(values[bad])")
    }
    var resampled: [[Float]] = []
    for c in 0..<channelCount {
      let channel = Array(values[(c * frames)..<((c + 1) * frames)])
      do { resampled.append(try resample(channel, from: sampleRate, to: options.sampleRate)) } catch {
        throw fail(.options, "\(error)")
      }
    }
    let count = resampled[0].count
    let ranges = try AudioClips.clipRanges(
      frames: count, sampleRate: options.sampleRate, clipDuration: options.clipDuration,
      clipsPerVideo: options.clipsPerVideo, spacing: options.spacing, source: source
    ).map { min($0.lowerBound, count)..<min($0.upperBound, count) }
    // torchaudio asserts 2 ≤ window ≤ len(waveform); a shorter clip has no filterbank frame.
    let window = Int(Double(options.sampleRate) * options.fbank.frameLength * 0.001)
    for (i, range) in ranges.enumerated() where range.count < window {
      let seconds = Double(count) / Double(options.sampleRate)
      throw fail(
        .tooShort,
        "clip \(i) holds \(range.count) samples (samples \(range.lowerBound)..<\(range.upperBound) of "
          + "\(count), \(seconds) s at \(options.sampleRate) Hz), fewer than one "
          + "\(options.fbank.frameLength) ms filterbank window of \(window) samples")
    }
    self.options = options
    self.source = source
    self.frameCount = count
    self.ranges = ranges
    self.channels = resampled
  }

  /// The number of clips.
  public var count: Int { ranges.count }

  /// The next clip, `[1, numMelBins, targetLength]` f32, or nil after the last.
  public mutating func next() throws(AudioClipError) -> Tensor? {
    guard nextIndex < ranges.count else { return nil }
    let range = ranges[nextIndex]
    nextIndex += 1
    // waveform -= waveform.mean(): the clip's mean over every channel (float32 result), subtracted
    // from the shared samples.
    var sum = 0.0
    for channel in channels { for j in range { sum += Double(channel[j]) } }
    let mean = Float(sum / Double(channels.count * range.count))
    for c in channels.indices { for j in range { channels[c][j] -= mean } }
    let features: Tensor
    do {
      features = try kaldiFbank(
        samples: Array(channels[0][range]), sampleRate: Double(options.sampleRate), options: options.fbank)
    } catch {
      throw AudioClipError(source: source, kind: .options, message: "\(error)")
    }
    // [frames, mel] → [mel, targetLength], zero-padded or cut, then (x − mean) / std in float32.
    let (frames, mel) = (features.shape[0], features.shape[1])
    let fbank = features.floats()
    let target = options.targetLength
    let (mean0, std) = (options.mean, options.std)
    var out = [Float](repeating: (0 - mean0) / std, count: mel * target)
    for m in 0..<mel {
      for t in 0..<min(frames, target) { out[m * target + t] = (fbank[t * mel + m] - mean0) / std }
    }
    return Tensor(out, shape: [1, mel, target])
  }

  /// The remaining clips stacked: `[clips, 1, numMelBins, targetLength]`.
  public mutating func all() throws(AudioClipError) -> Tensor {
    var values: [Float] = []
    var shape: [Int] = [0, 1, options.numMelBins, options.targetLength]
    while let clip = try next() {
      values += clip.floats()
      shape[0] += 1
    }
    return Tensor(values, shape: shape)
  }

  private static func validate(_ options: AudioClipOptions, source: String) throws(AudioClipError) {
    func bad(_ message: String) -> AudioClipError {
      AudioClipError(source: source, kind: .options, message: message)
    }
    guard options.sampleRate > 0 else { throw bad("sample rate must be > 0 Hz, got \(options.sampleRate)") }
    guard options.targetLength >= 1 else {
      throw bad("target length must be ≥ 1, got \(options.targetLength)")
    }
    guard options.mean.isFinite, options.std.isFinite, options.std != 0 else {
      throw bad(
        "normalization needs a finite mean and a finite, nonzero std; got \(options.mean), \(options.std)")
    }
    _ = try AudioClips.clipRanges(
      frames: 0, sampleRate: options.sampleRate, clipDuration: options.clipDuration,
      clipsPerVideo: options.clipsPerVideo, source: source)
    // The filterbank options are checked once on a silent window, so that clips cannot fail later.
    let window = Int(Double(options.sampleRate) * options.fbank.frameLength * 0.001)
    do {
      _ = try kaldiFbank(
        samples: [Float](repeating: 0, count: max(window, 1)), sampleRate: Double(options.sampleRate),
        options: options.fbank)
    } catch { throw bad("filterbank options: \(error)") }
  }
}

// MARK: - Exact dyadic arithmetic

/// x = mantissa · 2^exponent exactly, with the mantissa odd (or 0). x is finite and ≥ 0.
private func dyadic(_ x: Double) -> (mantissa: Int128, exponent: Int) {
  guard x != 0 else { return (0, 0) }
  var mantissa: UInt64 = x.isNormal ? (1 << 52) | x.significandBitPattern : x.significandBitPattern
  var exponent = x.isNormal ? Int(x.exponent) - 52 : -1074
  let zeros = mantissa.trailingZeroBitCount
  mantissa >>= UInt64(zeros)
  exponent += zeros
  return (Int128(mantissa), exponent)
}

private func multiplied(_ a: Int128, _ b: Int128) -> Int128? {
  let (product, overflow) = a.multipliedReportingOverflow(by: b)
  return overflow ? nil : product
}

/// a · 2^shift for a ≥ 0, shift ≥ 0, or nil when it does not fit.
private func shiftedLeft(_ a: Int128, by shift: Int) -> Int128? {
  if a == 0 { return 0 }
  guard shift < 127, a <= Int128.max >> shift else { return nil }
  return a << shift
}

/// floor(n · 2^exponent / k) for n ≥ 0, k ≥ 1: floor(floor(n / k) / 2^s) when the exponent is −s.
private func floorScaled(_ n: Int128, exponent: Int, over k: Int128) -> Int128? {
  if exponent >= 0 {
    guard let scaled = shiftedLeft(n, by: exponent) else { return nil }
    return scaled / k
  }
  return -exponent >= 127 ? 0 : (n / k) >> (-exponent)
}

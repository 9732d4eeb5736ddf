import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import MMWeights
import Testing

/// ImageBind's audio preprocessing against `imagebind.data.load_and_transform_audio_data` itself
/// (goldens by Scripts/goldens/imagebind_audio.py in Tests/Goldens/audio/imagebind_*.npy).
@Suite("ImageBind audio clips") struct AudioClipsTests {
  /// An ImageBind golden as a tensor; a missing file fails the test with its path.
  static func golden(_ name: String) throws -> Tensor {
    let path = AudioFiles.root.appendingPathComponent("Tests/Goldens/audio/imagebind_\(name).npy").path
    guard FileManager.default.fileExists(atPath: path) else {
      throw AudioTestFileMissing(path: path + " (run Scripts/goldens/imagebind_audio.py)")
    }
    return try NPY.read(contentsOf: path)
  }

  static let inputs: [(name: String, file: String)] = [
    ("car", "shared:car_audio.wav"), ("dog", "shared:dog_audio.wav"),
    ("speech", "speech_espeak_22050.wav"), ("tone", "tone_16k_1200ms.wav"),
    ("sweep", "sweep_24k_8bit_stereo.flac"),
  ]

  static func path(_ file: String) -> String {
    file.hasPrefix("shared:") ? AudioFiles.shared(String(file.dropFirst(7))) : AudioFiles.fixture(file)
  }

  /// pytorchvideo's clip times in `Fraction`, floored by `int(t · sr)`, for 292 cases: the five
  /// inputs, lengths one sample around `clipDuration · rate`, clip durations that are not dyadic
  /// (0.1, 1/3, 1.7), 1 to 5 clips, six sample rates, both spacings (the pytorchvideo commit
  /// ImageBind pins, and PyPI 0.1.5). Must be identical.
  @Test func clipRangesMatchPytorchvideo() throws {
    let params = try Self.golden("clip_params").scalars(Double.self)
    let expected = try Self.golden("clip_ranges").scalars(Int32.self)
    let cases = params.count / 5
    #expect(cases == 292 && expected.count == cases * 10)
    var mismatches: [String] = []
    for row in 0..<min(cases, expected.count / 10) {
      let p = params[(row * 5)..<(row * 5 + 5)].map { $0 }
      let (frames, rate, clipDuration, clips) = (Int(p[0]), Int(p[1]), p[2], Int(p[3]))
      let spacing: AudioClipOptions.Spacing = p[4] == 0 ? .lastClipAtEnd : .pytorchvideo015
      let ranges = try AudioClips.clipRanges(
        frames: frames, sampleRate: rate, clipDuration: clipDuration, clipsPerVideo: clips, spacing: spacing)
      let got = ranges.flatMap { [$0.lowerBound, $0.upperBound] }
      let want = expected[(row * 10)..<(row * 10 + 2 * clips)].map(Int.init)
      if got != want {
        mismatches.append("\(frames) frames at \(rate) Hz, \(clipDuration) s × \(clips), \(spacing)")
      }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(5))")
    // ImageBind on car_audio.wav (5 s at 16 kHz): the last clip ends at the end.
    #expect(
      try AudioClips.clipRanges(frames: 80_000, sampleRate: 16_000, clipDuration: 2, clipsPerVideo: 3)
        == [0..<32_000, 24_000..<56_000, 48_000..<80_000])
  }

  /// Tolerance: 1e-4 max abs after normalization, against ImageBind's function with its float32
  /// resample accumulation, clip mean and fbank evaluated precisely (see the script: in
  /// near-empty mel bins ImageBind's float32 rounding noise alone reaches 4e-4 on the dog
  /// recording and 2e-3 on the 8-bit sweep), on every 31st output value. Each mel row's mean over
  /// its 204 frames must be within 1e-4 of the precise run and of ImageBind run unmodified.
  /// Inputs: car (mono 44.1 kHz, 5 s), dog (stereo 44.1 kHz, 2.6 s), espeak speech (22.05 kHz,
  /// 2.08 s: the clips overlap almost entirely), a 1.2 s tone at 16 kHz (shorter than a clip:
  /// three padded clips of the whole file) and an 8-bit stereo FLAC sweep at 24 kHz.
  @Test(arguments: 0..<5) func matchesImageBind(index: Int) throws {
    let (name, file) = Self.inputs[index]
    let path = Self.path(file)
    try AudioFiles.requireFile(path)
    let output = try AudioClips.melSpectrograms(contentsOf: path)
    #expect(output.shape == [3, 1, 128, 204], "\(name)")
    guard output.shape == [3, 1, 128, 204] else { return }
    let values = output.floats()
    let expected = try Self.golden("\(name)_sub").floats()
    let got = stride(from: 0, to: values.count, by: 31).map { values[$0] }
    #expect(got.count == expected.count)
    let error = maxAbsDifference(got, expected).value
    #expect(error <= 1e-4, "\(name): \(differenceReport(got, expected))")
    let sums = try Self.golden("\(name)_rowsums").floats()  // [2, 3, 128]: precise run, float32 run
    var worst: (precise: Float, float32: Float) = (0, 0)
    for row in 0..<(3 * 128) {
      let sum = Float(values[(row * 204)..<((row + 1) * 204)].reduce(0.0) { $0 + Double($1) })
      worst.precise = max(worst.precise, abs(sum - sums[row]) / 204)
      worst.float32 = max(worst.float32, abs(sum - sums[3 * 128 + row]) / 204)
    }
    #expect(worst.precise <= 1e-4, "\(name): mel row means differ by up to \(worst.precise)")
    #expect(worst.float32 <= 1e-4, "\(name): mel row means differ from ImageBind's by \(worst.float32)")
  }

  /// Against ImageBind run unmodified (float32 throughout) on car_audio.wav: 1e-4 as well
  /// (measured 2.2e-5; the recording's noise floor keeps every mel bin well above rounding).
  @Test func carMatchesUnmodifiedImageBind() throws {
    let path = AudioFiles.shared("car_audio.wav")
    try AudioFiles.requireFile(path)
    let values = try AudioClips.melSpectrograms(contentsOf: path).floats()
    let expected = try Self.golden("car_f32_sub").floats()
    let got = stride(from: 0, to: values.count, by: 31).map { values[$0] }
    #expect(maxAbsDifference(got, expected).value <= 1e-4, "\(differenceReport(got, expected))")
  }

  /// The stream yields the batch's clips one by one; ranges are Python's clamped slices.
  @Test func streamMatchesBatchAndRanges() throws {
    let path = AudioFiles.fixture("tone_16k_1200ms.wav")
    try AudioFiles.requireFile(path)
    var stream = try AudioClipStream(contentsOf: path)
    #expect(stream.count == 3 && stream.frameCount == 19_200)
    #expect(stream.ranges == [0..<19_200, 0..<19_200, 0..<19_200], "shorter than a clip: the whole file")
    var clips: [Float] = []
    while let clip = try stream.next() {
      #expect(clip.shape == [1, 128, 204])
      clips += clip.floats()
    }
    #expect(try stream.next() == nil && stream.nextIndex == 3)
    #expect(clips == (try AudioClips.melSpectrograms(contentsOf: path).floats()))
    // 1.2 s gives 118 frames; the rest is padding, normalized zeros.
    #expect(clips[117] != clips[118] && clips[118] == (0 - Float(-4.268)) / Float(9.138))
  }

  /// Non-default options compose the same steps: one clip of a mono 8 kHz signal equals the
  /// filterbank of the mean-free clip, transposed, cut to the target length and normalized.
  @Test func customOptionsComposeTheSteps() throws {
    var options = AudioClipOptions.imageBind
    options.sampleRate = 8000
    options.clipDuration = 0.5
    options.clipsPerVideo = 1
    options.targetLength = 30
    options.numMelBins = 40
    options.mean = 1.5
    options.std = 2
    let signal = randomFloats(8000, seed: 11, low: -0.5, high: 0.5)
    let output = try AudioClips.melSpectrograms(
      samples: Tensor(signal, shape: [1, 8000]), sampleRate: 8000, options: options)
    #expect(output.shape == [1, 1, 40, 30])
    let clip = Array(signal[0..<4000])
    let mean = Float(clip.reduce(0.0) { $0 + Double($1) } / 4000)
    let fbank = try kaldiFbank(samples: clip.map { $0 - mean }, sampleRate: 8000, options: options.fbank)
    #expect(fbank.shape == [48, 40])
    let f = fbank.floats()
    let expected = (0..<40).flatMap { m in (0..<30).map { t in (f[t * 40 + m] - 1.5) / 2 } }
    #expect(output.floats() == expected)
  }

  // MARK: - Bad input

  @Test func zeroLengthAudioIsAClearError() throws {
    #expect(
      throws: AudioClipError(
        source: "samples", kind: .empty, message: "zero-length audio ([1, 0]: no frames)")
    ) {
      try AudioClips.melSpectrograms(samples: Tensor(zeros: [1, 0]), sampleRate: 16_000)
    }
    let path = AudioFiles.temporaryPath("clips-zero.wav")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(try WAVEncoder.encode(samples: Tensor(zeros: [2, 0]), sampleRate: 16_000))
      .write(to: URL(fileURLWithPath: path))
    #expect(throws: AudioClipError(source: path, kind: .empty, message: "zero-length audio (no frames)")) {
      try AudioClips.melSpectrograms(contentsOf: path)
    }
  }

  @Test func missingFileIsNamed() {
    let path = AudioFiles.temporaryPath("clips-missing.wav")
    do {
      _ = try AudioClips.melSpectrograms(contentsOf: path)
      Issue.record("a missing file was read")
    } catch {
      #expect(error.kind == .file && error.description.hasPrefix(path + ": cannot open"), "\(error)")
    }
  }

  /// Audio shorter than one 25 ms window has no filterbank frame: torchaudio asserts, we throw.
  @Test func audioShorterThanOneWindowIsRefused() {
    do {
      _ = try AudioClips.melSpectrograms(samples: Tensor(zeros: [2, 399]), sampleRate: 16_000)
      Issue.record("399 samples were accepted")
    } catch {
      #expect(error.kind == .tooShort)
      #expect(error.description.contains("clip 0 holds 399 samples") && error.description.contains("400"))
    }
    // 400 samples are one frame; three identical (padded) clips.
    let one = try? AudioClips.melSpectrograms(samples: Tensor(zeros: [400]), sampleRate: 16_000)
    #expect(one?.shape == [3, 1, 128, 204])
  }

  @Test func badSamplesAndOptions() {
    func kind(_ samples: Tensor, _ rate: Int = 16_000, _ change: (inout AudioClipOptions) -> Void = { _ in })
      -> AudioClipError.Kind?
    {
      var options = AudioClipOptions.imageBind
      change(&options)
      do {
        _ = try AudioClipStream(samples: samples, sampleRate: rate, options: options)
        return nil
      } catch { return error.kind }
    }
    let ok = Tensor(zeros: [1, 1000])
    #expect(kind(ok) == nil)
    #expect(kind(Tensor([1, .nan, 3, 4], shape: [1, 4])) == .samples)
    #expect(kind(Tensor(zeros: [1, 2, 3])) == .samples)
    #expect(kind(ok, 0) == .samples)
    #expect(kind(ok) { $0.clipsPerVideo = 0 } == .options)
    #expect(kind(ok) { $0.clipDuration = 0 } == .options)
    #expect(kind(ok) { $0.clipDuration = .infinity } == .options)
    #expect(kind(ok) { $0.std = 0 } == .options)
    #expect(kind(ok) { $0.targetLength = 0 } == .options)
    #expect(kind(ok) { $0.sampleRate = -1 } == .options)
    #expect(kind(ok) { $0.numMelBins = 0 } == .options)
    #expect(kind(ok) { $0.fbank.dither = 1 } == .options)
  }
}

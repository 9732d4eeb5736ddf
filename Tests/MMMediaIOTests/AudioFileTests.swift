import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import Testing

/// Paths for the AudioFile tests: the shared recordings (package root/../shared/testdata), the
/// fixtures made with sox/ffmpeg (Tests/Fixtures/audio) and the goldens written by
/// Scripts/goldens/audiofile.py (Tests/Goldens/audiofile).
enum AudioFiles {
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url = url.deletingLastPathComponent()
    }
    return url
  }()

  static func shared(_ name: String) -> String {
    root.deletingLastPathComponent().appendingPathComponent("shared/testdata/\(name)").standardized.path
  }
  static func fixture(_ name: String) -> String {
    root.appendingPathComponent("Tests/Fixtures/audio/\(name)").path
  }

  /// The golden of Scripts/goldens/audiofile.py; a missing file fails with its path.
  static func golden(_ name: String) throws -> [String: Any] {
    let path = root.appendingPathComponent("Tests/Goldens/audiofile/\(name).json").path
    guard let data = FileManager.default.contents(atPath: path),
      let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw AudioTestFileMissing(path: path) }
    return object
  }

  static func requireFile(_ path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else { throw AudioTestFileMissing(path: path) }
  }

  static func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory
      .appendingPathComponent("mmgraph-audiofile-\(getpid())-\(name)").path
  }
}

struct AudioTestFileMissing: Error, CustomStringConvertible {
  var path: String
  var description: String { "test file missing: \(path)" }
}

/// The error `read` throws, or nil when it succeeds.
private func readError(_ path: String) -> AudioFileError? {
  do {
    _ = try AudioFile.read(contentsOf: path)
    return nil
  } catch { return error }
}

@Suite("AudioFile") struct AudioFileTests {
  /// (file, golden, tolerance): lossless decodes match exactly up to float rounding; Vorbis
  /// is compared with sox's decode through the same libvorbis.
  static let goldenCases: [(String, String, Float)] = [
    ("shared:car_audio.wav", "car_audio", 0),
    ("shared:dog_audio.wav", "dog_audio", 0),
    ("tone_3ch_s24.wav", "tone_3ch_s24", 0),
    ("tone_u8.wav", "tone_u8", 0),
    ("tone_s32.wav", "tone_s32", 1e-7),
    ("tone_stereo.flac", "tone_stereo", 0),
    ("ff_sine.flac", "ff_sine", 0),
    ("tone_mono.ogg", "tone_mono", 1e-4),
  ]

  @Test(arguments: goldenCases)
  func matchesGolden(file: String, golden: String, tolerance: Float) throws {
    let path =
      file.hasPrefix("shared:") ? AudioFiles.shared(String(file.dropFirst(7))) : AudioFiles.fixture(file)
    try AudioFiles.requireFile(path)
    let expected = try AudioFiles.golden(golden)
    let (samples, rate) = try AudioFile.read(contentsOf: path)
    let channels = (expected["channels"] as? Int) ?? -1
    let frames = (expected["frames"] as? Int) ?? -1
    #expect(samples.shape == [channels, frames], "\(file)")
    #expect(rate == (expected["sampleRate"] as? Int), "\(file)")
    guard samples.shape == [channels, frames] else { return }
    let values = samples.floats()
    let heads = (expected["head"] as? [[NSNumber]]) ?? []
    let sums = (expected["sum"] as? [NSNumber]) ?? []
    let sumAbs = (expected["sumAbs"] as? [NSNumber]) ?? []
    let sumSquares = (expected["sumSquares"] as? [NSNumber]) ?? []
    #expect(heads.count == channels && sums.count == channels)
    for c in 0..<min(channels, heads.count, sums.count, sumAbs.count, sumSquares.count) {
      let row = Array(values[(c * frames)..<((c + 1) * frames)])
      let head = heads[c].map { $0.floatValue }
      let got = Array(row.prefix(head.count))
      #expect(
        maxAbsDifference(got, head).value <= tolerance,
        "\(file) channel \(c): \(differenceReport(got, head))")
      let (s, a, q) = row.reduce(into: (0.0, 0.0, 0.0)) {
        $0.0 += Double($1)
        $0.1 += abs(Double($1))
        $0.2 += Double($1) * Double($1)
      }
      // Sums over up to 220 500 samples: allow the per-sample tolerance times the count.
      let slack = Double(tolerance) * Double(frames) + 1e-6
      #expect(abs(s - sums[c].doubleValue) <= slack, "\(file) channel \(c) sum \(s) vs \(sums[c])")
      #expect(abs(a - sumAbs[c].doubleValue) <= slack, "\(file) channel \(c) sum|x| \(a) vs \(sumAbs[c])")
      #expect(
        abs(q - sumSquares[c].doubleValue) <= slack, "\(file) channel \(c) sum x² \(q) vs \(sumSquares[c])")
    }
  }

  @Test func sharedRecordingsHaveExpectedLayout() throws {
    let car = AudioFiles.shared("car_audio.wav")
    let dog = AudioFiles.shared("dog_audio.wav")
    try AudioFiles.requireFile(car)
    try AudioFiles.requireFile(dog)
    let (carSamples, carRate) = try AudioFile.read(contentsOf: car)
    #expect(carSamples.shape == [1, 220_500] && carRate == 44_100)
    let (dogSamples, dogRate) = try AudioFile.read(contentsOf: dog)
    #expect(dogSamples.shape[0] == 2 && dogRate == 44_100)
    #expect(abs(Double(dogSamples.shape[1]) / 44_100 - 2.6) < 0.02, "dog_audio.wav is about 2.6 s")
  }

  @Test func mixDownIsTheMeanOfChannels() throws {
    let stereo = Tensor([1, 0.5, -1, 3, 0.5, 0], shape: [2, 3])
    let mono = try AudioFile.mixDown(stereo)
    #expect(mono.shape == [1, 3])
    #expect(mono.floats() == [2, 0.5, -0.5])
    let one = Tensor([0.25, -0.75], shape: [1, 2])
    #expect(try AudioFile.mixDown(one).floats() == [0.25, -0.75])
    #expect(throws: TensorError.self) { try AudioFile.mixDown(Tensor([1, 2], shape: [2])) }
  }

  @Test(arguments: [WAVEncoder.SampleFormat.pcm16, .float32], [1, 2, 5])
  func wavEncoderRoundTrip(format: WAVEncoder.SampleFormat, channels: Int) throws {
    let frames = 997
    var rng = SeededRandom(seed: UInt64(channels * 31 + (format == .pcm16 ? 1 : 2)))
    let values = (0..<(channels * frames)).map { _ in Float(Double(rng.nextFloat()) * 2.2 - 1.1) }
    let bytes = try WAVEncoder.encode(
      samples: Tensor(values, shape: [channels, frames]), sampleRate: 22_050, format: format)
    let path = AudioFiles.temporaryPath("roundtrip-\(channels)-\(format).wav")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let (samples, rate) = try AudioFile.read(contentsOf: path)
    #expect(samples.shape == [channels, frames] && rate == 22_050)
    let expected: [Float] =
      format == .float32
      ? values : values.map { Float(Int16((min(max($0, -1), 1) * 32767).rounded())) / 32768 }
    #expect(samples.floats() == expected, "\(differenceReport(samples.floats(), expected))")
  }

  // MARK: - Bad input

  @Test func missingFileAndDirectory() {
    let missing = AudioFiles.temporaryPath("does-not-exist.wav")
    let error = readError(missing)
    #expect(error?.kind == .io)
    #expect(
      error?.description.contains(missing) == true && error?.description.contains("No such file") == true)
    let dir = AudioFiles.root.appendingPathComponent("Tests/Fixtures/audio").path
    #expect(readError(dir)?.kind == .io)
    #expect(readError(dir)?.description.contains("directory") == true)
  }

  @Test func emptyRandomAndTruncatedFiles() throws {
    let empty = AudioFiles.temporaryPath("empty.wav")
    let random = AudioFiles.temporaryPath("random.wav")
    let truncated = AudioFiles.temporaryPath("truncated.wav")
    let noFrames = AudioFiles.temporaryPath("noframes.wav")
    defer {
      for p in [empty, random, truncated, noFrames] { try? FileManager.default.removeItem(atPath: p) }
    }
    try Data().write(to: URL(fileURLWithPath: empty))
    var rng = SeededRandom(seed: 7)
    try Data((0..<4096).map { _ in UInt8(Double(rng.nextFloat()) * 256) }).write(
      to: URL(fileURLWithPath: random))
    let wav = try WAVEncoder.encode(samples: Tensor(zeros: [2, 1000]), sampleRate: 16_000)
    try Data(wav.prefix(44 + 1500)).write(to: URL(fileURLWithPath: truncated))
    try Data(wav.prefix(44)).write(to: URL(fileURLWithPath: noFrames))

    #expect(readError(empty)?.kind == .empty)
    let randomError = readError(random)
    #expect(randomError?.kind == .format, "\(String(describing: randomError))")
    #expect(randomError?.description.contains(random) == true)
    let truncatedError = readError(truncated)
    #expect(truncatedError?.kind == .truncated, "\(String(describing: truncatedError))")
    #expect(truncatedError?.description.contains("4000") == true)
    let noFramesError = readError(noFrames)
    #expect(
      noFramesError?.kind == .truncated || noFramesError?.kind == .empty,
      "\(String(describing: noFramesError))")
  }

  @Test func zeroLengthAudio() throws {
    let path = AudioFiles.temporaryPath("zero-frames.wav")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let wav = try WAVEncoder.encode(samples: Tensor(zeros: [2, 0]), sampleRate: 16_000)
    try Data(wav).write(to: URL(fileURLWithPath: path))
    let error = readError(path)
    #expect(error?.kind == .empty, "\(String(describing: error))")
    #expect(error?.description == "\(path): zero-length audio (no frames)")
  }

  @Test func truncatedFLACIsReported() throws {
    let source = AudioFiles.fixture("tone_stereo.flac")
    try AudioFiles.requireFile(source)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
    let path = AudioFiles.temporaryPath("truncated.flac")
    defer { try? FileManager.default.removeItem(atPath: path) }
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
    let error = readError(path)
    #expect(error?.kind == .truncated, "\(String(describing: error))")
  }

  /// Seeded truncations and byte mutations of a small WAV, FLAC and OGG: every read either
  /// succeeds with a sane shape or throws an AudioFileError; none crashes.
  @Test(arguments: ["wav", "tone_stereo.flac", "tone_mono.ogg"])
  func fuzzNeverCrashes(source: String) throws {
    let original: [UInt8]
    if source == "wav" {
      var rng = SeededRandom(seed: 3)
      let values = (0..<600).map { _ in Float(Double(rng.nextFloat()) * 2 - 1) }
      original = try WAVEncoder.encode(samples: Tensor(values, shape: [2, 300]), sampleRate: 8000)
    } else {
      try AudioFiles.requireFile(AudioFiles.fixture(source))
      original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: AudioFiles.fixture(source))))
    }
    let path = AudioFiles.temporaryPath("fuzz-\(source)")
    defer { try? FileManager.default.removeItem(atPath: path) }
    var rng = SeededRandom(seed: 12_345)
    var (succeeded, failed) = (0, 0)
    for trial in 0..<150 {
      var bytes = original
      if trial % 2 == 0 {
        bytes = Array(bytes.prefix(Int(Double(rng.nextFloat()) * Double(bytes.count))))
      }
      let mutations = trial % 3 == 0 ? 0 : 1 + Int(Double(rng.nextFloat()) * 8)
      for _ in 0..<mutations where !bytes.isEmpty {
        // Bias towards the header, where sizes and formats live.
        let limit = Double(rng.nextFloat()) < 0.7 ? min(bytes.count, 64) : bytes.count
        bytes[Int(Double(rng.nextFloat()) * Double(limit))] = UInt8(Double(rng.nextFloat()) * 256)
      }
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      do {
        let (samples, rate) = try AudioFile.read(contentsOf: path)
        #expect(samples.rank == 2 && samples.shape[0] >= 1 && samples.shape[1] >= 1 && rate > 0)
        #expect(samples.floats().allSatisfy { $0.isFinite })
        succeeded += 1
      } catch {
        #expect(error.description.hasPrefix(path), "\(error)")
        failed += 1
      }
    }
    #expect(succeeded + failed == 150)
    #expect(failed > 0, "mutations of \(source) never produced an error")
  }
}

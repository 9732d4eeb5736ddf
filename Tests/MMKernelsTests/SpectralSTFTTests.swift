import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

// MARK: - Goldens (Tests/Goldens/spectral, written by Scripts/goldens/spectral.py)

struct MissingSpectralGolden: Error, CustomStringConvertible {
  let path: String
  var description: String { "missing golden file \(path); run Scripts/goldens/spectral.py" }
}

/// Tests/Goldens/spectral/<name>.json under the package root, decoded (snake_case keys).
func loadSpectralGolden<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
  var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
    let parent = url.deletingLastPathComponent()
    if parent.path == url.path { break }
    url = parent
  }
  let file = url.appendingPathComponent("Tests/Goldens/spectral/\(name).json")
  guard let data = FileManager.default.contents(atPath: file.path) else {
    throw MissingSpectralGolden(path: file.path)
  }
  let decoder = JSONDecoder()
  decoder.keyDecodingStrategy = .convertFromSnakeCase
  return try decoder.decode(T.self, from: data)
}

/// One `torch.stft` case: the signal, the options and the expected [frames, bins(, 2)] values.
struct STFTGolden: Decodable {
  let signal: [Float]
  let nFft: Int
  let hopLength: Int
  let winLength: Int
  let window: String
  let periodic: Bool
  let center: Bool
  let padMode: String
  let normalized: Bool
  let output: String
  let windowValues: [Float]
  let frames: Int
  let bins: Int
  let values: [Float]
}

/// max |Δ| ≤ tolerance · max |expected|: spectra span many orders of magnitude, so errors are
/// judged against the largest value (the signal's energy), as FFT error bounds are.
func relativeToPeak(_ got: [Float], _ want: [Float], tolerance: Float) -> (Bool, String) {
  let peak = want.map { abs($0) }.max() ?? 0
  let worst = maxAbsDifference(got, want).value
  return (worst <= tolerance * peak, "\(differenceReport(got, want)), peak \(peak), tolerance \(tolerance)")
}

@Suite("Spectral: STFT")
struct SpectralSTFTTests {
  @Test(arguments: [
    "stft_whisper", "stft_winlength", "stft_nocenter", "stft_hamming", "stft_povey",
    "stft_blackman_odd",
  ])
  func matchesTorchSTFT(name: String) throws {
    let golden = try loadSpectralGolden(name, as: STFTGolden.self)
    let function = try #require(WindowFunction(rawValue: golden.window))
    let window = makeWindow(function, length: golden.winLength, periodic: golden.periodic)
    #expect(
      allClose(window, golden.windowValues, atol: 1e-6, rtol: 0),
      "\(name) window: \(differenceReport(window, golden.windowValues))")
    let configuration = try STFTConfiguration(
      fftSize: golden.nFft, hopLength: golden.hopLength, windowLength: golden.winLength,
      window: function, periodic: golden.periodic, center: golden.center,
      padMode: try #require(STFTPadMode(rawValue: golden.padMode)), normalized: golden.normalized)
    let kind = try #require(SpectrogramKind(rawValue: golden.output))
    let (frames, values) = try stft(golden.signal, configuration: configuration, kind: kind)
    #expect(frames == golden.frames)
    #expect(configuration.binCount == golden.bins)
    #expect(values.count == golden.values.count)
    // f32 FFTs on both sides: ≤ 4e-7 of the peak observed; power doubles the relative error.
    let (ok, report) = relativeToPeak(values, golden.values, tolerance: kind == .power ? 4e-6 : 2e-6)
    #expect(ok, "\(name): \(report)")
  }

  /// Fast STFT vs the definition over a table of configurations (odd, prime, tiny sizes).
  @Test(arguments: [
    // fftSize, hop, windowLength, window, periodic, center, padMode, kind, samples
    (1, 1, 1, WindowFunction.rectangular, true, false, STFTPadMode.constant, SpectrogramKind.complex, 5),
    (2, 1, 2, .hann, false, true, .reflect, .power, 3),
    (7, 3, 5, .hamming, true, true, .constant, .complex, 20),
    (16, 4, 16, .hann, true, true, .reflect, .magnitude, 100),
    (97, 31, 64, .blackman, false, false, .reflect, .complex, 400),
    (400, 160, 400, .hann, true, true, .reflect, .power, 1000),
    (512, 160, 400, .povey, false, false, .constant, .power, 1200),
  ])
  func matchesReference(
    n: Int, hop: Int, windowLength: Int, window: WindowFunction, periodic: Bool, center: Bool,
    padMode: STFTPadMode, kind: SpectrogramKind, samples: Int
  ) throws {
    let configuration = try STFTConfiguration(
      fftSize: n, hopLength: hop, windowLength: windowLength, window: window, periodic: periodic,
      center: center, padMode: padMode, normalized: n == 7)
    let signal = randomFloats(samples, seed: UInt64(n * 1000 + samples))
    let fast = try stft(signal, configuration: configuration, kind: kind)
    let slow = try Reference.stft(signal, configuration: configuration, kind: kind)
    #expect(fast.frames == slow.frames)
    let (ok, report) = relativeToPeak(fast.values, slow.values, tolerance: kind == .power ? 4e-6 : 2e-6)
    #expect(ok, "n=\(n) hop=\(hop) \(kind): \(report)")
  }

  @Test func frameCountFollowsTorch() throws {
    let centered = try STFTConfiguration(fftSize: 400, hopLength: 160)
    #expect(try centered.frameCount(sampleCount: 480_000) == 3001)  // Whisper's 30 s window
    let plain = try STFTConfiguration(fftSize: 256, hopLength: 100, center: false)
    #expect(try plain.frameCount(sampleCount: 1200) == 10)
    #expect(try plain.frameCount(sampleCount: 256) == 1)
    #expect(centered.hopLength == 160 && centered.window.count == 400)
    #expect(try STFTConfiguration(fftSize: 512).hopLength == 128)
  }

  @Test func badConfigurationsThrow() throws {
    #expect(throws: TensorError.self) { try STFTConfiguration(fftSize: 0) }
    #expect(throws: TensorError.self) { try STFTConfiguration(fftSize: 400, hopLength: 0) }
    #expect(throws: TensorError.self) { try STFTConfiguration(fftSize: 400, windowLength: 401) }
    #expect(throws: TensorError.self) {
      try STFTConfiguration(fftSize: 4, hopLength: 1, windowValues: [1, 1, 1, 1, 1])
    }
    let reflect = try STFTConfiguration(fftSize: 400, hopLength: 160)
    #expect(throws: TensorError.self) {
      try stft([Float](repeating: 0, count: 200), configuration: reflect, kind: .power)
    }
    #expect(throws: TensorError.self) { try stft([], configuration: reflect, kind: .power) }
    let plain = try STFTConfiguration(fftSize: 400, hopLength: 160, center: false)
    #expect(throws: TensorError.self) {
      try stft([Float](repeating: 0, count: 399), configuration: plain, kind: .power)
    }
    let constant = try STFTConfiguration(fftSize: 400, hopLength: 160, padMode: .constant)
    #expect(try stft([Float](repeating: 1, count: 10), configuration: constant, kind: .power).frames == 1)
  }

  @Test func windowsAtTheEdges() throws {
    #expect(makeWindow(.hann, length: 0).isEmpty)
    #expect(makeWindow(.hann, length: 1, periodic: false) == [1])
    let symmetric = makeWindow(.hann, length: 5, periodic: false)
    #expect(allClose(symmetric, [0, 0.5, 1, 0.5, 0], atol: 1e-7, rtol: 0), "\(symmetric)")
    let periodic = makeWindow(.hann, length: 4)
    #expect(allClose(periodic, [0, 0.5, 1, 0.5], atol: 1e-7, rtol: 0), "\(periodic)")
    #expect(try centerWindow([1, 2, 3], fftSize: 6) == [0, 1, 2, 3, 0, 0])
    #expect(throws: TensorError.self) { try centerWindow([1, 2, 3], fftSize: 2) }
  }
}

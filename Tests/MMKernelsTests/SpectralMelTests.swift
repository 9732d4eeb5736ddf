import Foundation
import MMCore
import MMKernels
import MMTestSupport
import Testing

/// `torchaudio.functional.melscale_fbanks` output, [n_freqs, n_mels].
struct TorchaudioMelGolden: Decodable {
  let nFreqs: Int
  let fMin: Double
  let fMax: Double
  let nMels: Int
  let sampleRate: Int
  let norm: String
  let melScale: String
  let shape: [Int]
  let values: [Float]
}

/// `librosa.filters.mel` output, [n_mels, 1 + n_fft/2].
struct LibrosaMelGolden: Decodable {
  let sr: Double
  let nFft: Int
  let nMels: Int
  let fmin: Double
  let fmax: Double?
  let htk: Bool
  let norm: String
  let shape: [Int]
  let values: [Float]
}

/// Filter weights, |Δ| ≤ tolerance·peak (peaks: 1 without norm, ~0.03 with slaney norm).
/// torchaudio computes in f32 (observed 3e-6), librosa in f64 like us (observed 1e-7).
func melClose(_ got: [Float], _ want: [Float], tolerance: Float) -> (Bool, String) {
  relativeToPeak(got, want, tolerance: tolerance)
}

@Suite("Spectral: mel filterbanks")
struct SpectralMelTests {
  @Test(arguments: [
    "mel_torchaudio_htk", "mel_torchaudio_slaney_slaney", "mel_torchaudio_htk_slaney",
    "mel_torchaudio_slaney_none",
  ])
  func matchesTorchaudio(name: String) throws {
    let golden = try loadSpectralGolden(name, as: TorchaudioMelGolden.self)
    let fb = try melFilterbank(
      frequencyCount: golden.nFreqs, sampleRate: Double(golden.sampleRate), melCount: golden.nMels,
      minFrequency: golden.fMin, maxFrequency: golden.fMax,
      scale: try #require(MelScale(rawValue: golden.melScale)),
      norm: try #require(MelNorm(rawValue: golden.norm)), layout: .frequenciesByMels)
    #expect(golden.shape == [golden.nFreqs, golden.nMels])
    let (ok, report) = melClose(fb, golden.values, tolerance: 1e-5)
    #expect(ok, "\(name): \(report)")
  }

  @Test(arguments: ["mel_librosa_whisper80", "mel_librosa_whisper128", "mel_librosa_htk"])
  func matchesLibrosa(name: String) throws {
    let golden = try loadSpectralGolden(name, as: LibrosaMelGolden.self)
    let fb = try librosaMelFilterbank(
      sampleRate: golden.sr, fftSize: golden.nFft, melCount: golden.nMels,
      minFrequency: golden.fmin, maxFrequency: golden.fmax, htk: golden.htk,
      norm: try #require(MelNorm(rawValue: golden.norm)))
    #expect(golden.shape == [golden.nMels, 1 + golden.nFft / 2])
    let (ok, report) = melClose(fb, golden.values, tolerance: 1e-6)
    #expect(ok, "\(name): \(report)")
  }

  @Test(arguments: MelScale.allCases)
  func layoutsAreTransposes(scale: MelScale) throws {
    let (freqs, mels) = (65, 12)
    let a = try melFilterbank(
      frequencyCount: freqs, sampleRate: 8000, melCount: mels, scale: scale,
      layout: .melsByFrequencies)
    let b = try melFilterbank(
      frequencyCount: freqs, sampleRate: 8000, melCount: mels, scale: scale,
      layout: .frequenciesByMels)
    var transposed = [Float](repeating: 0, count: a.count)
    for m in 0..<mels { for f in 0..<freqs { transposed[f * mels + m] = a[m * freqs + f] } }
    #expect(transposed == b)
  }

  @Test(arguments: MelScale.allCases)
  func scaleRoundTrips(scale: MelScale) {
    for hz in [0.0, 20, 440, 999.9, 1000, 1000.1, 4000, 8000, 22050] {
      #expect(abs(scale.hz(fromMel: scale.mel(fromHz: hz)) - hz) <= 1e-9 * max(1, hz))
    }
  }

  /// [frames, freqs] power through a [mels, freqs] filterbank, both output layouts, vs loops.
  @Test(arguments: [(1, 1, 1), (3, 5, 2), (13, 201, 80), (37, 257, 64), (100, 201, 128)])
  func applyMatchesReference(frames: Int, freqs: Int, mels: Int) throws {
    let power = randomFloats(frames * freqs, seed: UInt64(frames), low: 0, high: 4)
    let fb = try melFilterbank(frequencyCount: freqs, sampleRate: 16000, melCount: mels)
    for layout in MelSpectrogramLayout.allCases {
      var out = [Float](repeating: .nan, count: frames * mels)
      applyMelFilterbank(
        power: power, frames: frames, frequencyCount: freqs, filterbank: fb, melCount: mels,
        output: &out, layout: layout)
      let want = Reference.applyMelFilterbank(
        power: power, frames: frames, frequencyCount: freqs, filterbank: fb, melCount: mels,
        layout: layout)
      #expect(allClose(out, want, atol: 1e-6, rtol: 1e-5), "\(layout): \(differenceReport(out, want))")
    }
  }

  @Test func badArgumentsThrow() {
    #expect(throws: TensorError.self) {
      try melFilterbank(frequencyCount: 201, sampleRate: 16000, melCount: 0)
    }
    #expect(throws: TensorError.self) {
      try melFilterbank(frequencyCount: 0, sampleRate: 16000, melCount: 80)
    }
    #expect(throws: TensorError.self) {
      try melFilterbank(
        frequencyCount: 201, sampleRate: 16000, melCount: 80, minFrequency: 9000, maxFrequency: 8000)
    }
    #expect(throws: TensorError.self) { try melFilterbank(frequencyCount: 201, sampleRate: 0, melCount: 80) }
  }
}

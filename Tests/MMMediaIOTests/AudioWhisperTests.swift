import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import Testing

@Suite("Whisper log-mel") struct WhisperLogMelTests {
  /// Against transformers' `_torch_extract_fbank_features` run in float64 (Scripts/goldens/audio.py):
  /// max abs error ≤ 1e-4 (values are log10 / 4, so float32 STFT rounding is small here).
  @Test(arguments: [
    ("synth16k_input", "synth16k_whisper80", 80), ("quiet16k_input", "quiet16k_whisper128", 128),
  ])
  func matchesReference(input: String, golden: String, mels: Int) throws {
    let samples = try audioGolden(input).values
    let expected = try audioGolden(golden)
    let got = try whisperLogMel(samples16k: samples, melCount: mels)
    #expect(got.shape == expected.shape && got.shape == [mels, samples.count / 160])
    guard got.shape == expected.shape else { return }
    let values = got.floats()
    #expect(
      maxAbsDifference(values, expected.values).value <= 1e-4, "\(differenceReport(values, expected.values))")
  }

  @Test func rejectsBadArguments() {
    #expect(throws: TensorError.self) { try whisperLogMel(samples16k: []) }
    #expect(throws: TensorError.self) { try whisperLogMel(samples16k: [Float](repeating: 0, count: 200)) }
    #expect(throws: TensorError.self) {
      try whisperLogMel(samples16k: [Float](repeating: 0, count: 1000), melCount: 64)
    }
    #expect(throws: TensorError.self) { try whisperLogMel(samples16k: [Float](repeating: .nan, count: 1000)) }
    // Silence: every value is log10(1e-10) clamped, (−10 + 4) / 4.
    let silent = try? whisperLogMel(samples16k: [Float](repeating: 0, count: 1600))
    #expect(silent?.shape == [80, 10])
    #expect(silent?.floats().allSatisfy { $0 == -1.5 } == true)
  }
}

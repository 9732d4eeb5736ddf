import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import MMWeights
import Testing

// MARK: - Goldens (Tests/Goldens/audio, written by Scripts/goldens/audio.py)

/// Reads Tests/Goldens/audio/<name>.npy as floats and its shape; a missing file fails the test.
func audioGolden(_ name: String) throws -> (values: [Float], shape: [Int]) {
  var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
    let parent = url.deletingLastPathComponent()
    guard parent.path != url.path else { throw AudioGoldenMissing(name: name) }
    url = parent
  }
  let path = url.appendingPathComponent("Tests/Goldens/audio/\(name).npy").path
  guard FileManager.default.fileExists(atPath: path) else { throw AudioGoldenMissing(name: path) }
  let tensor = try NPY.read(contentsOf: path)
  return (tensor.floats(), tensor.shape)
}

private struct AudioGoldenMissing: Error, CustomStringConvertible {
  var name: String
  var description: String { "golden file missing: \(name) (run Scripts/goldens/audio.py)" }
}

@Suite("Kaldi fbank") struct KaldiFbankTests {
  /// The option sets of Scripts/goldens/audio.py, by golden name.
  static let cases: [(String, KaldiFbankOptions)] = {
    var imageBind = KaldiFbankOptions.imageBind
    imageBind.frameLength = 25
    var energy = KaldiFbankOptions()
    energy.useEnergy = true
    energy.windowType = .hamming
    energy.snipEdges = false
    energy.numMelBins = 40
    energy.lowFreq = 50
    energy.highFreq = -400
    var htk = KaldiFbankOptions()
    htk.useEnergy = true
    htk.htkCompat = true
    htk.rawEnergy = false
    htk.energyFloor = 1
    htk.windowType = .blackman
    htk.numMelBins = 23
    var rect = KaldiFbankOptions()
    rect.useLogFbank = false
    rect.usePower = false
    rect.windowType = .rectangular
    rect.roundToPowerOfTwo = false
    rect.numMelBins = 30
    rect.removeDCOffset = false
    rect.preemphasisCoefficient = 0
    var mean = KaldiFbankOptions()
    mean.subtractMean = true
    mean.snipEdges = false
    mean.frameLength = 20
    mean.frameShift = 7
    mean.numMelBins = 64
    return [
      ("default", KaldiFbankOptions()), ("imagebind", imageBind), ("energy_hamming_nosnip", energy),
      ("energy_htk_raw_floor", htk), ("power_nolog_rect", rect), ("subtract_mean_nosnip", mean),
    ]
  }()

  /// Max abs error against torchaudio: 1e-4 on log features; 1e-5 relative on linear ones.
  @Test(arguments: 0..<6) func matchesTorchaudio(index: Int) throws {
    let (name, options) = Self.cases[index]
    let input = try audioGolden("synth16k_input").values
    let expected = try audioGolden("synth16k_fbank_\(name)")
    let got = try kaldiFbank(samples: input, sampleRate: 16000, options: options)
    #expect(got.shape == expected.shape, "\(name): shape \(got.shape) vs \(expected.shape)")
    guard got.shape == expected.shape else { return }
    let values = got.floats()
    if options.useLogFbank {
      let err = maxAbsDifference(values, expected.values).value
      #expect(err <= 1e-4, "\(name): \(differenceReport(values, expected.values))")
    } else {
      let peak = expected.values.map(abs).max() ?? 1
      let err = maxAbsDifference(values, expected.values).value / peak
      #expect(err <= 1e-5, "\(name): relative \(err); \(differenceReport(values, expected.values))")
    }
  }

  /// ImageBind's call on a real recording (1 s of dog_audio.wav at 44.1 kHz, mean removed).
  @Test func imageBindOnRecording() throws {
    let input = try audioGolden("dog44k_input").values
    let expected = try audioGolden("dog44k_fbank_imagebind")
    let got = try kaldiFbank(samples: input, sampleRate: 44100, options: .imageBind)
    #expect(got.shape == expected.shape && got.shape == [98, 128])
    let values = got.floats()
    // 2e-4, not 1e-4: torchaudio builds its mel weights in float32 with torch's vectorized log,
    // which is 1–2 ulp off a correctly rounded log; at 44.1 kHz (2048-point FFT, mels near 2800)
    // that moves single weights by ~1e-5 and a log bin by up to 1.3e-4 (measured).
    #expect(
      maxAbsDifference(values, expected.values).value <= 2e-4, "\(differenceReport(values, expected.values))")
  }

  /// Against torchaudio's own float32 run of the ImageBind call: its float32 FFT and log move quiet
  /// bins by up to ~1.3e-3 from its float64 run, so the bound here is 3e-3.
  @Test(arguments: [("synth16k", 16000.0), ("dog44k", 44100.0)])
  func imageBindFloat32Run(prefix: String, rate: Double) throws {
    let input = try audioGolden("\(prefix)_input").values
    let expected = try audioGolden("\(prefix)_fbank_imagebind_f32")
    let got = try kaldiFbank(samples: input, sampleRate: rate, options: .imageBind)
    #expect(got.shape == expected.shape)
    let values = got.floats()
    #expect(
      maxAbsDifference(values, expected.values).value <= 3e-3, "\(differenceReport(values, expected.values))")
  }

  /// Mel filters sum to a triangle of height 1 and the Nyquist bin is never used.
  @Test func melBanksAreTriangles() throws {
    let banks = try kaldiMelBanks(numBins: 23, paddedWindow: 512, sampleRate: 16000, lowFreq: 20, highFreq: 0)
    #expect(banks.count == 23)
    for bank in banks {
      #expect(bank.first + bank.weights.count <= 256)
      #expect((bank.weights.max() ?? 0) <= 1 && (bank.weights.max() ?? 0) > 0.5)
    }
  }

  @Test func rejectsBadArguments() {
    func message(_ body: () throws -> Tensor) -> String {
      do {
        _ = try body()
        return "no error"
      } catch { return "\(error)" }
    }
    let second = [Float](repeating: 0.1, count: 16000)
    #expect(message { try kaldiFbank(samples: [], sampleRate: 16000) }.contains("empty"))
    #expect(
      message { try kaldiFbank(samples: Array(second[0..<399]), sampleRate: 16000) }.contains(
        "shorter than one frame"))
    #expect(message { try kaldiFbank(samples: second, sampleRate: 0) }.contains("sample rate"))
    #expect(message { try kaldiFbank(samples: second, sampleRate: -16000) }.contains("sample rate"))
    var dither = KaldiFbankOptions()
    dither.dither = 1
    #expect(
      message { try kaldiFbank(samples: second, sampleRate: 16000, options: dither) }.contains("dither"))
    var freq = KaldiFbankOptions()
    freq.highFreq = 9000
    #expect(message { try kaldiFbank(samples: second, sampleRate: 16000, options: freq) }.contains("Nyquist"))
    var odd = KaldiFbankOptions()
    odd.roundToPowerOfTwo = false
    odd.frameLength = 25.0625  // 401 samples
    #expect(message { try kaldiFbank(samples: second, sampleRate: 16000, options: odd) }.contains("even"))
    #expect(message { try kaldiFbank(samples: [0, .nan] + second, sampleRate: 16000) }.contains("NaN"))
    // Exactly one frame works; snipEdges = false accepts a short signal.
    #expect(message { try kaldiFbank(samples: Array(second[0..<400]), sampleRate: 16000) } == "no error")
    var centred = KaldiFbankOptions()
    centred.snipEdges = false
    #expect(
      message { try kaldiFbank(samples: Array(second[0..<100]), sampleRate: 16000, options: centred) }
        .contains("too short"))
    #expect(
      (try? kaldiFbank(samples: Array(second[0..<1000]), sampleRate: 16000, options: centred).shape) == [
        6, 23,
      ])
  }
}

@Suite("Resample") struct ResampleTests {
  /// Max abs error against torchaudio.functional.resample ≤ 1e-5.
  @Test(arguments: [
    ("44100_16000", 44100, 16000), ("16000_44100", 16000, 44100), ("48000_16000", 48000, 16000),
    ("16000_22050", 16000, 22050), ("8000_12000", 8000, 12000), ("dog_44100_16000", 44100, 16000),
  ])
  func matchesTorchaudio(name: String, from: Int, to: Int) throws {
    let input = try audioGolden("resample_\(name)_input").values
    let expected = try audioGolden("resample_\(name)_output").values
    let got = try resample(input, from: from, to: to)
    #expect(got.count == expected.count, "\(name): length \(got.count) vs \(expected.count)")
    guard got.count == expected.count else { return }
    #expect(maxAbsDifference(got, expected).value <= 1e-5, "\(name): \(differenceReport(got, expected))")
  }

  @Test func edgeCases() throws {
    #expect(try resample([1, 2, 3], from: 16000, to: 16000) == [1, 2, 3])
    #expect(try resample([], from: 44100, to: 16000).isEmpty)
    #expect(try resample([0.5], from: 8000, to: 16000).count == 2)
    #expect(throws: TensorError.self) { try resample([1], from: 0, to: 16000) }
    #expect(throws: TensorError.self) { try resample([1], from: 16000, to: -1) }
    #expect(throws: TensorError.self) { try resample([.infinity], from: 16000, to: 8000) }
  }
}

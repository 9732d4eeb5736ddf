import Foundation
import MMCore
import MMModels
import MMNN
import MMTestSupport
import MMWeights
import Testing

/// ImageBind's vision, video, audio and text encoders against ImageBind's own `ImageBindModel`
/// (Scripts/goldens/imagebind.py): the tiny model's every stage — preprocessor tokens, the
/// pre-transformer LayerNorm, each block, head, postprocessor, the output — on real media (an
/// ImageBind-preprocessed photo and speech recording) and token ids from ImageBind's tokenizer.
@Suite("ImageBind parity")
struct ImageBindParityTests {
  /// Token stages may differ by this much relative to their largest value; the unit-normalized
  /// output by 1e-4 absolute.
  static let stageTolerance: Float = 2e-5
  static let embeddingTolerance: Float = 1e-4

  /// Compares every traced stage `prefix.*` with the goldens; returns the report lines.
  func compare(_ trace: ActivationTrace, prefix: String, blocks: Int, preNorm: Bool) throws -> [String] {
    let goldens = try ImageBindFiles.goldens()
    var names = ["preprocessor"] + (preNorm ? ["trunk.pre"] : [])
    names += (0..<blocks).map { "trunk.blocks.\($0)" } + ["head", "postprocessor", "output"]
    var report: [String] = []
    for stage in names {
      let name = "\(prefix).\(stage)"
      let golden = try goldens.tensor(named: name)
      var actual = trace[name]
      if let traced = actual, traced.rank == 3, golden.shape[0] == 1, traced.shape[0] > 1 {
        actual = try traced.sliced(axis: 0, 0..<1)  // the goldens keep the first item's tokens
      }
      let (difference, scale) = stageDifference(actual, golden)
      report.append("\(name): max |Δ| \(difference) (values up to \(scale))")
      #expect(
        difference <= Self.stageTolerance * max(1, scale),
        "\(name): \(actual.map { shapeText($0.shape) } ?? "missing") vs \(shapeText(golden.shape)), max |Δ| \(difference)"
      )
    }
    // The unit-normalized embedding.
    let output = try #require(trace["\(prefix).output"])
    let golden = try goldens.tensor(named: "\(prefix).output").converted(to: .f32)
    let unit = maxAbsDifference(output.unitRows().floats(), golden.unitRows().floats()).value
    report.append("\(prefix) unit embedding: max |Δ| \(unit)")
    #expect(unit <= Self.embeddingTolerance, "\(prefix): unit embedding max |Δ| \(unit)")
    print(report.joined(separator: "\n"))
    return report
  }

  @Test func vision() throws {
    let configuration = try ImageBindFiles.configuration()
    let encoder = try ImageBindEncoder.vision(try ImageBindFiles.weights(), configuration: configuration)
    let input = try ImageBindFiles.goldens().tensor(named: "vision.input").converted(to: .f32)
    let trace = ActivationTrace()
    let output = try encoder(input, trace: trace)
    #expect(output.shape == [1, configuration.outEmbedDim])
    _ = try compare(trace, prefix: "vision", blocks: configuration.vision.blocks, preNorm: true)
  }

  @Test func video() throws {
    let configuration = try ImageBindFiles.configuration()
    var encoder = try ImageBindEncoder.vision(try ImageBindFiles.weights(), configuration: configuration)
    encoder.name = "video"
    let clips = ImageBindFiles.noise([1, 2, 3, 2, 224, 224], seed: 11)
    let trace = ActivationTrace()
    var reported: [Int] = []
    let output = try encoder.embedClips(
      clips, clipsPerStep: 1, trace: trace, progress: { done, _ in reported.append(done) })
    #expect(output.shape == [1, configuration.outEmbedDim])
    #expect(reported == [1, 2])
    _ = try compare(trace, prefix: "video", blocks: configuration.vision.blocks, preNorm: true)
  }

  @Test func audio() throws {
    let configuration = try ImageBindFiles.configuration()
    let encoder = try ImageBindEncoder.audio(try ImageBindFiles.weights(), configuration: configuration)
    let clips = try ImageBindFiles.goldens().tensor(named: "audio.input").converted(to: .f32)
    let trace = ActivationTrace()
    let output = try encoder.embedClips(clips, trace: trace)
    #expect(output.shape == [1, configuration.outEmbedDim])
    _ = try compare(trace, prefix: "audio", blocks: configuration.audio.blocks, preNorm: false)
    // ImageBind's audio output is the mean of three vectors of length 20, not a unit vector.
    let length = output.floats().reduce(0) { $0 + $1 * $1 }.squareRoot()
    #expect(length > 1 && length <= 20.0001)
  }

  @Test func text() throws {
    let configuration = try ImageBindFiles.configuration()
    let encoder = try ImageBindEncoder.text(try ImageBindFiles.weights(), configuration: configuration)
    let ids = try ImageBindFiles.goldens().tensor(named: "text.input")
    let trace = ActivationTrace()
    let output = try encoder(ids, trace: trace)
    #expect(output.shape == [3, configuration.outEmbedDim])
    _ = try compare(trace, prefix: "text", blocks: configuration.text.blocks, preNorm: false)
    let scale = try #require(encoder.postprocessor.logitScale)
    // The golden script's learned scale: exp(log(1/0.07) + 0.3), its log rounded to float16.
    #expect(abs(scale - exp(log(1 / 0.07) + 0.3)) < 0.01)
  }

  @Test func batchOfImagesEqualsOneByOne() throws {
    let configuration = try ImageBindFiles.configuration()
    let encoder = try ImageBindEncoder.vision(try ImageBindFiles.weights(), configuration: configuration)
    let image = try ImageBindFiles.goldens().tensor(named: "vision.input").converted(to: .f32)
    let other = ImageBindFiles.noise([1, 3, 224, 224], seed: 5)
    let batch = Tensor(image.floats() + other.floats(), shape: [2, 3, 224, 224])
    let both = try encoder(batch).floats()
    let first = try encoder(image).floats()
    let second = try encoder(other).floats()
    #expect(maxAbsDifference(both, first + second).value < 1e-5)
  }
}

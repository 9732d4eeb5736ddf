import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN
import MMTestSupport
import MMWeights
import Testing

@testable import DepthPlugin
@testable import IMUPlugin
@testable import ImageBindPlugin
@testable import ThermalPlugin

/// ImageBind's depth, thermal and IMU encoders — added as plugins on MMModels' public API —
/// against ImageBind's own `ImageBindModel` (Scripts/goldens/imagebind.py, tiny random model),
/// stage by stage; and the ImageBind node types in one registry.
@Suite struct ImageBindPluginTests {
  static let root = packageRoot

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  static func model() throws -> (SafetensorsFile, ImageBindConfiguration) {
    (
      try SafetensorsFile(path: path("Tests/Fixtures/imagebind/tiny.safetensors")),
      try ImageBindConfiguration(contentsOf: path("Tests/Fixtures/imagebind/tiny.json"))
    )
  }

  /// The golden script's `noise(shape, seed)` (see Scripts/goldens/imagebind.py).
  static func noise(_ shape: [Int], seed: UInt64) -> Tensor {
    let count = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count {
      let hashed = ((UInt64(i) &+ seed) &* 2_654_435_761) % (1 << 32)
      values[i] = Float(Double(hashed) / 2_147_483_648 - 1)
    }
    return Tensor(values, shape: shape)
  }

  /// Every stage of `encoder` on `input` against the goldens `prefix.*`.
  func check(_ encoder: ImageBindEncoder, _ input: Tensor, prefix: String, blocks: Int) throws {
    let goldens = try SafetensorsFile(path: Self.path("Tests/Goldens/imagebind/parity.safetensors"))
    let trace = ActivationTrace()
    _ = try encoder(input, trace: trace)
    let stages =
      ["preprocessor"] + (0..<blocks).map { "trunk.blocks.\($0)" } + ["head", "postprocessor", "output"]
    for stage in stages {
      let name = "\(prefix).\(stage)"
      let golden = try goldens.tensor(named: name).converted(to: .f32)
      var actual = try #require(trace[name], "\(name) not traced")
      if actual.rank == 3, golden.shape[0] == 1 { actual = try actual.sliced(axis: 0, 0..<1).contiguous() }
      #expect(actual.shape == golden.shape, "\(name)")
      let scale = golden.floats().reduce(Float(0)) { max($0, abs($1)) }
      let difference = maxAbsDifference(actual.floats(), golden.floats()).value
      print("\(name): max |Δ| \(difference) (values up to \(scale))")
      #expect(difference <= 2e-5 * max(1, scale), "\(name): max |Δ| \(difference)")
    }
    let output = try #require(trace["\(prefix).output"])
    let golden = try goldens.tensor(named: "\(prefix).output").converted(to: .f32)
    let unit = maxAbsDifference(output.unitRows().floats(), golden.unitRows().floats()).value
    print("\(prefix) unit embedding: max |Δ| \(unit)")
    #expect(unit <= 1e-4)
  }

  @Test func depth() throws {
    let (store, c) = try Self.model()
    let encoder = try ImageBindEncoder.depth(store, configuration: c)
    #expect(encoder.postprocessor.logitScale.map { abs($0 - 5) < 1e-4 } == true)
    try check(encoder, Self.noise([2, 1, 224, 224], seed: 12), prefix: "depth", blocks: c.depth.blocks)
  }

  @Test func thermal() throws {
    let (store, c) = try Self.model()
    let encoder = try ImageBindEncoder.thermal(store, configuration: c)
    #expect(encoder.postprocessor.logitScale.map { abs($0 - 10) < 1e-4 } == true)
    try check(encoder, Self.noise([1, 1, 224, 224], seed: 13), prefix: "thermal", blocks: c.thermal.blocks)
  }

  @Test func imu() throws {
    let (store, c) = try Self.model()
    let encoder = try ImageBindEncoder.imu(store, configuration: c)
    try check(encoder, Self.noise([2, 6, 2000], seed: 14), prefix: "imu", blocks: c.imu.blocks)
  }

  /// The depth, thermal and IMU nodes (`unitEncoderDescriptor`) on the tiny weights: ImageBind's
  /// unit output for the same inputs, and the modality's logit scale.
  @Test(arguments: [
    ("imagebind.depth", [2, 1, 224, 224], UInt64(12), "depth", Float(5)),
    ("imagebind.thermal", [1, 1, 224, 224], UInt64(13), "thermal", Float(10)),
    ("imagebind.imu", [2, 6, 2000], UInt64(14), "imu", Float(5)),
  ])
  func nodeGivesImageBindsUnitOutput(type: String, shape: [Int], seed: UInt64, prefix: String, scale: Float)
    throws
  {
    let descriptor = try #require(
      (DepthPlugin.descriptors + ThermalPlugin.descriptors + IMUPlugin.descriptors).first { $0.type == type })
    let node = try descriptor.make(
      NodeOptions([
        "weights": .string(Self.path("Tests/Fixtures/imagebind/tiny.safetensors")),
        "config": .string(Self.path("Tests/Fixtures/imagebind/tiny.json")),
      ]))
    let context = RecordingContext(inputs: ["in": .tensor(Self.noise(shape, seed: seed))])
    _ = try node.process(context)
    guard case .embedding(let embedding)? = context.outputs["out"],
      case .tensor(let logitScale)? = context.outputs["logit_scale"]
    else {
      Issue.record("\(type): outputs \(context.outputs.keys.sorted())")
      return
    }
    let goldens = try SafetensorsFile(path: Self.path("Tests/Goldens/imagebind/parity.safetensors"))
    let golden = try goldens.tensor(named: "\(prefix).output").converted(to: .f32).unitRows()
    #expect(embedding.space == "imagebind" && embedding.form == .unit)
    let difference = maxAbsDifference(embedding.vectors.floats(), golden.floats()).value
    #expect(embedding.vectors.shape == golden.shape && difference <= 1e-4, "\(type): max |Δ| \(difference)")
    #expect(abs(logitScale.floats()[0] - scale) < 1e-4)
  }

  @Test func wrongInputShapesAreClearErrors() throws {
    let (store, c) = try Self.model()
    let depth = try ImageBindEncoder.depth(store, configuration: c)
    #expect(throws: ModelError.invalidInput("depth expects [batch, 1, H, W] f32, got f32 [1, 3, 224, 224]")) {
      try depth(Tensor(zeros: [1, 3, 224, 224]))
    }
    let imu = try ImageBindEncoder.imu(store, configuration: c)
    #expect(throws: ModelError.self) { try imu(Tensor(zeros: [1, 6, 1999])) }
    // Another image size than the positions were made for.
    do {
      _ = try depth(Tensor(zeros: [1, 1, 160, 160]))
      Issue.record("a 160×160 depth map was accepted")
    } catch {
      #expect("\(error)".contains("expected 196 patches"), "\(error)")
    }
  }

  @Test func nodesRegisterTogether() throws {
    var registry = NodeRegistry()
    for plugin: any NodePlugin.Type in [
      ImageBindPlugin.self, DepthPlugin.self, ThermalPlugin.self, IMUPlugin.self,
    ] {
      try plugin.register(into: &registry)
    }
    #expect(
      registry.typeNames.filter { $0.hasPrefix("imagebind.") }.sorted() == [
        "imagebind.audio", "imagebind.depth", "imagebind.imu", "imagebind.text", "imagebind.thermal",
        "imagebind.video", "imagebind.vision",
      ])
  }
}

/// ImageBind's text input from strings: the checkpoint's tokenizer gives the ids of ImageBind's
/// own `SimpleTokenizer` (the golden script's `text.ids_real`), with CLIP's full vocabulary
/// (`MMGRAPH_CLIP_BPE`, or `bpe_simple_vocab_16e6.txt.gz` in `$MMGRAPH_MODELS/imagebind`).
@Suite struct ImageBindTokenizationTests {
  static let sentences = ["A dog.", "a car driving on the road at night", "Hello, world! Ünïcode & 123"]

  static var vocabulary: String? {
    let environment = ProcessInfo.processInfo.environment
    let models = environment["MMGRAPH_MODELS"] ?? (NSHomeDirectory() + "/.cache/mmgraph/models")
    return [environment["MMGRAPH_CLIP_BPE"], models + "/imagebind/bpe_simple_vocab_16e6.txt.gz"]
      .compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0) }
  }

  @Test(.enabled(if: vocabulary != nil, "set MMGRAPH_CLIP_BPE to ImageBind's bpe_simple_vocab_16e6.txt.gz"))
  func idsMatchImageBindsTokenizer() throws {
    let checkpoint = try ImageBindCheckpoint.shared(
      ImageBindPluginTests.path("Tests/Fixtures/imagebind/tiny.safetensors"))
    let ids = try checkpoint.tokenIDs(Self.sentences, vocabularyPath: Self.vocabulary!)
    let goldens = try SafetensorsFile(
      path: ImageBindPluginTests.path("Tests/Goldens/imagebind/parity.safetensors"))
    let expected = try goldens.tensor(named: "text.ids_real").scalars(Int32.self)
    #expect(ids.shape == [3, 77])
    #expect(ids.floats().map { Int32($0) } == expected)
  }

  @Test func layoutWithTheFixtureVocabulary() throws {
    let checkpoint = try ImageBindCheckpoint.shared(
      ImageBindPluginTests.path("Tests/Fixtures/imagebind/tiny.safetensors"))
    let ids = try checkpoint.tokenIDs(
      Self.sentences + [String(repeating: "dog ", count: 100)],
      vocabularyPath: ImageBindPluginTests.path("Tests/Fixtures/clip/tokenizer/bpe_10k.txt.gz")
    ).floats()
    // The fixture's 10,000 merges put <|startoftext|> at 10512 and <|endoftext|> at 10513.
    for row in 0..<4 {
      let values = Array(ids[(row * 77)..<((row + 1) * 77)])
      let end = try #require(values.firstIndex(of: 10513))
      #expect(values[0] == 10512 && values[(end + 1)...].allSatisfy { $0 == 0 })
    }
    #expect(Array(ids[0..<5]) == [10512, 320, 1929, 269, 10513])  // "A dog." as SimpleTokenizer: a, dog, .
    #expect(ids[3 * 77 + 76] == 10513)  // 100 words: cut to 76 ids + the end token
  }
}

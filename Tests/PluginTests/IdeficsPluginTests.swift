import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMTestSupport
import MMWeights
import Testing

@testable import IdeficsPlugin

/// `idefics.vision` and `idefics.perceiver` on the tiny Idefics checkpoint (goldens from
/// transformers, Scripts/goldens/idefics.py): shapes from config.json at load, values at run.
@Suite struct IdeficsPluginTests {
  static let root = packageRoot
  static let tiny = root.appendingPathComponent("Tests/Fixtures/idefics/tiny").path
  static let dog = root.appendingPathComponent("Tests/Fixtures/idefics/dog.jpg").path

  static func golden(_ name: String) throws -> [Float] {
    try openWeightStore(path: root.appendingPathComponent("Tests/Goldens/idefics/goldens.safetensors").path)
      .tensor(named: name).contiguous().floats()
  }

  static func load(_ text: String) throws -> LoadResult {
    var registry = NodeRegistry()
    try IdeficsPlugin.register(into: &registry)
    let folder = NSTemporaryDirectory() + "mmgraph-idefics-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/graph.json"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return GraphLoader(registry: registry).load(file: path)
  }

  static func graph(model: String = tiny, features: String = "tensor<f32>[n, 32]") -> String {
    """
    {"mmgraph": 1, "inputs": {"photo": "image", "frames": "\(features)"},
     "nodes": {
       "vision": {"type": "idefics.vision", "inputs": {"image": "$photo"}, "options": {"model": "\(model)"}},
       "perceiver": {"type": "idefics.perceiver", "inputs": {"features": "vision.embeddings"},
                     "options": {"model": "\(model)"}},
       "frames": {"type": "idefics.perceiver", "inputs": {"features": "$frames"}, "options": {"model": "\(model)"}}},
     "outputs": {"tokens": "vision.embeddings", "latents": "perceiver.embeddings", "resampled": "frames.embeddings"}}
    """
  }

  @Test func shapesFromConfigAndValuesMatchTransformers() throws {
    let loaded = try Self.load(Self.graph())
    let graph = try #require(loaded.graph, "\(loaded.diagnostics.map(\.description))")
    let types = Dictionary(uniqueKeysWithValues: graph.outputs.map { ($0.name, $0.type) })
    #expect(types["tokens"] == .tensor(dtype: .f32, shape: [.fixed(17), .fixed(32)]))
    #expect(types["latents"] == .tensor(dtype: .f32, shape: [.fixed(8), .fixed(32)]))
    let photo = try ImageFile.read(contentsOf: Self.dog).tensor()
    let frames = Tensor(try Self.golden("vision_dog") + Self.golden("vision_small"), shape: [34, 32])
    let outputs = try SerialExecutor().run(
      graph, inputs: ["photo": [Packet(.image(photo))], "frames": [Packet(.tensor(frames))]])
    guard case .tensor(let tokens)? = outputs["tokens"]?.last?.value,
      case .tensor(let latents)? = outputs["latents"]?.last?.value,
      case .tensor(let resampled)? = outputs["resampled"]?.last?.value
    else {
      Issue.record("missing outputs")
      return
    }
    #expect(tokens.shape == [17, 32] && latents.shape == [8, 32] && resampled.shape == [8, 32])
    let resampledDifference = maxAbsDifference(resampled.floats(), try Self.golden("perceiver_frames"))
    #expect(resampledDifference.value <= 1e-4, "\(resampledDifference)")
    // The node preprocesses with PIL's bicubic: the processor's PIL backend, exactly.
    let visionDifference = maxAbsDifference(tokens.floats(), try Self.golden("vision_dog_pil"))
    #expect(visionDifference.value <= 1e-4, "\(visionDifference)")
  }

  @Test func badGraphsAreRefusedAtLoad() throws {
    let width = try Self.load(Self.graph(features: "tensor<f32>[n, 48]"))
    #expect(width.graph == nil)
    let text = width.diagnostics.map(\.description).joined(separator: "\n")
    #expect(text.contains("tensor<f32>[n, 32]") && text.contains("48"), "\(text)")
    // A folder without config.json (not downloaded yet) loads with symbolic shapes and fails
    // at the run naming the file; a config.json that is there but broken is refused at load.
    let missing = try Self.load(Self.graph(model: "/nonexistent/idefics"))
    let graph = try #require(missing.graph, "\(missing.diagnostics.map(\.description))")
    let photo = try ImageFile.read(contentsOf: Self.dog).tensor()
    #expect {
      try SerialExecutor().run(
        graph,
        inputs: ["photo": [Packet(.image(photo))], "frames": [Packet(.tensor(Tensor(zeros: [2, 32])))]])
    } throws: { error in
      "\(error)".contains("/nonexistent/idefics")
    }
    let folder = NSTemporaryDirectory() + "mmgraph-idefics-broken-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try Data(#"{"model_type": "idefics", "vision_config": {"patch_size": "eight"}}"#.utf8)
      .write(to: URL(fileURLWithPath: folder + "/config.json"))
    let broken = try Self.load(Self.graph(model: folder))
    #expect(broken.graph == nil)
    let refusal = broken.diagnostics.map(\.description).joined(separator: "\n")
    #expect(
      refusal.contains(folder + "/config.json") && refusal.contains("vision_config.patch_size"), "\(refusal)")
  }

  /// A stream of two frames (the dog photo and a small JPEG): both frames' tokens resampled at
  /// once, as transformers' resampler on the two images' concatenated vision tokens.
  @Test func videoResamplesAllFramesTogether() throws {
    let loaded = try Self.load(
      """
      {"mmgraph": 1, "inputs": {"frames": "stream<image>"},
       "nodes": {"video": {"type": "idefics.video", "inputs": {"frames": "$frames"}, "options": {"model": "\(Self.tiny)"}}},
       "outputs": {"latents": "video.embeddings"}}
      """)
    let graph = try #require(loaded.graph, "\(loaded.diagnostics.map(\.description))")
    #expect(graph.outputs.first?.type == .tensor(dtype: .f32, shape: [.fixed(8), .fixed(32)]))
    let small = Self.root.appendingPathComponent("Tests/Fixtures/image/baseline444.jpg").path
    let frames = try [Self.dog, small].enumerated().map { index, path in
      Packet(
        .image(try ImageFile.read(contentsOf: path).tensor()),
        at: Timestamp(microseconds: Int64(index) * 40_000))
    }
    let outputs = try SerialExecutor().run(graph, inputs: ["frames": frames])
    guard case .tensor(let latents)? = outputs["latents"]?.last?.value else {
      Issue.record("no latents")
      return
    }
    let difference = maxAbsDifference(latents.floats(), try Self.golden("perceiver_frames_pil"))
    #expect(latents.shape == [8, 32] && difference.value <= 1e-4, "\(difference)")
  }
}

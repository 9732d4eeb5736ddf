import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMTestSupport
import MMWeights
import Testing

@testable import LLaVAPlugin

/// `llava.vision` → `llava.projector` on the tiny LLaVA checkpoint (Scripts/goldens/llava.py):
/// output types fixed from config.json at load time, values against transformers, and the
/// load-time errors for a wrong feature width or an unreadable checkpoint.
@Suite struct LLaVAPluginTests {
  static let root = packageRoot
  static let tiny = root.appendingPathComponent("Tests/Fixtures/llava/tiny").path
  static let photo = root.appendingPathComponent("../shared/testdata/dog_image.jpg").standardized.path

  static func load(_ text: String) throws -> LoadResult {
    var registry = NodeRegistry()
    try LLaVAPlugin.register(into: &registry)
    let folder = NSTemporaryDirectory() + "mmgraph-llava-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/graph.json"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return GraphLoader(registry: registry).load(file: path)
  }

  static func chain(model: String, featuresType: String? = nil) -> String {
    if let featuresType {
      return """
        {"mmgraph": 1, "inputs": {"features": "\(featuresType)"},
         "nodes": {"projector": {"type": "llava.projector", "inputs": {"features": "$features"},
                                 "options": {"model": "\(model)"}}},
         "outputs": {"embeddings": "projector.embeddings"}}
        """
    }
    return """
      {"mmgraph": 1, "inputs": {"photo": "image"},
       "nodes": {"vision": {"type": "llava.vision", "inputs": {"image": "$photo"}, "options": {"model": "\(model)"}},
                 "projector": {"type": "llava.projector", "inputs": {"features": "vision.embeddings"},
                               "options": {"model": "\(model)"}}},
       "outputs": {"features": "vision.embeddings", "embeddings": "projector.embeddings"}}
      """
  }

  @Test func registersItsNodes() throws {
    #expect(Set(LLaVAPlugin.descriptors.map(\.type)) == ["llava.vision", "llava.projector"])
    #expect(LLaVAPlugin.descriptors.allSatisfy { $0.isPure })
  }

  @Test func imageToProjectedRowsMatchesTransformers() throws {
    try #require(
      FileManager.default.fileExists(atPath: Self.photo), "missing \(Self.photo) (shared test data)")
    let loaded = try Self.load(Self.chain(model: Self.tiny))
    let graph = try #require(loaded.graph, "\(loaded.diagnostics.map(\.description))")
    let types = Dictionary(uniqueKeysWithValues: graph.outputs.map { ($0.name, $0.type) })
    #expect(types["features"] == .tensor(dtype: .f32, shape: [.fixed(16), .fixed(32)]))
    #expect(types["embeddings"] == .tensor(dtype: .f32, shape: [.fixed(16), .fixed(64)]))
    let image = try ImageFile.read(contentsOf: Self.photo).tensor()
    let outputs = try SerialExecutor().run(graph, inputs: ["photo": [Packet(.image(image))]])
    guard case .tensor(let embeddings)? = outputs["embeddings"]?.last?.value else {
      Issue.record("no embeddings")
      return
    }
    #expect(embeddings.shape == [16, 64])
    let golden = try SafetensorsFile(
      path: Self.root.appendingPathComponent("Tests/Goldens/llava/tiny.safetensors").path)
    let expected = try golden.tensor(named: "projected").contiguous().floats()
    let worst = maxAbsDifference(embeddings.floats(), expected).value
    print("llava.vision → llava.projector from the image file: max |Δ| \(worst)")
    #expect(worst <= 1e-3, "\(differenceReport(embeddings.floats(), expected))")
  }

  @Test func wrongFeatureWidthFailsAtLoad() throws {
    let loaded = try Self.load(Self.chain(model: Self.tiny, featuresType: "tensor<f32>[n, 48]"))
    let errors = loaded.errors.map(\.description).joined(separator: "\n")
    #expect(loaded.graph == nil)
    #expect(errors.contains("features") && errors.contains("48") && errors.contains("[n, 32]"), "\(errors)")
    // A fixed row count passes through to the output type.
    let fixed = try Self.load(Self.chain(model: Self.tiny, featuresType: "tensor<f32>[5, 32]"))
    #expect(fixed.graph?.outputs.first?.type == .tensor(dtype: .f32, shape: [.fixed(5), .fixed(64)]))
  }

  /// A folder without config.json (a graph checked before its model is fetched) loads with
  /// symbolic shapes and fails when it runs; a config.json that is there but wrong fails at load.
  @Test func missingOrBrokenCheckpoint() throws {
    let missing = try Self.load(Self.chain(model: "/nonexistent/llava"))
    let graph = try #require(missing.graph, "\(missing.diagnostics.map(\.description))")
    #expect(
      graph.outputs.first { $0.name == "embeddings" }?.type
        == .tensor(dtype: .f32, shape: [.symbol("n"), .symbol("hidden")]))
    let image = Tensor(zeros: [8, 8, 3], dtype: .u8)
    do {
      _ = try SerialExecutor().run(graph, inputs: ["photo": [Packet(.image(image))]])
      Issue.record("ran without a model")
    } catch {
      #expect("\(error)".contains("/nonexistent/llava") && "\(error)".contains("LLaVA"), "\(error)")
    }
    let folder = NSTemporaryDirectory() + "mmgraph-llava-broken-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try Data(
      #"{"model_type": "llava", "vision_config": {}, "text_config": {}, "vision_feature_layer": 40}"#.utf8
    )
    .write(to: URL(fileURLWithPath: folder + "/config.json"))
    let broken = try Self.load(Self.chain(model: folder))
    let errors = broken.errors.map(\.description).joined(separator: "\n")
    #expect(broken.graph == nil)
    #expect(
      errors.contains(folder + "/config.json") && errors.contains("vision_feature_layer")
        && errors.contains("40"),
      "\(errors)")
  }
}

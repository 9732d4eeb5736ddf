import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMModels
import MMTestSupport
import MMWeights
import Testing

@testable import BLIP2Plugin

/// The `blip2.*` nodes on the tiny BLIP-2 / InstructBLIP checkpoints of Scripts/goldens/blip2.py:
/// BlipImageProcessor parity on a real photo, both nodes run in a graph, and the type rules'
/// refusals at load time.
@Suite struct BLIP2PluginTests {
  static let root = packageRoot

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
  static func fixture(_ family: String) -> String { path("Tests/Fixtures/blip2/\(family)") }
  static func golden(_ family: String) throws -> SafetensorsFile {
    try SafetensorsFile(path: path("Tests/Goldens/blip2/\(family).safetensors"))
  }
  static let photo = "Tests/Fixtures/blip2/car.jpg"

  static func load(_ text: String, inputTypes: [String: PortType] = [:]) throws -> LoadResult {
    let folder = NSTemporaryDirectory() + "mmgraph-blip2-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let file = folder + "/graph.json"
    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    var registry = NodeRegistry()
    try BLIP2Plugin.register(into: &registry)
    return GraphLoader(registry: registry).load(file: file, inputTypes: inputTypes)
  }

  /// photo → blip2.vision → blip2.qformer (+ the instruction input when `instruction`).
  static func pipeline(_ family: String, instruction: Bool) -> String {
    let model = "\"model\": \"\(fixture(family))\""
    return """
      {"mmgraph": 1, "inputs": {"photo": "image"\(instruction ? ", \"instruction\": \"text\"" : "")},
       "nodes": {
         "vision": {"type": "blip2.vision", "inputs": {"image": "$photo"}, "options": {\(model)}},
         "qformer": {"type": "blip2.qformer",
                     "inputs": {"features": "vision.embeddings"\(instruction ? ", \"instruction\": \"$instruction\"" : "")},
                     "options": {\(model)}}},
       "outputs": {"features": "vision.embeddings", "tokens": "qformer.embeddings"}}
      """
  }

  static func errors(_ result: LoadResult) -> String {
    result.errors.map(\.description).joined(separator: "\n")
  }

  @Test func registersTwoNodes() throws {
    #expect(Set(BLIP2Plugin.descriptors.map(\.type)) == ["blip2.vision", "blip2.qformer"])
    #expect(BLIP2Plugin.descriptors.allSatisfy { $0.isPure })
  }

  /// The photo through BLIP2ImagePreprocessor against the processor's `pixel_values`: equal to
  /// PIL's backend up to float rounding, within one 8-bit level of the default torchvision one.
  @Test func preprocessingMatchesBlipImageProcessor() throws {
    let configuration = try BLIPImageProcessorConfiguration(directory: Self.fixture("blip2-tiny"))
    let image = try ImageFile.read(contentsOf: Self.path(Self.photo))
    let pixels = try BLIP2ImagePreprocessor(configuration)(image)
    #expect(pixels.shape == [3, 32, 32])
    let golden = try Self.golden("blip2-tiny")
    let pil = maxAbsDifference(pixels.floats(), try golden.tensor(named: "pixel_values_pil").floats()).value
    let torchvision = maxAbsDifference(pixels.floats(), try golden.tensor(named: "pixel_values").floats())
      .value
    print("BLIP-2 pixel_values: max |Δ| vs PIL backend \(pil), vs torchvision backend \(torchvision)")
    #expect(pil <= 1e-5)
    #expect(torchvision <= 1.001 / 255 / 0.26130258)
  }

  @Test(arguments: ["blip2-tiny", "instructblip-tiny"])
  func graphRunsVisionThenQFormer(family: String) throws {
    let instructed = family == "instructblip-tiny"
    let result = try Self.load(Self.pipeline(family, instruction: instructed))
    let graph = try #require(result.graph, "\(Self.errors(result))")
    let image = try ImageFile.read(contentsOf: Self.path(Self.photo))
    var inputs: [String: [Packet]] = ["photo": [Packet(.image(image.tensor()))]]
    if instructed { inputs["instruction"] = [Packet(.text("What is in the photo?"))] }
    let outputs = try SerialExecutor().run(graph, inputs: inputs)
    guard case .tensor(let features)? = outputs["features"]?.last?.value,
      case .tensor(let tokens)? = outputs["tokens"]?.last?.value
    else {
      Issue.record("no tensors emitted")
      return
    }
    #expect(features.shape == [17, 32] && tokens.shape == [8, 64])
    // Against the model on the PIL-backend pixels (what the node computes), and against the
    // reference's tokens from the torchvision-backend pixels (one 8-bit level apart).
    let golden = try Self.golden(family)
    let model = try BLIP2Model(directory: Self.fixture(family))
    let pil = try golden.tensor(named: "pixel_values_pil").converted(to: .f32)
    let expected = try model.languageInputs(
      try model.vision(pil), instruction: instructed ? "What is in the photo?" : nil)
    #expect(maxAbsDifference(tokens.floats(), expected.floats()).value <= 1e-4)
    let reference = maxAbsDifference(tokens.floats(), try golden.tensor(named: "projected").floats()).value
    print("BLIP-2 \(family) node tokens vs reference (torchvision pixels): max |Δ| \(reference)")
    #expect(reference <= 0.1)
  }

  @Test func typeRuleGivesFixedShapesFromConfig() throws {
    let result = try Self.load(Self.pipeline("blip2-tiny", instruction: false))
    #expect(result.errors.isEmpty, "\(Self.errors(result))")
    let graph = try #require(result.graph)
    let types = Dictionary(uniqueKeysWithValues: graph.outputs.map { ($0.name, $0.type) })
    #expect(types["tokens"] == PortType.tensor(dtype: .f32, shape: [.fixed(8), .fixed(64)]))
    #expect(types["features"] == PortType.tensor(dtype: .f32, shape: [.fixed(17), .fixed(32)]))
  }

  @Test func instructionGivenToBLIP2IsRefused() throws {
    let result = try Self.load(Self.pipeline("blip2-tiny", instruction: true))
    #expect(result.graph == nil)
    let text = Self.errors(result)
    #expect(text.contains("instruction") && text.contains("BLIP-2"), "\(text)")
  }

  @Test func instructBLIPWithoutInstructionIsRefused() throws {
    let result = try Self.load(Self.pipeline("instructblip-tiny", instruction: false))
    #expect(result.graph == nil)
    let text = Self.errors(result)
    #expect(text.contains("instruction") && text.contains("InstructBLIP"), "\(text)")
  }

  @Test func featuresOfAnotherWidthAreRefusedAtLoad() throws {
    let graph = """
      {"mmgraph": 1, "inputs": {"f": "tensor<f32>[17, 16]"},
       "nodes": {"q": {"type": "blip2.qformer", "inputs": {"features": "$f"},
                        "options": {"model": "\(Self.fixture("blip2-tiny"))"}}},
       "outputs": {"tokens": "q.embeddings"}}
      """
    let result = try Self.load(graph)
    let text = Self.errors(result)
    #expect(
      result.graph == nil && text.contains("features") && text.contains("32") && text.contains("16"),
      "\(text)")
  }

  /// A folder whose config.json is broken is refused when the graph loads, naming the file; a
  /// folder without one (a model not fetched yet) loads with symbolic shapes, so that every
  /// graph validates without the models, and its run names the folder.
  @Test func unreadableCheckpointIsRefusedAtLoad() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("blip2-broken-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try Data("{\"model_type\": \"blip-2\", \"vision_config\": [".utf8).write(
      to: folder.appendingPathComponent("config.json"))
    func graph(_ model: String) -> String {
      """
      {"mmgraph": 1, "inputs": {"photo": "image"},
       "nodes": {"v": {"type": "blip2.vision", "inputs": {"image": "$photo"},
                        "options": {"model": "\(model)"}}},
       "outputs": {"f": "v.embeddings"}}
      """
    }
    let broken = try Self.load(graph(folder.path))
    let text = Self.errors(broken)
    #expect(broken.graph == nil && text.contains(folder.path + "/config.json"), "\(text)")
    let absent = try Self.load(graph("/nonexistent/blip2"))
    #expect(absent.graph != nil, "\(Self.errors(absent))")
  }

  /// A tensor of the wrong width that reaches the node at run time (an untyped input).
  @Test func featuresOfAnotherWidthFailAtRun() throws {
    let descriptor = try #require(BLIP2Plugin.descriptors.first { $0.type == "blip2.qformer" })
    let node = try descriptor.make(NodeOptions(["model": .string(Self.fixture("blip2-tiny"))]))
    let context = RecordingContext(inputs: ["features": .tensor(Tensor(zeros: [17, 16]))])
    #expect {
      _ = try node.process(context)
    } throws: { "\($0)".contains("[17, 16]") && "\($0)".contains("32") }
  }
}

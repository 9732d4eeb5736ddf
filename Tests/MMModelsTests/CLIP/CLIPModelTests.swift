import Foundation
import MMCore
import MMModels
import MMNN
import MMTestSupport
import MMTokenizers
import MMWeights
import Testing

/// MMModels' CLIP against Hugging Face `CLIPModel` on the tiny random checkpoint of
/// Scripts/goldens/clip.py (Tests/Fixtures/clip/tiny, goldens in Tests/Goldens/clip/tiny.safetensors).
@Suite("CLIP model") struct CLIPModelTests {
  static let root = packageRoot
  static let fixture = root.appendingPathComponent("Tests/Fixtures/clip/tiny").path
  static let goldenPath = root.appendingPathComponent("Tests/Goldens/clip/tiny.safetensors").path

  static func golden() throws -> SafetensorsFile { try SafetensorsFile(path: goldenPath) }

  static func floats(_ file: SafetensorsFile, _ name: String) throws -> [Float] {
    let t = try file.tensor(named: name)
    return t.dtype == .f32 ? t.contiguous().floats() : t.converted(to: .f32).floats()
  }

  static func ids(_ file: SafetensorsFile, _ name: String) throws -> [[Int32]] {
    let t = try file.tensor(named: name).contiguous()
    let values = try t.scalars(Int32.self)
    let length = t.shape[1]
    return (0..<t.shape[0]).map { Array(values[$0 * length..<($0 + 1) * length]) }
  }

  static func expectClose(
    _ actual: Tensor, _ file: SafetensorsFile, _ name: String, tolerance: Float, _ report: inout [String]
  ) throws {
    let expected = try floats(file, name)
    let values = actual.contiguous().floats()
    #expect(values.count == expected.count, "\(name): \(values.count) values, golden \(expected.count)")
    guard values.count == expected.count else { return }
    let (worst, _) = maxAbsDifference(values, expected)
    report.append("\(name) \(worst)")
    #expect(worst <= tolerance, "\(name): \(differenceReport(values, expected))")
  }

  @Test func configurationReadsTheFixture() throws {
    let c = try CLIPConfiguration(contentsOf: Self.fixture + "/config.json")
    #expect(c.projectionDim == 16)
    #expect(c.text.tower.hiddenSize == 32 && c.text.tower.activation == .quickGelu && c.text.eosTokenID == 2)
    #expect(c.vision.tower.hiddenSize == 16 && c.vision.tower.activation == .gelu && c.vision.patchSize == 32)
    #expect(c.vision.patchCount == 49)
  }

  @Test func everyIntermediateMatchesTheReference() throws {
    let model = try CLIPModel(directory: Self.fixture)
    let golden = try Self.golden()
    let trace = ActivationTrace()
    let pixelsTensor = try golden.tensor(named: "pixel_values").converted(to: .f32)
    let ids = try Self.ids(golden, "input_ids")
    let image = try model.imageEmbeddings(pixelsTensor, trace: trace)
    let text = try model.textEmbeddings(ids, trace: trace)
    var report: [String] = []
    for name in [
      "vision_model.embeddings", "vision_model.pre_layrnorm", "vision_model.encoder.layers.0",
      "vision_model.encoder.layers.1", "vision_model.pooled", "image_embeds", "text_model.embeddings",
      "text_model.encoder.layers.0", "text_model.encoder.layers.1", "text_model.final_layer_norm",
      "text_model.pooled", "text_embeds",
    ] {
      let actual = try #require(trace[name], "no trace \(name)")
      try Self.expectClose(actual, golden, name, tolerance: 1e-4, &report)
    }
    try Self.expectClose(
      CLIPModel.normalized(image), golden, "image_embeds_normalized", tolerance: 1e-5, &report)
    try Self.expectClose(
      CLIPModel.normalized(text), golden, "text_embeds_normalized", tolerance: 1e-5, &report)
    let logits = model.logitsPerImage(imageEmbeddings: image, textEmbeddings: text)
    try Self.expectClose(logits, golden, "logits_per_image", tolerance: 1e-4, &report)
    print("CLIP parity (max |Δ|): " + report.joined(separator: ", "))
  }

  /// HF pools at argmax(ids) for the legacy eos_token_id 2, else at the first eos_token_id.
  @Test func bothPoolingRules() throws {
    let golden = try Self.golden()
    let store = try openWeightStore(path: Self.fixture)
    var configuration = try CLIPConfiguration(contentsOf: Self.fixture + "/config.json")
    let ids = try Self.ids(golden, "input_ids_added")
    var report: [String] = []
    let legacy = try CLIPModel(configuration: configuration, store: store)
    try Self.expectClose(
      try legacy.textEmbeddings(ids), golden, "text_embeds_argmax", tolerance: 1e-4, &report)
    configuration.text.eosTokenID = 1513
    let current = try CLIPModel(configuration: configuration, store: store)
    #expect(current.text?.pooledPosition(ids[0]) != legacy.text?.pooledPosition(ids[0]))
    try Self.expectClose(
      try current.textEmbeddings(ids), golden, "text_embeds_eos_first", tolerance: 1e-4, &report)
  }

  /// The fixture's tokenizer.json gives the ids the reference fed the model.
  @Test func fixtureTokenizerGivesTheReferenceIDs() throws {
    let tokenizer = try CLIPTokenizer(folder: Self.fixture)
    let texts = ["a photo of a dog", "a red car parked on a street", "&quot;CATS&quot; 123"]
    let golden = try Self.ids(try Self.golden(), "input_ids")
    for (text, expected) in zip(texts, golden) {
      #expect(tokenizer.padded(text, padding: tokenizer.endOfText) == expected, "\(text)")
    }
  }

  /// Encoder-length self-attention (≥ 64 tokens, no mask) runs as two GEMMs per head; an all-zero
  /// key mask forces the streaming attention kernel on the same inputs: the two agree.
  @Test func longSelfAttentionAgreesWithTheKernelPath() throws {
    let (d, length, heads) = (32, 80, 4)
    func linear(_ rows: Int, _ seed: UInt64) -> Linear {
      Linear(
        weight: StoredMatrix(
          Tensor(randomFloats(rows * d, seed: seed, low: -0.3, high: 0.3), shape: [rows, d])),
        bias: randomFloats(rows, seed: seed + 1), packed: true)
    }
    let attention = MultiHeadAttention(heads: heads, inProjection: linear(3 * d, 1), out: linear(d, 3))
    let x = Tensor(randomFloats(2 * length * d, seed: 5), shape: [2, length, d])
    let viaGEMMs = try attention(x).floats()
    let viaKernel = try attention(x, keyMask: Tensor(zeros: [2, length])).floats()
    #expect(maxAbsDifference(viaGEMMs, viaKernel).value <= 1e-5, "\(differenceReport(viaGEMMs, viaKernel))")
  }

  @Test func badInputIsAClearError() throws {
    let model = try CLIPModel(directory: Self.fixture)
    #expect(throws: ModelError.self) { _ = try model.imageEmbeddings(Tensor(zeros: [1, 3, 64, 64])) }
    #expect(throws: ModelError.self) { _ = try model.textEmbeddings([[1, 2], [3]]) }
    #expect(throws: ModelError.self) { _ = try model.textEmbeddings([[1, 99_999]]) }
    #expect(throws: ModelError.self) { _ = try model.textEmbeddings([Array(repeating: 1, count: 78)]) }
    #expect {
      _ = try CLIPModel(directory: "/nonexistent-clip")
    } throws: { error in
      "\(error)".contains("/nonexistent-clip")
    }
    let bad = try #require(
      try? JSONParser.parse(
        Array(#"{"vision_config": {"hidden_size": 30, "num_attention_heads": 4}}"#.utf8), file: "c"
      )
      .root)
    #expect {
      _ = try CLIPConfiguration(json: bad, source: "config.json")
    } throws: { error in
      "\(error)".contains("vision_config.hidden_size 30")
    }
    let act = try #require(
      try? JSONParser.parse(Array(#"{"text_config": {"hidden_act": "swish2"}}"#.utf8), file: "c").root)
    #expect {
      _ = try CLIPConfiguration(json: act, source: "config.json")
    } throws: { error in
      "\(error)".contains("text_config.hidden_act")
    }
  }
}

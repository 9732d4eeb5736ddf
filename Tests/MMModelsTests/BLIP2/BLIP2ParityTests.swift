import Foundation
import MMCore
import MMLLM
import MMMediaIO
import MMModels
import MMNN
import MMTestSupport
import MMTokenizers
import MMWeights
import Testing

/// MMModels' BLIP-2 / InstructBLIP connector against transformers 5.24 on the tiny random
/// checkpoints of Scripts/goldens/blip2.py, and the whole model (connector + MMLLM's LlamaModel
/// over the same folder) against `Blip2ForConditionalGeneration` / `InstructBlip…`: last-position
/// logits for image + prompt, and the greedy tokens of `generate`.
@Suite("BLIP-2 parity") struct BLIP2ParityTests {
  @Test func configurationReadsBothFixtures() throws {
    let blip2 = try BLIP2Configuration(contentsOf: BLIP2Files.fixture("blip2-tiny") + "/config.json")
    #expect(blip2.family == .blip2 && !blip2.qformer.usesTextInput)
    #expect(
      blip2.vision.hiddenSize == 32 && blip2.vision.tokenCount == 17 && blip2.vision.layerNormEps == 1e-6)
    #expect(blip2.qformer.hiddenSize == 32 && blip2.qformer.crossAttentionFrequency == 2)
    #expect(blip2.qformer.hasCrossAttention(layer: 0) && !blip2.qformer.hasCrossAttention(layer: 1))
    #expect(blip2.qformer.encoderHiddenSize == 32 && blip2.qformer.layerNormEps == 1e-12)
    #expect(blip2.textHiddenSize == 64 && blip2.queryTokenCount == 8 && blip2.imageTokenIndex == 259)
    let instruct = try BLIP2Configuration(
      contentsOf: BLIP2Files.fixture("instructblip-tiny") + "/config.json")
    #expect(instruct.family == .instructBLIP && instruct.qformer.usesTextInput)
    #expect(instruct.qformer.vocabSize == 73 && instruct.qformer.maxPositionEmbeddings == 64)
  }

  @Test func imageProcessorSettingsFromEitherFile() throws {
    for family in BLIP2Files.families {
      let fromPreprocessor = try BLIPImageProcessorConfiguration(directory: BLIP2Files.fixture(family))
      #expect(fromPreprocessor.height == 32 && fromPreprocessor.width == 32 && fromPreprocessor.resample == 3)
      #expect(fromPreprocessor.mean == [0.48145466, 0.4578275, 0.40821073])
      // transformers 5's processor_config.json holds the same settings under image_processor.
      let path = BLIP2Files.fixture(family) + "/processor_config.json"
      let data = try #require(FileManager.default.contents(atPath: path))
      let root = try JSONParser.parse([UInt8](data), file: path).root
      let fromProcessor = try BLIPImageProcessorConfiguration(
        json: try #require(root["image_processor"]), path: "image_processor", source: path)
      #expect(fromProcessor == fromPreprocessor)
    }
  }

  @Test(arguments: BLIP2Files.families)
  func visionMatchesTheReference(family: String) throws {
    let model = try BLIP2Model(directory: BLIP2Files.fixture(family))
    let golden = try BLIP2Files.golden(family)
    let trace = ActivationTrace()
    let out = try model.vision(try BLIP2Files.tensor(golden, "pixel_values"), trace: trace)
    #expect(out.shape == [17, 32])
    for name in ["vision.embeddings", "vision.layers.0", "vision.layers.1"] {
      let actual = try #require(trace[name], "no trace \(name)")
      try BLIP2Files.expectClose(actual, golden, name, tolerance: 1e-4)
    }
    let worst = try BLIP2Files.expectClose(out, golden, "vision", tolerance: 1e-4)
    print("BLIP-2 \(family): vision last_hidden_state max |Δ| \(worst)")
  }

  @Test(arguments: BLIP2Files.families)
  func qformerAndProjectionMatchTheReference(family: String) throws {
    let model = try BLIP2Model(directory: BLIP2Files.fixture(family))
    let golden = try BLIP2Files.golden(family)
    let record = try BLIP2Files.record(family)
    let instruction = family == "instructblip-tiny" ? try #require(record["prompt"]?.string) : nil
    if let instruction {
      #expect(try model.instructionIDs(instruction) == BLIP2Files.ints(record, "qformer_input_ids"))
    }
    let trace = ActivationTrace()
    let projected = try model.languageInputs(
      try BLIP2Files.tensor(golden, "vision"), instruction: instruction, trace: trace)
    #expect(projected.shape == [8, 64])
    let query = try BLIP2Files.expectClose(try #require(trace["qformer"]), golden, "qformer", tolerance: 1e-4)
    let worst = try BLIP2Files.expectClose(projected, golden, "projected", tolerance: 1e-4)
    print("BLIP-2 \(family): Q-Former output max |Δ| \(query), language_projection max |Δ| \(worst)")
  }

  /// The prompt as the processor lays it out: `num_query_tokens` × `<image>` (id 259) first,
  /// then the tokenizer's own encoding of the text, BOS (256) included. The image tokens' rows
  /// are the connector's output, in order.
  static func spliced(_ ids: [Int32], image: Tensor, imageToken: Int32) throws -> [LlamaInput] {
    var inputs: [LlamaInput] = []
    var text: [Int32] = []
    var row = 0
    let width = image.shape[1]
    for id in ids {
      if id == imageToken {
        if !text.isEmpty { inputs.append(.tokens(text)) }
        text = []
        let values = Array(image.floats()[row * width..<(row + 1) * width])
        inputs.append(.embeddings(Tensor(values, shape: [1, width])))
        row += 1
      } else {
        text.append(id)
      }
    }
    if !text.isEmpty { inputs.append(.tokens(text)) }
    #expect(row == image.shape[0], "\(row) placeholders for \(image.shape[0]) image rows")
    return inputs
  }

  @Test(arguments: BLIP2Files.families)
  func wholeModelLogitsAndGreedyTokensMatchTheReference(family: String) throws {
    let directory = BLIP2Files.fixture(family)
    let connector = try BLIP2Model(directory: directory)
    let golden = try BLIP2Files.golden(family)
    let record = try BLIP2Files.record(family)
    let instruction = family == "instructblip-tiny" ? try #require(record["prompt"]?.string) : nil
    // From the processor's pixels through every stage in Swift.
    let features = try connector.vision(try BLIP2Files.tensor(golden, "pixel_values"))
    let image = try connector.languageInputs(features, instruction: instruction)
    let ids = try BLIP2Files.ints(record, "input_ids")
    #expect(Array(ids.prefix(9)) == [Int32](repeating: 259, count: 8) + [256])
    // The checkpoint's own tokenizer gives the text part (BOS included) and the placeholder id.
    let tokenizer = try Tokenizer(directory: directory)
    #expect(tokenizer.encode(try #require(record["prompt"]?.string)) == Array(ids.dropFirst(8)))
    #expect(tokenizer.encode("<image>", addSpecialTokens: false) == [259])
    let imageToken = Int32(try #require(connector.configuration.imageTokenIndex))
    let llm = try LlamaModel(directory: directory)
    let prompt = try Self.spliced(ids, image: image, imageToken: imageToken)
    let logits = try llm.forward(prompt)
    let worst = try BLIP2Files.expectClose(logits, golden, "logits", tolerance: 1e-3)
    print("BLIP-2 \(family): last-position logits max |Δ| \(worst)")
    llm.reset()
    let greedy = try llm.generateGreedy(prompt, maxNewTokens: 10)
    #expect(greedy == (try BLIP2Files.ints(record, "greedy_tokens")))
  }

  /// From the JPEG file: decode and BlipImageProcessor's resize/normalize (MMMediaIO, PIL's
  /// bicubic), the connector, the decoder — against transformers run on the PIL backend's pixels.
  @Test(arguments: BLIP2Files.families)
  func fromThePhotoToGreedyTokens(family: String) throws {
    let directory = BLIP2Files.fixture(family)
    let settings = try BLIPImageProcessorConfiguration(directory: directory)
    let preprocessing = try VisionPreprocessing(
      resize: .exact(height: settings.height, width: settings.width), filter: .bicubic, crop: nil,
      mean: settings.mean, std: settings.std)
    let pixels = try preprocessing.tensor(
      contentsOf: BLIP2Files.root.appendingPathComponent("Tests/Fixtures/blip2/car.jpg").path)
    let golden = try BLIP2Files.golden(family)
    try BLIP2Files.expectClose(pixels, golden, "pixel_values_pil", tolerance: 1e-5)
    let record = try BLIP2Files.record(family)
    let connector = try BLIP2Model(directory: directory)
    let instruction = family == "instructblip-tiny" ? try #require(record["prompt"]?.string) : nil
    let image = try connector.languageInputs(try connector.vision(pixels), instruction: instruction)
    let llm = try LlamaModel(directory: directory)
    let prompt = try Self.spliced(try BLIP2Files.ints(record, "input_ids"), image: image, imageToken: 259)
    let worst = try BLIP2Files.expectClose(
      try llm.forward(prompt), golden, "logits_pil_pixels", tolerance: 1e-3)
    print("BLIP-2 \(family): from the photo, last-position logits max |Δ| \(worst)")
    llm.reset()
    let greedy = try llm.generateGreedy(prompt, maxNewTokens: 10)
    #expect(greedy == (try BLIP2Files.ints(record, "greedy_tokens_pil_pixels")))
  }
}

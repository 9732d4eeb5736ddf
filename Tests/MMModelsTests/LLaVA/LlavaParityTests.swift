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

/// MMModels' LLaVA image side (CLIP hidden states at vision_feature_layer, the "default"
/// strategy, multi_modal_projector) and MMLLM's decoder of the same folder against
/// transformers 5.24's `LlavaForConditionalGeneration` on the tiny random checkpoint of
/// Scripts/goldens/llava.py: preprocessing, every vision hidden state, the selected features,
/// the projector, the last-position logits of image + prompt and the greedy tokens of
/// `generate`.
@Suite("LLaVA parity") struct LlavaParityTests {
  @Test func configurationReadsBothFixtures() throws {
    let tiny = try LlavaConfiguration(contentsOf: LlavaFiles.tiny + "/config.json")
    #expect(tiny.vision.tower.hiddenSize == 32 && tiny.vision.tower.layerCount == 3)
    #expect(
      tiny.vision.imageSize == 32 && tiny.vision.patchSize == 8 && tiny.vision.tower.activation == .quickGelu)
    #expect(tiny.textHiddenSize == 64 && tiny.imageTokenIndex == 256)
    #expect(tiny.featureLayers == [-2] && tiny.featureSelection == .dropClassToken)
    #expect(tiny.projectorActivation == .gelu && tiny.projectorBias)
    #expect(tiny.featureWidth == 32 && tiny.tokensPerImage == 16)
    let multi = try LlavaConfiguration(contentsOf: LlavaFiles.multi + "/config.json")
    #expect(multi.featureLayers == [-3, -1] && multi.featureWidth == 64)
  }

  /// The checkpoint's CLIPImageProcessor settings (preprocessor_config.json in tiny/, only
  /// processor_config.json's image_processor in multi/) on a real photo, against the
  /// processor's output with its default torchvision backend and its PIL backend.
  @Test func preprocessingMatchesTheImageProcessor() throws {
    try #require(
      FileManager.default.fileExists(atPath: LlavaFiles.photo),
      "missing \(LlavaFiles.photo) (shared test data)")
    let preprocessing = try VisionPreprocessing(checkpointDirectory: LlavaFiles.tiny)
    #expect(preprocessing.resize == .shorterSide(32) && preprocessing.filter == .bicubic)
    #expect(preprocessing.crop?.height == 32 && preprocessing.crop?.width == 32)
    #expect(try VisionPreprocessing(checkpointDirectory: LlavaFiles.multi) == preprocessing)
    let pixels = try preprocessing.tensor(contentsOf: LlavaFiles.photo)
    #expect(pixels.shape == [3, 32, 32])
    let torchvision = try LlavaFiles.expectClose(pixels, "pixel_values", tolerance: 0.02)
    // Same decoder, same PIL resampling on bytes: identical up to f32 rounding. The
    // torchvision backend resizes floats, which may differ by an 8-bit step (1/255/std ≈ 0.015).
    let pil = try LlavaFiles.expectClose(pixels, "pixel_values_pil", tolerance: 1e-5)
    print("LLaVA preprocessing max |Δ|: torchvision backend \(torchvision), PIL backend \(pil)")
  }

  @Test func everyVisionHiddenStateMatches() throws {
    let encoder = try LlavaImageEncoder(directory: LlavaFiles.tiny)
    #expect(encoder.visionPrefix == "vision_tower" && encoder.projectorPrefix == "multi_modal_projector")
    let pixels = try LlavaFiles.tensor("pixel_values")
    let states = try encoder.vision.hiddenStates(pixels, at: [0, 1, 2, 3, -1])
    #expect(states.count == 5)
    var report: [String] = []
    for (i, state) in states.prefix(4).enumerated() {
      #expect(state.shape == [1, 17, 32])
      report.append("\(i): \(try LlavaFiles.expectClose(state, "hidden_states_\(i)", tolerance: 1e-4))")
    }
    #expect(states[4].floats() == states[3].floats())
    print("LLaVA vision hidden states max |Δ|: \(report.joined(separator: ", "))")
    #expect(throws: ModelError.self) { try encoder.vision.hiddenStates(pixels, at: [4]) }
  }

  @Test func featuresAndProjectorMatch() throws {
    let encoder = try LlavaImageEncoder(directory: LlavaFiles.tiny)
    let pixels = try LlavaFiles.tensor("pixel_values")
    let features = try encoder.features(pixels.reshaped([3, 32, 32]))
    #expect(features.shape == [16, 32])
    let f = try LlavaFiles.expectClose(features, "features", tolerance: 1e-4)
    // The projector alone, on the reference features.
    let projected = try encoder.projector(try LlavaFiles.tensor("features"))
    #expect(projected.shape == [16, 64])
    let p = try LlavaFiles.expectClose(projected, "projected", tolerance: 1e-4)
    // Batched pixels give batched rows.
    let batched = try encoder.imageEmbeddings(pixels)
    #expect(batched.shape == [1, 16, 64])
    let e = try LlavaFiles.expectClose(batched, "projected", tolerance: 1e-4)
    print("LLaVA features max |Δ| \(f), projector \(p), pixels → embeddings \(e)")
  }

  /// vision_feature_layer [-3, -1]: both layers without the class token, concatenated.
  @Test func listOfFeatureLayersIsConcatenated() throws {
    let encoder = try LlavaImageEncoder(directory: LlavaFiles.multi)
    let pixels = try LlavaFiles.tensor("pixel_values")
    let features = try encoder.features(pixels)
    #expect(features.shape == [1, 16, 64])
    let f = try LlavaFiles.expectClose(features, "features_multi", tolerance: 1e-4)
    let p = try LlavaFiles.expectClose(try encoder.projector(features), "projected_multi", tolerance: 1e-4)
    print("LLaVA multi-layer features max |Δ| \(f), projector \(p)")
  }

  /// The prompt "USER: <image>\nWhat is in the picture? ASSISTANT:" with the image's 16
  /// projected rows at the <image> position, through LlamaModel(directory:) on the same folder.
  @Test func logitsAndGreedyTokensMatchGenerate() throws {
    let golden = try LlavaFiles.generation()
    let encoder = try LlavaImageEncoder(directory: LlavaFiles.tiny)
    let model = try LlamaModel(directory: LlavaFiles.tiny)
    let ids = golden.input_ids
    let image = Int32(encoder.configuration.imageTokenIndex)
    let first = try #require(ids.firstIndex(of: image))
    let last = try #require(ids.lastIndex(of: image))
    #expect(last - first + 1 == encoder.configuration.tokensPerImage)
    #expect(ids[first...last].allSatisfy { $0 == image })
    func prompt(_ embeddings: Tensor) -> [LlamaInput] {
      [.tokens(Array(ids[..<first])), .embeddings(embeddings), .tokens(Array(ids[(last + 1)...]))]
    }
    let pixels = try LlavaFiles.tensor("pixel_values").reshaped([3, 32, 32])
    let embeddings = try encoder.imageEmbeddings(pixels)
    let logits = try model.forward(prompt(embeddings))
    #expect(logits.shape == [1, 258])
    let l = try LlavaFiles.expectClose(logits, "logits", tolerance: 1e-3)
    model.reset()
    let tokens = try model.generateGreedy(prompt(embeddings), maxNewTokens: golden.max_new_tokens)
    #expect(tokens == golden.tokens)
    print("LLaVA last-position logits max |Δ| \(l); greedy \(tokens)")

    // The whole path from the image file (our preprocessing instead of the processor's).
    if FileManager.default.fileExists(atPath: LlavaFiles.photo) {
      let ours = try VisionPreprocessing(checkpointDirectory: LlavaFiles.tiny).tensor(
        contentsOf: LlavaFiles.photo)
      model.reset()
      let fromFile = try model.forward(prompt(try encoder.imageEmbeddings(ours)))
      let worst = maxAbsDifference(fromFile.floats(), try LlavaFiles.tensor("logits").floats()).value
      print("LLaVA logits from the image file max |Δ| \(worst)")
      #expect(worst <= 1e-3)
      model.reset()
      #expect(
        try model.generateGreedy(
          prompt(try encoder.imageEmbeddings(ours)), maxNewTokens: golden.max_new_tokens)
          == golden.tokens)
    }
  }

  /// The checkpoint's tokenizer gives the processor's ids for the rendered prompt, with one
  /// `<image>` (256) where the processor repeats it once per feature row.
  @Test func tokenizerGivesThePromptIDsWithOnePlaceholder() throws {
    let golden = try LlavaFiles.generation()
    let tokenizer = try Tokenizer(directory: LlavaFiles.tiny)
    let ids = tokenizer.encode(golden.rendered)
    var expected: [Int32] = []
    for id in golden.input_ids where !(id == golden.image_token_id && expected.last == id) {
      expected.append(id)
    }
    #expect(ids == expected)
    #expect(ids.filter { $0 == golden.image_token_id }.count == 1)
    #expect(try tokenizer.decode(golden.tokens, skipSpecialTokens: true) == golden.text)
  }

  /// Hub checkpoints (llava-hf/llava-1.5-7b-hf) keep the tower under vision_tower.vision_model.
  @Test func readsTheHubKeyLayout() throws {
    let folder = try LlavaFiles.editedCopy(of: LlavaFiles.tiny) { tensors in
      tensors.map { item in
        item.name.hasPrefix("vision_tower.")
          ? (
            name: "vision_tower.vision_model." + item.name.dropFirst("vision_tower.".count),
            tensor: item.tensor
          )
          : item
      }
    }
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let encoder = try LlavaImageEncoder(directory: folder)
    #expect(encoder.visionPrefix == "vision_tower.vision_model")
    let pixels = try LlavaFiles.tensor("pixel_values")
    _ = try LlavaFiles.expectClose(try encoder.imageEmbeddings(pixels), "projected", tolerance: 1e-4)
    // transformers 5's in-memory names (model.vision_tower…, model.multi_modal_projector…).
    let memory = try LlavaFiles.editedCopy(of: LlavaFiles.tiny) { tensors in
      tensors.map { item in
        item.name.hasPrefix("vision_tower.") || item.name.hasPrefix("multi_modal_projector.")
          ? (name: "model." + item.name, tensor: item.tensor) : item
      }
    }
    defer { try? FileManager.default.removeItem(atPath: memory) }
    let inMemory = try LlavaImageEncoder(directory: memory)
    #expect(
      inMemory.visionPrefix == "model.vision_tower"
        && inMemory.projectorPrefix == "model.multi_modal_projector")
    _ = try LlavaFiles.expectClose(try inMemory.imageEmbeddings(pixels), "projected", tolerance: 1e-4)
  }
}

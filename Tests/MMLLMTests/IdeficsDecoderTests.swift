import Foundation
import MMCore
import MMLLM
import MMTestSupport
import MMWeights
import Testing

/// The tiny Idefics checkpoint (Tests/Fixtures/idefics/tiny) and its goldens
/// (Tests/Goldens/idefics), written by Scripts/goldens/idefics.py.
enum IdeficsFiles {
  static let directory = LlamaFiles.root.appendingPathComponent("Tests/Fixtures/idefics/tiny").path

  static func goldens() throws -> SafetensorsFile {
    try SafetensorsFile(
      path: LlamaFiles.root.appendingPathComponent("Tests/Goldens/idefics/goldens.safetensors").path)
  }

  struct Case {
    let name: String
    let promptIDs: [Int32]
    let tokens: [Int32]
    let imageCount: Int
  }

  static func cases() throws -> [Case] {
    let path = LlamaFiles.root.appendingPathComponent("Tests/Goldens/idefics/cases.json").path
    let root = try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), file: path)
      .root
    return (root["cases"]?.elements ?? []).map { item in
      Case(
        name: item["name"]?.string ?? "",
        promptIDs: (item["prompt_ids"]?.elements ?? []).compactMap { $0.int.map { Int32($0) } },
        tokens: (item["tokens"]?.elements ?? []).compactMap { $0.int.map { Int32($0) } },
        imageCount: item["images"]?.elements?.count ?? 0)
    }
  }

  /// The Perceiver Resampler outputs HF fed to the decoder: [8, 32] per image.
  static func images(_ count: Int, from goldens: SafetensorsFile) throws -> [Tensor] {
    try ["perceiver_dog", "perceiver_small"].prefix(count).map { try goldens.tensor(named: $0) }
  }
}

/// Idefics' LLaMA decoder with gated cross-attention against transformers'
/// IdeficsForVisionText2Text: logits of every prompt position and greedy tokens, for one image
/// and for two images interleaved with text.
@Suite("Idefics decoder")
struct IdeficsDecoderTests {
  @Test func configurationAndAPI() throws {
    let model = try LlamaModel(directory: IdeficsFiles.directory)
    #expect(model.crossAttentionWidth == 32)
    #expect(model.imageTokenID == 259)
    #expect(model.configuration.vocabSize == 260)
    let plain = try LlamaModel(directory: LlamaFiles.fixture("tiny"))
    #expect(plain.crossAttentionWidth == nil && plain.imageTokenID == nil)
    #expect(throws: LlamaError.self) { try plain.setCrossAttentionImages([Tensor(zeros: [8, 32])]) }
  }

  @Test(arguments: [64, 7])
  func logitsAndGreedyTokensMatchTransformers(promptChunk: Int) throws {
    let goldens = try IdeficsFiles.goldens()
    let model = try LlamaModel(directory: IdeficsFiles.directory, promptChunk: promptChunk)
    for item in try IdeficsFiles.cases() {
      model.reset()
      try model.setCrossAttentionImages(try IdeficsFiles.images(item.imageCount, from: goldens))
      let logits = try model.forward([.tokens(item.promptIDs)], allLogits: true)
      let expected = try goldens.tensor(named: "\(item.name)_logits")
      #expect(logits.shape == expected.shape)
      let difference = maxAbsDifference(logits.floats(), expected.floats())
      #expect(difference.value <= 1e-4, "\(item.name), chunk \(promptChunk): \(difference)")

      model.reset()
      try model.setCrossAttentionImages(try IdeficsFiles.images(item.imageCount, from: goldens))
      let tokens = try model.generateGreedy([.tokens(item.promptIDs)], maxNewTokens: item.tokens.count)
      #expect(tokens == item.tokens, "\(item.name)")
    }
  }

  /// Decoding one position at a time against the cache gives the logits of recomputing the
  /// whole sequence at once (the image tracking included).
  @Test func cachedDecodingEqualsRecomputation() throws {
    let goldens = try IdeficsFiles.goldens()
    let model = try LlamaModel(directory: IdeficsFiles.directory)
    guard let item = try IdeficsFiles.cases().last else { throw MissingLlamaFile(path: "cases.json") }
    let images = try IdeficsFiles.images(item.imageCount, from: goldens)
    try model.setCrossAttentionImages(images)
    let whole = try model.forward([.tokens(item.promptIDs)], allLogits: true).floats()
    model.reset()
    try model.setCrossAttentionImages(images)
    var stepwise: [Float] = []
    for id in item.promptIDs { stepwise += try model.forward([.tokens([id])]).floats() }
    let difference = maxAbsDifference(stepwise, whole)
    #expect(difference.value <= 1e-5, "\(difference)")
  }

  /// A prompt position before the first `<image>` sees no image: the logits there do not depend
  /// on the images.
  @Test func positionsBeforeTheFirstImageIgnoreIt() throws {
    let goldens = try IdeficsFiles.goldens()
    let model = try LlamaModel(directory: IdeficsFiles.directory)
    guard let item = try IdeficsFiles.cases().first else { throw MissingLlamaFile(path: "cases.json") }
    let prefix = Array(item.promptIDs.prefix(while: { $0 != 259 }))
    try model.setCrossAttentionImages(try IdeficsFiles.images(1, from: goldens))
    let a = try model.forward([.tokens(prefix)], allLogits: true).floats()
    model.reset()
    try model.setCrossAttentionImages([Tensor(zeros: [8, 32])])
    let b = try model.forward([.tokens(prefix)], allLogits: true).floats()
    #expect(a == b)
  }

  @Test func badImagesAreRefused() throws {
    let goldens = try IdeficsFiles.goldens()
    let model = try LlamaModel(directory: IdeficsFiles.directory)
    let cases = try IdeficsFiles.cases()
    // Width mismatch: names the expected width.
    do {
      try model.setCrossAttentionImages([Tensor(zeros: [8, 48])])
      Issue.record("a [8, 48] image was accepted")
    } catch {
      #expect(error.description.contains("[latents, 32]") && error.description.contains("[8, 48]"))
    }
    // More images than <image> tokens.
    try model.setCrossAttentionImages(try IdeficsFiles.images(2, from: goldens))
    do {
      _ = try model.generateGreedy([.tokens(cases[0].promptIDs)], maxNewTokens: 2)
      Issue.record("two images for one <image> token were accepted")
    } catch {
      #expect(
        error.description.contains("1 <image> token(s)") && error.description.contains("2 cross-attention"))
    }
    #expect(model.position == 0)
    // More <image> tokens than images: refused before any work.
    model.reset()
    try model.setCrossAttentionImages(try IdeficsFiles.images(1, from: goldens))
    do {
      _ = try model.forward([.tokens(cases[1].promptIDs)])
      Issue.record("two <image> tokens with one image were accepted")
    } catch {
      #expect(error.description.contains("2 <image> token(s)"))
    }
    #expect(model.position == 0)
  }

  @Test func missingAndMisshapenTensorsAreNamed() throws {
    let source = IdeficsFiles.directory
    let store = try SafetensorsFile(path: source + "/model.safetensors")
    func variant(_ edit: (inout [String: Tensor]) throws -> Void) throws -> String {
      let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("idefics-bad-\(UUID().uuidString)").path
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      for name in ["config.json", "tokenizer.json"] {
        try FileManager.default.copyItem(atPath: source + "/" + name, toPath: directory + "/" + name)
      }
      var tensors: [String: Tensor] = [:]
      for name in store.names { tensors[name] = try store.tensor(named: name) }
      try edit(&tensors)
      try Safetensors.write(
        tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) },
        to: directory + "/model.safetensors")
      return directory
    }
    let missing = try variant { $0["model.gated_cross_attn_layers.1.cross_attn.k_proj.weight"] = nil }
    defer { try? FileManager.default.removeItem(atPath: missing) }
    #expect {
      try LlamaModel(directory: missing)
    } throws: { error in
      "\(error)".contains("model.gated_cross_attn_layers.1.cross_attn.k_proj.weight")
    }
    let misshapen = try variant {
      $0["model.gated_cross_attn_layers.0.cross_attn.v_proj.weight"] = Tensor(zeros: [64, 48])
    }
    defer { try? FileManager.default.removeItem(atPath: misshapen) }
    #expect {
      try LlamaModel(directory: misshapen)
    } throws: { error in
      let text = "\(error)"
      return text.contains("model.gated_cross_attn_layers.0.cross_attn.v_proj.weight")
        && text.contains("[64, 48]")
        && text.contains("[64, 32]")
    }
  }

  /// config.json and tokenizer.json are untrusted: mutated copies either load or throw,
  /// never crash.
  @Test func mutatedConfigurationsNeverCrash() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "idefics-fuzz-\(UUID().uuidString)"
    )
    .path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try FileManager.default.createSymbolicLink(
      atPath: directory + "/model.safetensors",
      withDestinationPath: IdeficsFiles.directory + "/model.safetensors")
    let config = [UInt8](try Data(contentsOf: URL(fileURLWithPath: IdeficsFiles.directory + "/config.json")))
    let tokenizer = [UInt8](
      try Data(contentsOf: URL(fileURLWithPath: IdeficsFiles.directory + "/tokenizer.json")))
    var random = SeededRandom(seed: 11)
    for round in 0..<120 {
      var bytes = round % 2 == 0 ? config : tokenizer
      if round % 4 < 2 {
        for _ in 0..<3 {
          bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
        }
      } else {
        bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
      }
      try Data(round % 2 == 0 ? bytes : config).write(to: URL(fileURLWithPath: directory + "/config.json"))
      try Data(round % 2 == 0 ? tokenizer : bytes).write(
        to: URL(fileURLWithPath: directory + "/tokenizer.json"))
      _ = try? LlamaCheckpointDirectory(directory: directory)
    }
  }
}

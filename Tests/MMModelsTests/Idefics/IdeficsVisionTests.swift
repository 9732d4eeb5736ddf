import Foundation
import MMCore
import MMMediaIO
import MMModels
import MMNN
import MMTestSupport
import MMWeights
import Testing

/// MMModels' Idefics image side (vision tower, Perceiver Resampler, image processor settings)
/// against transformers' IdeficsForVisionText2Text on the tiny random checkpoint of
/// Scripts/goldens/idefics.py (Tests/Fixtures/idefics/tiny, goldens in Tests/Goldens/idefics).
@Suite("Idefics vision and Perceiver Resampler") struct IdeficsVisionTests {
  static let root = packageRoot
  static let fixture = root.appendingPathComponent("Tests/Fixtures/idefics/tiny").path
  static let images = [
    "dog": root.appendingPathComponent("Tests/Fixtures/idefics/dog.jpg").path,
    "small": root.appendingPathComponent("Tests/Fixtures/image/baseline444.jpg").path,
  ]

  static func golden(_ name: String) throws -> Tensor {
    try SafetensorsFile(path: root.appendingPathComponent("Tests/Goldens/idefics/goldens.safetensors").path)
      .tensor(named: name).contiguous()
  }

  static func pipeline(_ processor: IdeficsImageProcessor) throws -> VisionPreprocessing {
    try VisionPreprocessing(
      resize: .exact(height: processor.height, width: processor.width), filter: .bicubic, crop: nil,
      mean: processor.mean, std: processor.std)
  }

  @Test func configuration() throws {
    let c = try IdeficsConfiguration(contentsOf: Self.fixture)
    #expect(
      c.width == 32 && c.vision.imageSize == 32 && c.vision.patchSize == 8 && c.vision.tower.layerCount == 2)
    #expect(c.vision.tower.activation == .gelu)
    #expect(c.perceiver == .init(latentCount: 8, depth: 2, headCount: 2, headDim: 16, qkLayerNorms: true))
    #expect(c.useResampler)
    let processor = try IdeficsImageProcessor(directory: Self.fixture)
    #expect(processor.height == 32 && processor.width == 32 && processor.resample == 3)
    #expect(processor.mean == IdeficsImageProcessor.standardMean)
  }

  /// PIL's bicubic resize, exact against the PIL backend; against the default torchvision
  /// backend (float resize of the uint8 tensor, rounded) at most one 8-bit level (1/255/std).
  @Test(arguments: ["dog", "small"])
  func pixelValuesMatchTheImageProcessor(_ name: String) throws {
    let pixels = try Self.pipeline(try IdeficsImageProcessor(directory: Self.fixture))
      .tensor(contentsOf: Self.images[name]!)
    #expect(pixels.shape == [3, 32, 32])
    let pil = maxAbsDifference(pixels.floats(), try Self.golden("pixel_values_\(name)_pil").floats())
    #expect(pil.value <= 1e-6, "\(pil)")
    let torchvision = maxAbsDifference(pixels.floats(), try Self.golden("pixel_values_\(name)").floats())
    #expect(torchvision.value <= 0.0151, "\(torchvision)")
  }

  @Test(arguments: ["dog", "small"])
  func visionAndResamplerMatchTransformers(_ name: String) throws {
    let model = try IdeficsVisionModel(directory: Self.fixture)
    let features = try model.imageFeatures(try Self.golden("pixel_values_\(name)"))
    #expect(features.shape == [17, 32])
    let vision = maxAbsDifference(features.floats(), try Self.golden("vision_\(name)").floats())
    #expect(vision.value <= 1e-4, "\(vision)")
    let resampler = try #require(model.resampler)
    let latents = try resampler(try Self.golden("vision_\(name)"))
    #expect(latents.shape == [8, 32])
    let perceiver = maxAbsDifference(latents.floats(), try Self.golden("perceiver_\(name)").floats())
    #expect(perceiver.value <= 1e-4, "\(perceiver)")
  }

  /// Flamingo's "any number of frames → a fixed number of tokens": both images' 34 vision
  /// tokens as one context.
  @Test func resamplerTakesAnyNumberOfTokens() throws {
    let model = try IdeficsVisionModel(directory: Self.fixture)
    let resampler = try #require(model.resampler)
    let frames = try Self.golden("vision_dog").floats() + Self.golden("vision_small").floats()
    let latents = try resampler(Tensor(frames, shape: [34, 32]))
    let difference = maxAbsDifference(latents.floats(), try Self.golden("perceiver_frames").floats())
    #expect(latents.shape == [8, 32] && difference.value <= 1e-4, "\(difference)")
  }

  @Test func badInputsAreRefused() throws {
    let model = try IdeficsVisionModel(directory: Self.fixture)
    let resampler = try #require(model.resampler)
    #expect {
      try resampler(Tensor(zeros: [5, 48]))
    } throws: { error in
      "\(error)".contains("[n, 32]") && "\(error)".contains("[5, 48]")
    }
    #expect(throws: ModelError.self) { try model.imageFeatures(Tensor(zeros: [3, 64, 64])) }
  }

  @Test func missingAndMisshapenTensorsAreNamed() throws {
    let store = try SafetensorsFile(path: Self.fixture + "/model.safetensors")
    let configuration = try IdeficsConfiguration(contentsOf: Self.fixture)
    func edited(_ edit: (inout [String: Tensor]) -> Void) throws -> SafetensorsFile {
      var tensors: [String: Tensor] = [:]
      for name in store.names { tensors[name] = try store.tensor(named: name) }
      edit(&tensors)
      let path = FileManager.default.temporaryDirectory.appendingPathComponent(
        "idefics-\(UUID().uuidString).safetensors"
      ).path
      try Safetensors.write(
        tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, to: path)
      return try SafetensorsFile(path: path)
    }
    let missing = try edited { $0["model.perceiver_resampler.blocks.1.0.k_layer_norm.weight"] = nil }
    defer { try? FileManager.default.removeItem(atPath: missing.path) }
    #expect {
      try IdeficsVisionModel(configuration: configuration, store: missing)
    } throws: { error in
      "\(error)".contains("model.perceiver_resampler.blocks.1.0.k_layer_norm.weight")
    }
    let misshapen = try edited { $0["model.perceiver_resampler.latents"] = Tensor(zeros: [4, 32]) }
    defer { try? FileManager.default.removeItem(atPath: misshapen.path) }
    #expect {
      try IdeficsVisionModel(configuration: configuration, store: misshapen)
    } throws: { error in
      let text = "\(error)"
      return text.contains("model.perceiver_resampler.latents") && text.contains("[4, 32]")
        && text.contains("[8, 32]")
    }
  }

  @Test func badConfigurationsNameTheKey() throws {
    #expect {
      try IdeficsConfiguration(
        json: try JSONParser.parse(
          Array(#"{"vision_config": {"embed_dim": 30, "num_attention_heads": 4}}"#.utf8), file: "c.json"
        ).root, source: "c.json")
    } throws: { error in
      "\(error)".contains("c.json") && "\(error)".contains("vision_config.embed_dim 30")
    }
    #expect {
      try IdeficsConfiguration(
        json: try JSONParser.parse(
          Array(#"{"perceiver_config": {"resampler_depth": "two"}}"#.utf8), file: "c.json"
        ).root, source: "c.json")
    } throws: { error in
      "\(error)".contains("perceiver_config.resampler_depth")
    }
    #expect {
      try IdeficsImageProcessor(
        json: try JSONParser.parse(Array(#"{"image_std": [1, 0, 1]}"#.utf8), file: "p.json").root,
        source: "p.json")
    } throws: { error in
      "\(error)".contains("p.json") && "\(error)".contains("image_std")
    }
  }
}

/// config.json and preprocessor_config.json are untrusted: mutated copies (bytes changed,
/// truncated, values swapped for other JSON types) either parse or throw, never crash.
@Suite("Idefics configuration fuzz") struct IdeficsConfigurationFuzzTests {
  @Test func mutatedFilesNeverCrash() throws {
    var random = SeededRandom(seed: 7)
    for file in ["config.json", "preprocessor_config.json"] {
      let original = [UInt8](
        try Data(contentsOf: URL(fileURLWithPath: IdeficsVisionTests.fixture + "/" + file)))
      for round in 0..<300 {
        var bytes = original
        switch round % 3 {
        case 0:
          for _ in 0..<4 {
            bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
          }
        case 1: bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
        default:
          // Replace one number with another kind of value.
          let text = String(decoding: bytes, as: UTF8.self)
          let replacements = ["-1", "0", "1e9", "\"x\"", "null", "[]", "{}", "true", "99999999999999999999"]
          let numbers = text.ranges(of: /[0-9]+(\.[0-9]+)?/)
          guard !numbers.isEmpty else { continue }
          let range = numbers[Int(random.next() % UInt64(numbers.count))]
          bytes = Array(text.replacingCharacters(in: range, with: replacements[Int(random.next() % 9)]).utf8)
        }
        guard let root = try? JSONParser.parse(bytes, file: file).root else { continue }
        if file == "config.json" {
          _ = try? IdeficsConfiguration(json: root, source: file)
        } else {
          _ = try? IdeficsImageProcessor(json: root, source: file)
        }
      }
    }
  }
}

import Foundation
import MMCore
import MMModels
import MMNN
import MMTestSupport
import MMTokenizers
import MMWeights
import Testing

/// A checkpoint with one tensor hidden or replaced, for the errors a damaged file gives.
struct EditedStore: WeightStore {
  let base: any WeightStore
  var hidden: Set<String> = []
  var replaced: [String: Tensor] = [:]

  var path: String { base.path }
  var names: [String] { base.names.filter { !hidden.contains($0) } }
  func contains(_ name: String) -> Bool { !hidden.contains(name) && base.contains(name) }
  func info(named name: String) throws(WeightFileError) -> TensorInfo {
    if hidden.contains(name) {
      throw WeightFileError(path: path, kind: .missingTensor, problem: "no tensor \(name)")
    }
    return try base.info(named: name)
  }
  func tensor(named name: String) throws(WeightFileError) -> Tensor {
    if hidden.contains(name) {
      throw WeightFileError(path: path, tensor: name, kind: .missingTensor, problem: "missing")
    }
    if let tensor = replaced[name] { return tensor }
    return try base.tensor(named: name)
  }
}

/// Damaged checkpoints, configurations and inputs give errors naming the file, key, expected and
/// found values — never a crash.
@Suite("BLIP-2 bad input") struct BLIP2BadInputTests {
  static func open(_ family: String, _ edit: (inout EditedStore) -> Void) throws -> Result<
    BLIP2Model, ModelError
  > {
    let directory = BLIP2Files.fixture(family)
    let configuration = try BLIP2Configuration(contentsOf: directory + "/config.json")
    var store = EditedStore(base: try openWeightStore(path: directory))
    edit(&store)
    do {
      return .success(try BLIP2Model(configuration: configuration, store: store, qformerTokenizer: nil))
    } catch { return .failure(error) }
  }

  static func message(_ result: Result<BLIP2Model, ModelError>) -> String {
    if case .failure(let error) = result { return error.description }
    return "no error"
  }

  @Test func missingTensorNamesItsKey() throws {
    for key in [
      "vision_model.encoder.layers.1.self_attn.qkv.weight",
      "qformer.encoder.layer.0.crossattention.attention.key.weight",
      "query_tokens", "language_projection.bias", "qformer.layernorm.weight",
    ] {
      let message = Self.message(try Self.open("blip2-tiny") { $0.hidden = [key] })
      #expect(message.contains(key) && message.contains("model.safetensors"), "\(key): \(message)")
    }
    let instruct = Self.message(
      try Self.open("instructblip-tiny") { $0.hidden = ["qformer.encoder.layer.1.output.dense.weight"] })
    #expect(instruct.contains("qformer.encoder.layer.1.output.dense.weight"), "\(instruct)")
  }

  @Test func wrongShapeNamesBothShapes() throws {
    let key = "qformer.encoder.layer.0.crossattention.attention.value.weight"
    let message = Self.message(try Self.open("blip2-tiny") { $0.replaced = [key: Tensor(zeros: [32, 16])] })
    #expect(
      message.contains(key) && message.contains("[32, 16]") && message.contains("[32, 32]"), "\(message)")
    let tokens = Self.message(
      try Self.open("blip2-tiny") { $0.replaced = ["query_tokens": Tensor(zeros: [1, 4, 32])] })
    #expect(tokens.contains("query_tokens") && tokens.contains("[1, 4, 32]") && tokens.contains("[1, 8, 32]"))
  }

  @Test func originalQAndVBiasesAreRead() throws {
    // Salesforce's checkpoints store q_bias and v_bias [d] instead of qkv.bias [3d]: same output
    // when the k part is zero.
    let directory = BLIP2Files.fixture("blip2-tiny")
    let configuration = try BLIP2Configuration(contentsOf: directory + "/config.json")
    let base = try openWeightStore(path: directory)
    var zeroK = EditedStore(base: base)
    var split = EditedStore(base: base)
    for i in 0..<2 {
      let prefix = "vision_model.encoder.layers.\(i).self_attn"
      var bias = try base.tensor(named: "\(prefix).qkv.bias").floats()
      for j in 32..<64 { bias[j] = 0 }
      zeroK.replaced["\(prefix).qkv.bias"] = Tensor(bias, shape: [96])
      split.hidden.insert("\(prefix).qkv.bias")
      split.replaced["\(prefix).q_bias"] = Tensor(Array(bias[0..<32]), shape: [32])
      split.replaced["\(prefix).v_bias"] = Tensor(Array(bias[64..<96]), shape: [32])
    }
    let pixels = Tensor(randomFloats(3 * 32 * 32, seed: 7), shape: [3, 32, 32])
    let a = try BLIP2Model(configuration: configuration, store: zeroK, qformerTokenizer: nil).vision(pixels)
    let b = try BLIP2Model(configuration: configuration, store: split, qformerTokenizer: nil).vision(pixels)
    #expect(a.floats() == b.floats())
  }

  /// A checkpoint saved in f16 (as many are) runs with its matrices kept in f16: the soft tokens
  /// stay close to the f32 reference.
  @Test(arguments: [DType.f16, .bf16])
  func halfPrecisionCheckpoint(dtype: DType) throws {
    let directory = BLIP2Files.fixture("instructblip-tiny")
    let configuration = try BLIP2Configuration(contentsOf: directory + "/config.json")
    let base = try openWeightStore(path: directory)
    var half = EditedStore(base: base)
    for name in base.names where !name.hasPrefix("language_model.") {
      half.replaced[name] = try base.tensor(named: name).converted(to: dtype)
    }
    let tokenizer = try Tokenizer(directory: directory + "/qformer_tokenizer")
    let model = try BLIP2Model(configuration: configuration, store: half, qformerTokenizer: tokenizer)
    let golden = try BLIP2Files.golden("instructblip-tiny")
    let out = try model.languageInputs(
      try model.vision(try BLIP2Files.tensor(golden, "pixel_values")), instruction: "What is in the photo?")
    let expected = try BLIP2Files.tensor(golden, "projected").floats()
    let scale = expected.reduce(Float(0)) { max($0, abs($1)) }
    let worst = maxAbsDifference(out.floats(), expected).value
    print("BLIP-2 \(dtype) weights: projected max |Δ| \(worst) (values up to \(scale))")
    #expect(worst <= (dtype == .f16 ? 0.01 : 0.08) * max(1, scale))
  }

  @Test func featuresOfAnotherWidthAreRefused() throws {
    let model = try BLIP2Model(directory: BLIP2Files.fixture("blip2-tiny"))
    #expect {
      _ = try model.languageInputs(Tensor(zeros: [17, 16]))
    } throws: { error in
      let text = "\(error)"
      return text.contains("[n, 32]") && text.contains("[17, 16]")
    }
    #expect(throws: ModelError.self) { _ = try model.vision(Tensor(zeros: [3, 48, 48])) }
    #expect(throws: ModelError.self) { _ = try model.vision(Tensor(zeros: [1, 32, 32])) }
  }

  @Test func instructionOnlyForInstructBLIP() throws {
    let blip2 = try BLIP2Model(directory: BLIP2Files.fixture("blip2-tiny"))
    let features = try BLIP2Files.tensor(try BLIP2Files.golden("blip2-tiny"), "vision")
    #expect {
      _ = try blip2.languageInputs(features, instruction: "what is this?")
    } throws: { "\($0)".contains("BLIP-2") && "\($0)".contains("no instruction") }
    let instruct = try BLIP2Model(directory: BLIP2Files.fixture("instructblip-tiny"))
    #expect {
      _ = try instruct.languageInputs(features)
    } throws: { "\($0)".contains("InstructBLIP") && "\($0)".contains("needs the instruction") }
    // Longer than the Q-Former's 64 positions.
    #expect {
      _ = try instruct.languageInputs(features, instruction: String(repeating: "car ", count: 80))
    } throws: { "\($0)".contains("64 positions") }
  }

  @Test func configurationErrorsNameTheKey() throws {
    let cases: [(String, String)] = [
      (#"{"model_type": "llava"}"#, "model_type"),
      (#"{"model_type": "blip-2", "vision_config": {"hidden_size": "wide"}}"#, "vision_config.hidden_size"),
      (
        #"{"model_type": "blip-2", "vision_config": {"hidden_size": 30, "num_attention_heads": 4}}"#,
        "vision_config.hidden_size"
      ),
      (
        #"{"model_type": "blip-2", "vision_config": {"image_size": 30, "patch_size": 8}}"#,
        "vision_config.image_size"
      ),
      (#"{"model_type": "blip-2", "qformer_config": {"hidden_act": "swish2"}}"#, "qformer_config.hidden_act"),
      (#"{"model_type": "blip-2", "qformer_config": []}"#, "qformer_config"),
      (#"{"model_type": "blip-2", "num_query_tokens": 0}"#, "num_query_tokens"),
      (#"{"model_type": "blip-2", "text_config": {"model_type": "gptj"}}"#, "text_config.hidden_size"),
    ]
    for (json, key) in cases {
      let root = try JSONParser.parse(Array(json.utf8), file: "config.json").root
      #expect {
        _ = try BLIP2Configuration(json: root, source: "x/config.json")
      } throws: { error in
        "\(error)".contains("x/config.json") && "\(error)".contains(key)
      }
    }
    #expect(throws: ModelError.self) { _ = try BLIP2Configuration(contentsOf: "/nonexistent/config.json") }
    #expect(throws: ModelError.self) { _ = try BLIPImageProcessorConfiguration(directory: "/nonexistent") }
  }

  /// Random edits of the fixture's config.json (values swapped for other JSON kinds, keys
  /// dropped) are read or refused with a ModelError, never a crash.
  @Test func configurationFuzz() throws {
    let path = BLIP2Files.fixture("instructblip-tiny") + "/config.json"
    let data = try #require(FileManager.default.contents(atPath: path))
    let root = try JSONParser.parse([UInt8](data), file: path).root
    let replacements: [JSONValue] = [
      .null, .string("x"), .number("-3"), .number("0"), .number("1e9"), .bool(true), .array([]), .object([]),
      .number("2.5"),
    ]
    var random = SeededRandom(seed: 11)
    for _ in 0..<300 {
      let mutated = mutate(root, &random, replacements)
      do {
        let c = try BLIP2Configuration(json: mutated, source: "fuzz")
        #expect(c.vision.hiddenSize % c.vision.headCount == 0 && c.vision.imageSize % c.vision.patchSize == 0)
      } catch {
        #expect(!"\(error)".isEmpty)
      }
      do { _ = try BLIPImageProcessorConfiguration(json: mutated, path: "", source: "fuzz") } catch {
        #expect("\(error)".contains("fuzz"))
      }
    }
  }

  /// The same for preprocessor_config.json: read or refused naming the file, never a crash.
  @Test func imageProcessorConfigurationFuzz() throws {
    let path = BLIP2Files.fixture("blip2-tiny") + "/preprocessor_config.json"
    let data = try #require(FileManager.default.contents(atPath: path))
    let root = try JSONParser.parse([UInt8](data), file: path).root
    let replacements: [JSONValue] = [
      .null, .string("x"), .number("-1"), .number("0"), .number("7"), .bool(false), .array([.number("1")]),
      .object([JSONMember("shortest_edge", .number("224"))]),
    ]
    var random = SeededRandom(seed: 5)
    var accepted = 0
    for _ in 0..<300 {
      do {
        let c = try BLIPImageProcessorConfiguration(
          json: mutate(root, &random, replacements), path: "", source: "fuzz.json")
        #expect(c.height >= 1 && c.width >= 1 && c.mean.count == 3 && !c.std.contains(0))
        accepted += 1
      } catch {
        #expect("\(error)".contains("fuzz.json"))
      }
    }
    #expect(accepted > 0)
  }

  private func mutate(_ value: JSONValue, _ random: inout SeededRandom, _ replacements: [JSONValue])
    -> JSONValue
  {
    guard let members = value.members else { return value }
    var out: [JSONMember] = []
    for member in members {
      let roll = random.next() % 10
      if roll == 0 { continue }
      if roll == 1 {
        out.append(JSONMember(member.key, replacements[Int(random.next() % UInt64(replacements.count))]))
      } else {
        out.append(JSONMember(member.key, mutate(member.value, &random, replacements)))
      }
    }
    return .object(out)
  }
}

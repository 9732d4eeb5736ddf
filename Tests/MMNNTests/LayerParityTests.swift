import Foundation
import MMCore
import MMNN
import MMTestSupport
import MMWeights
import Testing

/// MMNN's layers against PyTorch's own modules on the same weights and inputs
/// (Tests/Goldens/mmnn/layers.safetensors, written by Scripts/goldens/mmnn.py).
@Suite("MMNN layers vs PyTorch") struct LayerParityTests {
  static let goldens: any WeightStore = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url = url.deletingLastPathComponent()
    }
    do {
      return try openWeightStore(
        path: url.appendingPathComponent("Tests/Goldens/mmnn/layers.safetensors").path)
    } catch {
      fatalError("\(error): run Scripts/goldens/mmnn.py")
    }
  }()

  func scope(_ name: String) -> ParameterScope { ParameterScope(Self.goldens, prefix: name) }

  func expectMatch(_ got: Tensor, _ case: String, tolerance: Float = 1e-5) throws {
    let want = try scope(`case`).tensor("out")
    #expect(got.shape == want.shape)
    let difference = maxAbsDifference(got.floats(), want.floats()).value
    #expect(difference <= tolerance, "\(`case`): max abs difference \(difference)")
  }

  @Test func linearF32AndF16() throws {
    for name in ["linear", "linear_f16"] {
      let s = scope(name)
      let linear = try s.linear("", inputs: 24, outputs: 40)
      try expectMatch(try linear(s.tensor("x")), name)
    }
    #expect(try scope("linear_f16").stored("weight").dtype == .f16)
  }

  @Test func layerNorm() throws {
    let s = scope("layernorm")
    let norm = try s.layerNorm("", dim: 24, eps: 1e-6)
    try expectMatch(norm(try s.tensor("x")), "layernorm")
  }

  func inProjectionAttention(_ s: ParameterScope, biasKV: Bool) throws -> MultiHeadAttention {
    let inProjection = Linear(
      weight: try s.matrix("in_proj_weight", rows: 96, columns: 32),
      bias: try s.floats("in_proj_bias", count: 96))
    let kv =
      biasKV
      ? (
        k: try s.tensor("bias_k", shape: [1, 1, 32]).floats(),
        v: try s.tensor("bias_v", shape: [1, 1, 32]).floats()
      ) : nil
    return MultiHeadAttention(
      heads: 4, inProjection: inProjection, out: try s.linear("out_proj", inputs: 32, outputs: 32), biasKV: kv
    )
  }

  @Test func attentionWithBiasKVAndKeyPadding() throws {
    let s = scope("mha_bias_kv")
    let attention = try inProjectionAttention(s, biasKV: true)
    try expectMatch(try attention(s.tensor("x"), keyMask: s.tensor("key_mask")), "mha_bias_kv")
  }

  @Test func causalAttention() throws {
    let s = scope("mha_causal")
    let attention = try inProjectionAttention(s, biasKV: false)
    try expectMatch(try attention(s.tensor("x"), causal: true), "mha_causal")
  }

  @Test func crossAttentionWithOtherContextWidth() throws {
    let s = scope("mha_cross")
    let bias = try s.floats("in_proj_bias", count: 96)
    let attention = MultiHeadAttention(
      heads: 4,
      q: Linear(weight: try s.matrix("q_proj_weight", rows: 32, columns: 32), bias: Array(bias[0..<32])),
      k: Linear(weight: try s.matrix("k_proj_weight", rows: 32, columns: 20), bias: Array(bias[32..<64])),
      v: Linear(weight: try s.matrix("v_proj_weight", rows: 32, columns: 20), bias: Array(bias[64..<96])),
      out: try s.linear("out_proj", inputs: 32, outputs: 32))
    #expect(attention.fusedQKV == nil)
    try expectMatch(try attention(s.tensor("x"), context: s.tensor("context")), "mha_cross")
  }

  @Test func preNormBlockInPlace() throws {
    let s = scope("block")
    let attention = MultiHeadAttention(
      heads: 4,
      inProjection: Linear(
        weight: try s.matrix("attn.in_proj_weight", rows: 96, columns: 32),
        bias: try s.floats("attn.in_proj_bias", count: 96)),
      out: try s.linear("attn.out_proj", inputs: 32, outputs: 32))
    let block = PreNormTransformerBlock(
      norm1: try s.layerNorm("norm_1", dim: 32), attention: attention,
      norm2: try s.layerNorm("norm_2", dim: 32),
      mlp: MLP(
        fc1: try s.linear("fc1", inputs: 32, outputs: 64, activation: .gelu),
        fc2: try s.linear("fc2", inputs: 64, outputs: 32)))
    let x = Tensor(copying: try s.tensor("x"))
    try expectMatch(try block(x), "block", tolerance: 2e-5)
  }

  @Test func wrongShapesNameTheKey() throws {
    let s = scope("linear")
    #expect {
      _ = try s.linear("", inputs: 25, outputs: 40)
    } throws: { error in
      "\(error)".contains("'linear.weight'") && "\(error)".contains("[40, 24]")
        && "\(error)".contains("[40, 25]")
    }
    #expect {
      _ = try s.linear("nope", inputs: 24, outputs: 40)
    } throws: { error in "\(error)".contains("linear.nope.weight") }
    let linear = try s.linear("", inputs: 24, outputs: 40)
    #expect(throws: ModelError.self) { try linear(Tensor(zeros: [3, 23])) }
  }

  @Test func traceKeepsCopies() throws {
    let trace = ActivationTrace(only: ["a"])
    let t = Tensor([1, 2, 3], shape: [3])
    trace.record("a", t)
    trace.record("b", t)
    t.pointer(Float.self)[0] = 9
    #expect(trace["a"]?.floats() == [1, 2, 3])
    #expect(trace.names == ["a"])
  }
}

import MMCore
import MMTestSupport
import Testing

@testable import MMKernels

/// (tokens, heads, headDim, rotaryDim)
private let shapes: [(Int, Int, Int, Int)] = [
  (1, 1, 2, 2), (3, 2, 8, 8), (5, 3, 64, 64), (7, 4, 80, 80), (4, 2, 96, 32), (2, 5, 128, 64),
  (129, 8, 128, 128), (6, 2, 34, 18),
]

@Suite("RoPE")
struct RoPETests {
  @Test(arguments: shapes)
  func matchesReference(_ tokens: Int, _ heads: Int, _ headDim: Int, _ rotaryDim: Int) {
    let x = randomFloats(tokens * heads * headDim, seed: UInt64(tokens * 100 + headDim))
    let positions = (0..<tokens).map { ($0 * 37 + 5) % 9000 }
    let freqs = ropeInverseFrequencies(rotaryDim: rotaryDim, base: 10_000)
    for style in RoPEStyle.allCases {
      var fast = x
      applyRoPE(
        &fast, tokens: tokens, heads: heads, headDim: headDim, positions: positions,
        inverseFrequencies: freqs, rotaryDim: rotaryDim, style: style)
      let expected = Reference.rope(
        x, tokens: tokens, heads: heads, headDim: headDim,
        positions: positions, inverseFrequencies: freqs, rotaryDim: rotaryDim, style: style)
      #expect(
        allClose(fast, expected, atol: 1e-6, rtol: 1e-5), "\(style): \(differenceReport(fast, expected))")
      // The pass-through channels are untouched.
      for t in 0..<tokens {
        for h in 0..<heads {
          for c in rotaryDim..<headDim {
            let n = (t * heads + h) * headDim + c
            #expect(fast[n] == x[n])
          }
        }
      }
    }
  }

  @Test func stridedRowsInFusedQKV() {
    // x lives inside a fused [tokens, 3·heads·headDim] buffer: rotate only the Q slice in place.
    let (tokens, heads, headDim) = (5, 2, 16)
    let width = 3 * heads * headDim
    let fused = randomFloats(tokens * width, seed: 4)
    var rotated = fused
    let freqs = ropeInverseFrequencies(rotaryDim: headDim, base: 500_000)
    rotated.withUnsafeMutableBufferPointer { b in
      applyRoPE(
        b.baseAddress!, tokens: tokens, heads: heads, headDim: headDim,
        positions: Array(10..<15), inverseFrequencies: freqs, tokenStride: width)
    }
    let q: [Float] = (0..<tokens).flatMap { t in fused[(t * width)..<(t * width + heads * headDim)] }
    let expected = Reference.rope(
      q, tokens: tokens, heads: heads, headDim: headDim,
      positions: Array(10..<15), inverseFrequencies: freqs, rotaryDim: headDim, style: .rotateHalf)
    let got: [Float] = (0..<tokens).flatMap { t in rotated[(t * width)..<(t * width + heads * headDim)] }
    #expect(allClose(got, expected, atol: 1e-6, rtol: 1e-5), "\(differenceReport(got, expected))")
    let rest: [Float] = (0..<tokens).flatMap { t in rotated[(t * width + heads * headDim)..<((t + 1) * width)]
    }
    let original: [Float] = (0..<tokens).flatMap { t in
      fused[(t * width + heads * headDim)..<((t + 1) * width)]
    }
    #expect(rest == original)
  }

  @Test func llama3ScalingBands() {
    let scaling = Llama3RopeScaling(
      factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192)
    let plain = ropeInverseFrequencies(rotaryDim: 128, base: 500_000)
    let scaled = llama3InverseFrequencies(rotaryDim: 128, base: 500_000, scaling: scaling)
    #expect(scaled.first == plain.first)  // highest frequency: kept
    #expect(abs(scaled.last! - plain.last! / 8) <= 1e-6 * plain.last!)  // lowest: divided by factor
    #expect(zip(scaled, plain).allSatisfy { $0 <= $1 && $0 >= $1 / 8 * 0.999_999 })
  }

  /// HF `apply_rotary_pos_emb` (rotate-half, partial rotary), llama.cpp-style interleaved pairs,
  /// and the Llama-3 inverse frequencies from Scripts/goldens/nn.py.
  @Test(arguments: ["rope_hf.json", "rope_interleaved.json"])
  func matchesGolden(_ file: String) throws {
    let g = try NNGolden.load(file)
    let tokens = try g.int("tokens"), heads = try g.int("heads"), headDim = try g.int("head_dim")
    let rotaryDim = try g.int("rotary_dim")
    let freqs = ropeInverseFrequencies(rotaryDim: rotaryDim, base: Float(try g.value("base")))
    var x = try g.array("x")
    applyRoPE(
      &x, tokens: tokens, heads: heads, headDim: headDim,
      positions: try g.array("positions").map { Int($0) }, inverseFrequencies: freqs,
      rotaryDim: rotaryDim, style: file == "rope_hf.json" ? .rotateHalf : .interleaved)
    let expected = try g.array("y")
    #expect(allClose(x, expected, atol: 2e-5, rtol: 1e-5), "\(file): \(differenceReport(x, expected))")
  }

  @Test func llama3InverseFrequenciesMatchTransformers() throws {
    let g = try NNGolden.load("rope_llama3_inv_freq.json")
    let scaling = Llama3RopeScaling(
      factor: Float(try g.value("factor")), lowFreqFactor: Float(try g.value("low_freq_factor")),
      highFreqFactor: Float(try g.value("high_freq_factor")),
      originalMaxPositionEmbeddings: try g.int("original_max_position_embeddings"))
    let got = llama3InverseFrequencies(
      rotaryDim: try g.int("rotary_dim"), base: Float(try g.value("base")), scaling: scaling)
    let expected = try g.array("inv_freq")
    #expect(allClose(got, expected, atol: 0, rtol: 2e-6), "\(differenceReport(got, expected))")
    let plain = ropeInverseFrequencies(rotaryDim: try g.int("rotary_dim"), base: Float(try g.value("base")))
    let expectedPlain = try g.array("default_inv_freq")
    #expect(allClose(plain, expectedPlain, atol: 0, rtol: 2e-6), "\(differenceReport(plain, expectedPlain))")
  }
}

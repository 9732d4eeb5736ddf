import Foundation
import MMCore
import MMKernels
import MMLLM
import MMTestSupport
import Testing

/// The opt-in decoding mode, `.int8` activations (llama.cpp's scheme), on the Q8_0 fixture:
/// each GEMV's error is bounded in `QuantInt8Tests`; here the logits of a whole model stay
/// close to the exact (`.float32`) decoding and the greedy tokens agree.
@Suite("Llama int8 decoding")
struct LlamaInt8DecodingTests {
  /// Max abs logit difference allowed between `.int8` and `.float32` decoding of tiny-q8_0:
  /// the bound `LlamaParityTests` allows Q8_0 weights against the float model, since 8-bit
  /// activations are an error of the same size (measured 0.25 on prompt 2, logits of ~±5).
  static let tolerance: Float = 0.5

  @Test func tokenByTokenDecodingStaysCloseToExact() throws {
    let ids = try LlamaFiles.prompt(2)
    let exact = try LlamaParityTests.load("tiny-q8_0.gguf", activations: .float32)
    let fast = try LlamaParityTests.load("tiny-q8_0.gguf", activations: .int8)
    #expect(fast.decodeActivations == .int8)
    _ = try exact.forward([.tokens(Array(ids[0..<8]))])
    _ = try fast.forward([.tokens(Array(ids[0..<8]))])
    var worst: Float = 0
    var agreed = 0
    for i in 8..<ids.count {
      let a = try exact.forward([.tokens([ids[i]])]).floats()
      let b = try fast.forward([.tokens([ids[i]])]).floats()
      let difference = maxAbsDifference(b, a).value
      worst = max(worst, difference)
      #expect(difference > 0, "position \(i): the 8-bit path did not run")
      let sorted = a.sorted(by: >)
      if rowArgmax(a, columns: 256) == rowArgmax(b, columns: 256) {
        agreed += 1
      } else {
        #expect(sorted[0] - sorted[1] <= 2 * Self.tolerance, "position \(i): greedy token differs")
      }
    }
    #expect(worst <= Self.tolerance, "worst logit difference \(worst)")
    #expect(agreed * 100 >= (ids.count - 8) * 90, "greedy tokens agree at \(agreed) of \(ids.count - 8)")
  }

  /// F32 weights have no integer kernel: `.int8` leaves them exact.
  @Test func floatWeightsAreUnaffected() throws {
    let ids = try LlamaFiles.prompt(0)
    let exact = try LlamaParityTests.load("tiny-f32.gguf", activations: .float32)
    let fast = try LlamaParityTests.load("tiny-f32.gguf", activations: .int8)
    var a: [Float] = []
    var b: [Float] = []
    for id in ids {
      a += try exact.forward([.tokens([id])]).floats()
      b += try fast.forward([.tokens([id])]).floats()
    }
    #expect(a == b)
  }
}

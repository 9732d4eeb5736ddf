import Foundation
import MMCore
import Testing

@testable import MMLLM

/// Token choice: greedy, the seeded draw against the softmax it should follow, each filter, the
/// repetition penalty, and stop strings held back while they may still match.
@Suite struct SamplerTests {
  static let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 3.0, 0.0]

  @Test func greedyIsArgmaxWithTiesToTheLowestID() throws {
    var sampler = try Sampler(SamplingOptions())
    #expect(sampler.next(logits: Self.logits, history: []) == 1)
    #expect(Sampler.argmax([.nan, -.infinity, 2, 2]) == 2)
  }

  @Test func sameSeedSameTokensAndTheDrawFollowsTheSoftmax() throws {
    var options = SamplingOptions()
    options.temperature = 1
    options.seed = 42
    var a = try Sampler(options)
    var b = try Sampler(options)
    let drawsA = (0..<4000).map { _ in a.next(logits: Self.logits, history: []) }
    let drawsB = (0..<4000).map { _ in b.next(logits: Self.logits, history: []) }
    #expect(drawsA == drawsB)
    let exps = Self.logits.map { Foundation.exp(Double($0)) }
    let total = exps.reduce(0, +)
    for id in Self.logits.indices {
      let frequency = Double(drawsA.filter { $0 == Int32(id) }.count) / 4000
      // 4000 draws: 4 standard deviations of a binomial frequency is at most 0.032.
      #expect(abs(frequency - exps[id] / total) < 0.032, "token \(id): \(frequency) vs \(exps[id] / total)")
    }
  }

  @Test func filtersKeepOnlyTheirTokens() throws {
    func draws(_ configure: (inout SamplingOptions) -> Void) throws -> Set<Int32> {
      var options = SamplingOptions()
      options.temperature = 1
      options.seed = 7
      configure(&options)
      var sampler = try Sampler(options)
      return Set((0..<500).map { _ in sampler.next(logits: Self.logits, history: []) })
    }
    #expect(try draws { $0.topK = 1 } == [1])  // ties at the top: the lowest id first
    #expect(try draws { $0.topK = 3 } == [1, 4, 2])
    // p(1) = p(4) ≈ 0.34, p(2) ≈ 0.21: top_p 0.6 keeps exactly the two most likely.
    #expect(try draws { $0.topP = 0.6 } == [1, 4])
    // min_p 0.5: e^(2.5 − 3) ≈ 0.61 stays, e^(1 − 3) ≈ 0.14 goes.
    #expect(try draws { $0.minP = 0.5 } == [1, 4, 2])
  }

  @Test func repetitionPenaltyFollowsTransformers() throws {
    var options = SamplingOptions()
    options.repetitionPenalty = 2
    var sampler = try Sampler(options)
    // 1 and 4 were seen: 3.0 / 2 = 1.5 < 2.5, so 2 wins.
    #expect(sampler.next(logits: Self.logits, history: [1, 4]) == 2)
    // Negative logits are multiplied: token 3 (−1) becomes −2.
    #expect(sampler.next(logits: [-1, -1.5], history: [0]) == 1)
  }

  @Test func invalidOptionsAreNamed() {
    var options = SamplingOptions()
    options.topP = 0
    #expect(throws: SamplingError.self) { try Sampler(options) }
    options = SamplingOptions()
    options.temperature = -1
    do {
      _ = try Sampler(options)
      Issue.record("negative temperature accepted")
    } catch { #expect(error.description.contains("temperature")) }
  }

  @Test func stopStringsAreHeldBackAndCut() {
    var matcher = StopStringMatcher(["<|im_end|>", "\n\nUser:"])
    var shown = ""
    var stopped = false
    for piece in ["Paris is", " the capital.", "<|im", "_end|>", "never shown"] where !stopped {
      let (emit, hit) = matcher.feed(piece)
      shown += emit
      stopped = hit
    }
    #expect(stopped && shown == "Paris is the capital.")
    var partial = StopStringMatcher(["STOP"])
    #expect(partial.feed("ab ST").emit == "ab ")
    #expect(partial.feed("AR").emit == "STAR")
    #expect(partial.feed("S").emit == "")
    #expect(partial.flush() == "S")
  }
}

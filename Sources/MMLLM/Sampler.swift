import Foundation
import MMCore

/// How the next token is chosen from the logits. The defaults are greedy decoding.
public struct SamplingOptions: Sendable, Equatable {
  /// 0 is greedy (argmax, ties to the lowest id); otherwise logits are divided by it.
  public var temperature: Float = 0
  /// Keep the k most likely tokens (0: all).
  public var topK = 0
  /// Keep the smallest set of most likely tokens whose probabilities sum to ≥ topP (1: all).
  public var topP: Float = 1
  /// Drop tokens less likely than minP × the most likely one's probability (0: none).
  public var minP: Float = 0
  /// > 1 discourages tokens seen in the last `repetitionWindow` tokens (HF's rule: a positive
  /// logit is divided by it, a negative one multiplied).
  public var repetitionPenalty: Float = 1
  /// How many recent tokens the repetition penalty looks at (0: all generated and prompt tokens).
  public var repetitionWindow = 64
  /// The seed of the random draw; the same seed and inputs give the same tokens.
  public var seed: UInt64 = 0

  public init() {}

  /// Checks the ranges; the message names the option.
  public func validate() throws(SamplingError) {
    guard temperature >= 0, temperature.isFinite else {
      throw SamplingError("temperature must be ≥ 0, got \(temperature)")
    }
    guard topK >= 0 else { throw SamplingError("top_k must be ≥ 0, got \(topK)") }
    guard topP > 0, topP <= 1 else { throw SamplingError("top_p must be in (0, 1], got \(topP)") }
    guard minP >= 0, minP <= 1 else { throw SamplingError("min_p must be in [0, 1], got \(minP)") }
    guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
      throw SamplingError("repetition_penalty must be > 0, got \(repetitionPenalty)")
    }
    guard repetitionWindow >= 0 else {
      throw SamplingError("repetition window must be ≥ 0, got \(repetitionWindow)")
    }
  }
}

public struct SamplingError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public init(_ message: String) { description = message }
}

/// Chooses tokens from logits, in the order HF transformers applies its logits processors:
/// repetition penalty → temperature → top-k → top-p → min-p → softmax → a seeded draw.
/// Greedy when the temperature is 0 (after the repetition penalty).
public struct Sampler: Sendable {
  public let options: SamplingOptions
  private var random: SeededRandom

  public init(_ options: SamplingOptions) throws(SamplingError) {
    try options.validate()
    self.options = options
    random = SeededRandom(seed: options.seed)
  }

  /// logits: [vocab] → the chosen token id. `history` is the prompt and generated tokens so far.
  public mutating func next(logits: [Float], history: [Int32]) -> Int32 {
    var scores = logits
    if options.repetitionPenalty != 1 {
      let window = options.repetitionWindow == 0 ? history[...] : history.suffix(options.repetitionWindow)
      for id in Set(window) where id >= 0 && Int(id) < scores.count {
        let s = scores[Int(id)]
        scores[Int(id)] = s > 0 ? s / options.repetitionPenalty : s * options.repetitionPenalty
      }
    }
    if options.temperature == 0 { return Self.argmax(scores) }
    for i in scores.indices { scores[i] /= options.temperature }
    var candidates = scores.indices.filter { !scores[$0].isNaN }.sorted { a, b in
      scores[a] != scores[b] ? scores[a] > scores[b] : a < b
    }
    guard !candidates.isEmpty else { return 0 }
    if options.topK > 0 && options.topK < candidates.count {
      candidates.removeLast(candidates.count - options.topK)
    }
    let peak = scores[candidates[0]]
    var probabilities = candidates.map { Double(Foundation.exp(Double(scores[$0] - peak))) }
    var total = probabilities.reduce(0, +)
    if options.topP < 1 {
      var cumulative = 0.0
      var keep = candidates.count
      for (rank, p) in probabilities.enumerated() {
        cumulative += p / total
        if cumulative >= Double(options.topP) {
          keep = rank + 1
          break
        }
      }
      candidates.removeLast(candidates.count - keep)
      probabilities.removeLast(probabilities.count - keep)
      total = probabilities.reduce(0, +)
    }
    if options.minP > 0 {
      let threshold = Double(options.minP) * probabilities[0]
      let keep = max(1, probabilities.prefix { $0 >= threshold }.count)
      candidates.removeLast(candidates.count - keep)
      probabilities.removeLast(probabilities.count - keep)
      total = probabilities.reduce(0, +)
    }
    // A draw in [0, total): 53 random bits, so every seed gives the same token on every machine.
    let draw = Double(random.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * total
    var cumulative = 0.0
    for (index, p) in probabilities.enumerated() {
      cumulative += p
      if draw < cumulative { return Int32(candidates[index]) }
    }
    return Int32(candidates[candidates.count - 1])
  }

  /// The index of the largest value, ties to the lowest index (NaN never wins).
  public static func argmax(_ values: [Float]) -> Int32 {
    var best = 0
    var bestValue = -Float.infinity
    for (i, v) in values.enumerated() where v > bestValue {
      best = i
      bestValue = v
    }
    return Int32(best)
  }
}

/// Stops generation at any of `stops` in the decoded text; holds back text that might be the
/// start of a stop string, so a stop string is never printed (as llama.cpp's server does).
public struct StopStringMatcher: Sendable {
  public let stops: [String]
  private var pending = ""

  public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

  /// Adds newly decoded text; returns the text safe to emit now and whether a stop was hit (the
  /// text before the stop is emitted, the stop and anything after it are not).
  public mutating func feed(_ text: String) -> (emit: String, stopped: Bool) {
    pending += text
    for stop in stops {
      if let range = pending.range(of: stop) {
        let before = String(pending[..<range.lowerBound])
        pending = ""
        return (before, true)
      }
    }
    // Keep the longest suffix that is a prefix of some stop string.
    var hold = 0
    for stop in stops {
      for length in stride(from: min(stop.count - 1, pending.count), through: 1, by: -1)
      where pending.hasSuffix(String(stop.prefix(length))) {
        hold = max(hold, length)
        break
      }
    }
    let emit = String(pending.dropLast(hold))
    pending = String(pending.suffix(hold))
    return (emit, false)
  }

  /// The text held back at the end of generation.
  public mutating func flush() -> String {
    defer { pending = "" }
    return pending
  }
}

import Foundation
import MMCore
import Testing

@testable import MMTokenizers

/// Throughput on ~100 KB of mixed text (prints tokens/s; asserts nothing about time). Runs with
/// `MMGRAPH_TOKENIZER_BENCH=1`; the real tokenizers join in when `MMGRAPH_MODELS` is set.
@Suite("Tokenizer throughput") struct ThroughputTests {
  static let enabled = ProcessInfo.processInfo.environment["MMGRAPH_TOKENIZER_BENCH"] != nil

  /// About 100 KB of words drawn (a seeded LCG) from the golden texts, with their tabs and
  /// line breaks: words repeat as in prose, long passages do not. Scripts/goldens/tokenizers.py
  /// builds the same text for the bulk goldens.
  static func text() throws -> String {
    var words: [String] = []
    for text in try TokenizerFixtures.cases("bytelevel-gpt2").map(\.text) {
      words += text.unicodeScalars.split(separator: " ").map { String(String.UnicodeScalarView($0)) }
    }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var out = ""
    while out.utf8.count < 100_000 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      out.unicodeScalars += words[Int(state >> 33) % words.count].unicodeScalars
      out.unicodeScalars.append((state >> 20) % 13 == 0 ? "\n" : " ")
    }
    return out
  }

  /// Count and FNV-1a-64 of the ids (each as 4 little-endian bytes), as the script writes them.
  static func digest(_ ids: [Int32]) -> (Int, String) {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for id in ids {
      for shift in stride(from: 0, to: 32, by: 8) {
        h = (h ^ UInt64(UInt32(bitPattern: id) >> UInt32(shift) & 0xFF)) &* 0x100_0000_01B3
      }
    }
    let hex = String(h, radix: 16)
    return (ids.count, String(repeating: "0", count: 16 - hex.count) + hex)
  }

  /// The 100 KB text gives HF's ids exactly (count and hash) with every fixture, and with the
  /// real tokenizers when they are there.
  @Test func bulkTextMatchesHuggingFace() throws {
    let text = try Self.text()
    var checks: [(String, String, String)] = GoldenTests.fixtures.map {
      ($0, TokenizerFixtures.fixture("\($0)/tokenizer.json"), "bulk")
    }
    for name in ["smollm2", "whisper-tiny-en", "minilm"] {
      if let path = TokenizerFixtures.model("\(name)/tokenizer.json") {
        checks.append(("real-" + name, path, "real-bulk"))
      }
    }
    for (name, path, golden) in checks {
      let expected = try #require(TokenizerFixtures.json(TokenizerFixtures.goldenPath(golden))[name])
      let (count, hash) = Self.digest(try Tokenizer(contentsOf: path).encode(text, addSpecialTokens: false))
      #expect(count == expected["count"]?.int, "\(name)")
      #expect(hash == expected["fnv1a64"]?.string, "\(name)")
    }
  }

  @Test(.enabled(if: enabled, "set MMGRAPH_TOKENIZER_BENCH=1 to print timings")) func encodeAndDecode() throws
  {
    let text = try Self.text()
    if let path = ProcessInfo.processInfo.environment["MMGRAPH_TOKENIZER_BENCH_TEXT"] {
      try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    var paths = GoldenTests.fixtures.map { ($0, TokenizerFixtures.fixture("\($0)/tokenizer.json")) }
    for name in ["smollm2", "whisper-tiny-en", "minilm"] {
      if let path = TokenizerFixtures.model("\(name)/tokenizer.json") { paths.append(("real " + name, path)) }
    }
    for (name, path) in paths {
      let loadStart = ContinuousClock.now
      let tokenizer = try Tokenizer(contentsOf: path)
      let loaded = ContinuousClock.now - loadStart
      let start = ContinuousClock.now
      let ids = tokenizer.encode(text, addSpecialTokens: false)
      let encoded = ContinuousClock.now - start
      let decodeStart = ContinuousClock.now
      _ = try tokenizer.decode(ids)
      let decoded = ContinuousClock.now - decodeStart
      let seconds = Double(encoded.components.attoseconds) / 1e18 + Double(encoded.components.seconds)
      let decodeSeconds = Double(decoded.components.attoseconds) / 1e18 + Double(decoded.components.seconds)
      print(
        "throughput \(name): \(text.utf8.count) bytes → \(ids.count) tokens, encode "
          + "\(Int(Double(ids.count) / seconds)) tokens/s, decode \(Int(Double(ids.count) / decodeSeconds)) tokens/s, "
          + "load \(loaded)")
    }
  }
}

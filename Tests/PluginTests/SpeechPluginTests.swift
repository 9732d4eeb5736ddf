import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMTestSupport
import MMWeights
import Testing

@testable import SpeechPlugin

/// A node context for one batch call: given inputs, recorded outputs and progress.
final class RecordingContext: NodeContext {
  let nodeName = "asr"
  let inputs: [String: Value]
  var outputs: [String: Value] = [:]
  var progressUnits: [String] = []
  var partials: [String: String] = [:]
  init(inputs: [String: Value]) { self.inputs = inputs }
  func input(_ port: String) -> Value? { inputs[port] }
  var timestamp: Timestamp { .none }
  func emit(_ port: String, _ value: Value, at timestamp: Timestamp) { outputs[port] = value }
  func progress(_ done: Int, of total: Int, unit: String) { progressUnits.append(unit) }
  func partial(_ port: String, text: String) { partials[port, default: ""] += text }
  var isCancelled: Bool { false }
}

/// `speech.transcribe` on the tiny Whisper fixture (Scripts/goldens/whisper.py): the greedy
/// tokens transformers produced for Samples/question.wav, whatever the input's rate and channels.
@Suite("speech.transcribe") struct SpeechPluginTests {
  static let root = packageRoot

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  static func node(model: String, maxTokens: Int) throws -> any Node {
    let descriptor = try #require(SpeechPlugin.descriptors.first { $0.type == "speech.transcribe" })
    var values: [String: JSONValue] = ["model": .string(model), "max_tokens": .number("\(maxTokens)")]
    for option in descriptor.options where values[option.name] == nil {
      values[option.name] = option.defaultValue
    }
    return try descriptor.make(NodeOptions(values))
  }

  /// The golden greedy tokens of the tiny model (f32 safetensors or f16 CTranslate2).
  static func goldenTokens(_ name: String) throws -> [Int32] {
    let file = try SafetensorsFile(path: path("Tests/Goldens/whisper/tiny.safetensors"))
    return try file.tensor(named: name).scalars(Int64.self).map { Int32($0) }
  }

  static func question() throws -> Audio {
    let (samples, rate) = try AudioFile.read(contentsOf: path("Samples/question.wav"))
    return Audio(samples: samples, sampleRate: rate)
  }

  static func run(_ node: any Node, _ audio: Audio) throws -> RecordingContext {
    let context = RecordingContext(inputs: ["audio": .audio(audio)])
    _ = try node.process(context)
    return context
  }

  @Test("16 kHz mono: the golden tokens and their text, progress reported")
  func transcribes() throws {
    for (folder, golden) in [("tiny", "tokens"), ("tiny-ct2", "tokens_f16")] {
      let expected = try Self.goldenTokens(golden)
      let node = try Self.node(
        model: Self.path("Tests/Fixtures/whisper/\(folder)"), maxTokens: expected.count)
      let context = try Self.run(node, try Self.question())
      guard case .tokens(let tokens)? = context.outputs["tokens"],
        case .text(let text)? = context.outputs["text"]
      else {
        Issue.record("\(folder): no tokens/text emitted")
        continue
      }
      #expect(tokens == expected, "\(folder)")
      #expect(!text.isEmpty && text == text.trimmingCharacters(in: .whitespacesAndNewlines), "\(folder)")
      #expect(context.progressUnits.filter { $0 == "tokens" }.count == expected.count, "\(folder)")
      // The streamed pieces add up to the transcript (partial text; the final value is trimmed).
      #expect(context.partials["text"]?.trimmingCharacters(in: .whitespacesAndNewlines) == text, "\(folder)")
    }
  }

  @Test("Stereo 48 kHz input is mixed down and resampled first")
  func otherRateAndChannels() throws {
    let audio = try Self.question()
    let mono = audio.samples.floats()
    let upsampled = try resample(mono, from: 16000, to: 48000)
    let stereo = Audio(
      samples: Tensor(upsampled + upsampled, shape: [2, upsampled.count]), sampleRate: 48000)
    let features = try TranscribeNode.features(stereo, melBins: 80)
    #expect(features.shape == [80, 3000])
    // Two equal channels mix down to the mono signal exactly.
    let mono48k = Audio(samples: Tensor(upsampled, shape: [1, upsampled.count]), sampleRate: 48000)
    #expect(try TranscribeNode.features(mono48k, melBins: 80).floats() == features.floats())
    // The round trip 16 k → 48 k → 16 k is close to, not exactly, the original (the resampler's
    // 0.99 roll-off removes the top of the band, which the log scale magnifies in the top bins).
    let direct = try TranscribeNode.features(audio, melBins: 80)
    let differences = zip(features.floats(), direct.floats()).map { abs($0 - $1) }
    let mean = differences.reduce(0, +) / Float(differences.count)
    #expect(mean < 0.01, "log-mel mean |Δ| \(mean), max \(differences.max() ?? 0)")
    let expected = try Self.goldenTokens("tokens")
    let node = try Self.node(model: Self.path("Tests/Fixtures/whisper/tiny"), maxTokens: 3)
    let context = try Self.run(node, stereo)
    guard case .tokens(let tokens)? = context.outputs["tokens"] else {
      Issue.record("no tokens")
      return
    }
    #expect(tokens == Array(expected.prefix(3)))
  }

  @Test("A missing model folder names the path and the fetch command")
  func missingModel() throws {
    let node = try Self.node(model: "/nonexistent/whisper-tiny-en", maxTokens: 4)
    do {
      _ = try Self.run(node, try Self.question())
      Issue.record("a missing model must fail")
    } catch {
      let message = "\(error)"
      #expect(message.contains("/nonexistent/whisper-tiny-en"))
      #expect(message.contains("bash Scripts/fetch-models.sh whisper-tiny-en"))
    }
  }

  @Test("The model is loaded once per process and path")
  func cached() throws {
    let folder = Self.path("Tests/Fixtures/whisper/tiny")
    let first = try SpeechModel.shared(folder, context: nil)
    let second = try SpeechModel.shared(folder, context: nil)
    #expect(first === second)
  }

  @Test("The node is registered under speech.* with its ports")
  func registration() throws {
    var registry = NodeRegistry()
    try SpeechPlugin.register(into: &registry)
    #expect(registry.typeNames == ["speech.transcribe"])
    let descriptor = try #require(SpeechPlugin.descriptors.first)
    #expect(descriptor.inputs.map(\.name) == ["audio"])
    #expect(descriptor.outputs.map(\.name) == ["text", "tokens"])
    #expect(
      descriptor.options.first { $0.name == "model" }?.defaultValue
        == .string("~/.cache/mmgraph/models/whisper-tiny-en"))
  }
}

import Foundation
import MMCore
import MMGraph
import MMLLM
import MMTokenizers

/// LLM nodes (`llm.*`): a LLaMA-family decoder from a GGUF file or a Hugging Face folder, with
/// the model's own tokenizer and chat template, and sampling. Registered through `MMBuiltins`.
public enum LLMPlugin: NodePlugin {
  public static let name = "llm"

  public static let descriptors: [NodeDescriptor] = [chatDescriptor]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
  }
}

/// prompt (+ system) → text: the model's reply, and tokens: its ids. The prompt is rendered with
/// the model's chat template (a user turn after an optional system turn, then the generation
/// prompt); generation stops at an end-of-turn token, a stop string or `max_tokens`.
let chatDescriptor = NodeDescriptor(
  type: "llm.chat",
  doc:
    "Answers a prompt with a LLaMA-family model (GGUF or HF folder) through its own chat template; greedy by default.",
  example: exampleNode(
    "llm.chat", inputs: [("prompt", "$prompt")],
    options: [("model", "\"models/smollm2.gguf\""), ("max_tokens", "64")]),
  inputs: [
    PortSpec("prompt", .text, doc: "the user's message"),
    PortSpec("system", .text, doc: "a system message (overrides the option)", optional: true),
  ],
  outputs: [
    PortSpec("text", .text, doc: "the reply, without the end-of-turn token or stop string"),
    PortSpec("tokens", .tokens, doc: "the generated token ids"),
  ],
  options: [
    OptionSpec("model", .path, doc: "a .gguf file or a Hugging Face checkpoint folder"),
    OptionSpec("system", .string, default: .string(""), doc: "a system message (empty: none)"),
    OptionSpec(
      "max_tokens", .int(range: 1...1_000_000), default: .number("256"), doc: "the most tokens to generate"),
    OptionSpec(
      "context", .int(range: 16...1_000_000), default: .number("2048"),
      doc: "KV-cache length (prompt + reply)"),
    OptionSpec("temperature", .float, default: .number("0"), doc: "0: greedy"),
    OptionSpec(
      "top_k", .int(range: 0...1_000_000), default: .number("0"), doc: "keep the k likeliest (0: all)"),
    OptionSpec("top_p", .float, default: .number("1"), doc: "nucleus mass (1: all)"),
    OptionSpec("min_p", .float, default: .number("0"), doc: "drop tokens below min_p × the top probability"),
    OptionSpec("repetition_penalty", .float, default: .number("1"), doc: "> 1 discourages repeats"),
    OptionSpec(
      "seed", .int(range: 0...Int(Int32.max)), default: .number("0"), doc: "seed of the random draw"),
    OptionSpec("stop", .list(.string), default: .array([]), doc: "strings that end the reply"),
    OptionSpec("raw", .bool, default: .bool(false), doc: "feed the prompt as is, without the chat template"),
    OptionSpec(
      "activations", .choice(["f32", "int8"]), default: .string("f32"),
      doc:
        "decoding arithmetic for quantized weights: f32 (exact, transformers' numbers) or int8 (llama.cpp's scheme, ~1.7-2x faster)"
    ),
  ],
  isPure: true,
  filesRead: { options in [options.string("model")] },
  make: { options in
    var sampling = SamplingOptions()
    sampling.temperature = Float(options.double("temperature"))
    sampling.topK = options.int("top_k")
    sampling.topP = Float(options.double("top_p"))
    sampling.minP = Float(options.double("min_p"))
    sampling.repetitionPenalty = Float(options.double("repetition_penalty"))
    sampling.seed = UInt64(options.int("seed"))
    do { try sampling.validate() } catch { throw NodeFailure("llm.chat: \(error)") }
    return ChatNode(
      modelPath: options.string("model"), context: options.int("context"), system: options.string("system"),
      maxTokens: options.int("max_tokens"), sampling: sampling,
      stops: (options["stop"]?.elements ?? []).compactMap(\.string), raw: options.bool("raw"),
      int8Activations: options.string("activations") == "int8")
  })

final class ChatNode: Node {
  let modelPath: String
  let context: Int
  let system: String
  let maxTokens: Int
  let sampling: SamplingOptions
  let stops: [String]
  let raw: Bool
  let int8Activations: Bool

  init(
    modelPath: String, context: Int, system: String, maxTokens: Int, sampling: SamplingOptions,
    stops: [String],
    raw: Bool, int8Activations: Bool
  ) {
    self.modelPath = modelPath
    self.context = context
    self.system = system
    self.maxTokens = maxTokens
    self.sampling = sampling
    self.stops = stops
    self.raw = raw
    self.int8Activations = int8Activations
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let prompt = try context.text("prompt")
    var systemText = system
    if case .text(let given)? = context.input("system") { systemText = given }
    let lm: LanguageModel
    do { lm = try LanguageModel.shared(modelPath, context: self.context) } catch {
      throw NodeFailure("\(context.nodeName): cannot load the model: \(error)")
    }
    let (text, tokens) = try lm.lock.withLock { _ in
      try generate(lm, prompt: prompt, system: systemText, context: context)
    }
    context.emit("text", .text(text))
    context.emit("tokens", .tokens(tokens))
    return .done
  }

  func generate(_ lm: LanguageModel, prompt: String, system: String, context: NodeContext) throws -> (
    String, [Int32]
  ) {
    let ids = try lm.promptIDs(system: system, user: prompt, raw: raw)
    guard ids.count + maxTokens <= lm.model.maxSequenceLength else {
      throw NodeFailure(
        "\(context.nodeName): the prompt is \(ids.count) tokens; with max_tokens \(maxTokens) that is over the context of \(lm.model.maxSequenceLength) (raise the context option or lower max_tokens)"
      )
    }
    lm.model.reset()
    lm.model.decodeActivations = int8Activations ? .int8 : .float32
    var sampler = try Sampler(sampling)
    var decoder = lm.tokenizer.streamingDecoder(skipSpecialTokens: true)
    var matcher = StopStringMatcher(stops)
    var history = ids
    var generated: [Int32] = []
    var text = ""
    var logits = try lm.model.forward([.tokens(ids)])
    while generated.count < maxTokens, !context.isCancelled {
      let next = sampler.next(logits: logits.floats(), history: history)
      if lm.stopTokens.contains(next) { break }
      generated.append(next)
      history.append(next)
      context.progress(generated.count, of: maxTokens, unit: "tokens")
      if let piece = try decoder.push(next) {
        let (emit, stopped) = matcher.feed(piece)
        text += emit
        if !emit.isEmpty { context.partial("text", text: emit) }
        if stopped { return (text, generated) }
      }
      if generated.count < maxTokens { logits = try lm.model.forward([.tokens([next])]) }
    }
    let tail = matcher.feed(try decoder.finish()).emit + matcher.flush()
    if !tail.isEmpty { context.partial("text", text: tail) }
    return (text + tail, generated)
  }
}

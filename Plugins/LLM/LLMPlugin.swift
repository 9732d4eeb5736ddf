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

}

/// prompt (+ system, + media) → text: the model's reply, and tokens: its ids. The prompt is
/// rendered with the model's chat template (a user turn after an optional system turn, then the
/// generation prompt); generation stops at an end-of-turn token, a stop string or `max_tokens`.
///
/// Media (`media`, `media2`, … `media8`: a connector's soft tokens [n, hidden]) take the place
/// of the placeholders in the prompt, in order (`MediaPrompt`); for a gated cross-attention model
/// (Idefics) they are [latents, vision width] images its cross-attention layers attend to, the
/// placeholder tokens staying in the prompt. Widths are checked when the graph loads; the
/// placeholder count and the context are checked before the run starts (`preflight`), with the
/// prompt when it is a graph input.
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
  ]
    + mediaPorts.enumerated().map { i, port in
      PortSpec(
        port, .tensor(dtype: .f32, shape: [.symbol("n\(i + 1)"), .symbol("width")]),
        doc: i == 0
          ? "soft tokens [n, hidden] of a connector, in place of the first placeholder (Idefics: an image's [latents, width])"
          : "in place of placeholder \(i + 1)", optional: true)
    },
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
      "format", .string, default: .string("{prompt}"),
      doc: "the user message around the prompt input, e.g. \"Question: {prompt} Answer:\" (BLIP-2)"),
    OptionSpec(
      "media_at", .choice(["auto", "placeholder", "start"]), default: .string("auto"),
      doc:
        "placeholder: each medium in place of a placeholder; start: all before the prompt, BOS included (BLIP-2's processors); auto: start for BLIP-2/InstructBLIP checkpoints"
    ),
    OptionSpec(
      "placeholder", .string, default: .string("<image>"),
      doc: "where each medium goes in the prompt: a token of the vocabulary or any text"),
    OptionSpec(
      "activations", .choice(["f32", "int8"]), default: .string("f32"),
      doc:
        "decoding arithmetic for quantized weights: f32 (exact, transformers' numbers) or int8 (llama.cpp's scheme, ~1.7-2x faster)"
    ),
  ],
  typeRule: chatTypeRule,
  isPure: true,
  filesRead: { options in [options.string("model")] },
  preflight: chatPreflight,
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
      format: options.string("format"), placeholder: options.string("placeholder"),
      mediaAt: options.string("media_at"),
      int8Activations: options.string("activations") == "int8")
  })

/// Media inputs must be connected in order (`media`, `media2`, …) and be [n, width] tensors of
/// the width the model takes: its hidden size, or the image width of its cross-attention.
let chatTypeRule: TypeRule = { (inputs, options) throws(TypeRuleError) in
  let connected = mediaPorts.filter { inputs[$0] != nil }
  if let gap = mediaPorts.prefix(connected.count).first(where: { inputs[$0] == nil }) {
    throw TypeRuleError(
      port: connected.last ?? gap, expected: "media inputs connected in order, \(gap) first",
      found: "\(connected.joined(separator: ", ")) connected")
  }
  let path = options.string("model")
  if !connected.isEmpty, let widths = ModelWidths(path: path) {
    let width = widths.crossAttention ?? widths.hidden
    let what = widths.crossAttention == nil ? "the hidden size" : "the image width of the cross-attention"
    for port in connected {
      guard case .tensor(_, let shape?)? = inputs[port], shape.count == 2, case .fixed(let found) = shape[1]
      else { continue }
      if found != width {
        throw TypeRuleError(
          port: port, expected: "tensor[n, \(width)] (\(what) of \(path))",
          found: "tensor[\(shape[0]), \(found)]")
      }
    }
  }
  return ["text": .text, "tokens": .tokens]
}

/// Before the run: the prompt (when it is a graph input) has one placeholder per medium and fits
/// the context with the media's soft tokens; the plan shows each medium's soft tokens and the
/// prompt's length.
let chatPreflight: Preflight = { context in
  let options = context.options
  let path = options.string("model")
  let connected = mediaPorts.filter { context.inputTypes[$0] != nil }
  let widths = ModelWidths(path: path)
  let cross = widths?.crossAttention != nil
  let placeholder = options.string("placeholder")
  let mediaAt = options.string("media_at")
  let mediaFirst = MediaPrompt.mediaFirst(widths: widths, mediaAt: mediaAt)
  var notes: [String] = []
  var soft = 0
  var known = true
  for (i, port) in connected.enumerated() {
    let rows = staticRows(context.inputTypes[port])
    let count = rows.map(String.init) ?? "n (known when the run starts)"
    notes.append(
      cross
        ? "\(port): \(count) image tokens for the gated cross-attention after '\(placeholder)' \(i + 1)"
        : mediaFirst
          ? "\(port): \(count) soft tokens before the prompt"
          : "\(port): \(count) soft tokens in place of '\(placeholder)' \(i + 1)")
    if let rows { soft += rows } else { known = false }
  }
  guard let prompt = context.text("prompt") else {
    if !connected.isEmpty {
      notes.append("prompt: its length is known once the prompt is given (--input prompt=…)")
    }
    return notes
  }
  let format: ChatFormat
  do { format = try ChatFormat.shared(path) } catch {
    throw NodeFailure("\(context.nodeName): cannot read the model's tokenizer: \(error)")
  }
  let layout = try MediaPrompt.checked(
    format: format, widths: widths, mediaAt: mediaAt,
    system: context.text("system") ?? options.string("system"),
    user: userMessage(options.string("format"), prompt: prompt), raw: options.bool("raw"),
    placeholder: placeholder, media: connected, node: context.nodeName)
  let maxTokens = options.int("max_tokens")
  let contextLength = options.int("context")
  if known {
    try layout.checkLength(
      softTokens: soft, maxTokens: maxTokens, context: contextLength, node: context.nodeName)
  }
  let length = layout.textTokens + (cross ? 0 : soft)
  let softText = cross || connected.isEmpty ? "" : " + \(known ? String(soft) : "n") soft tokens"
  notes.append(
    "prompt: \(layout.textTokens) text tokens\(softText) = \(known ? String(length) : "n") positions; with max_tokens \(maxTokens): up to \(known ? String(length + maxTokens) : "n") of the context of \(contextLength)"
  )
  return notes
}

/// The user message: `format` with `{prompt}` replaced by the prompt input.
func userMessage(_ format: String, prompt: String) -> String {
  format.replacingOccurrences(of: "{prompt}", with: prompt)
}

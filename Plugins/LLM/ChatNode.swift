import Foundation
import MMCore
import MMGraph
import MMLLM
import MMTokenizers

final class ChatNode: Node {
  let modelPath: String
  let context: Int
  let system: String
  let maxTokens: Int
  let sampling: SamplingOptions
  let stops: [String]
  let raw: Bool
  let format: String
  let placeholder: String
  let mediaAt: String
  let int8Activations: Bool

  init(
    modelPath: String, context: Int, system: String, maxTokens: Int, sampling: SamplingOptions,
    stops: [String],
    raw: Bool, format: String, placeholder: String, mediaAt: String, int8Activations: Bool
  ) {
    self.modelPath = modelPath
    self.context = context
    self.system = system
    self.maxTokens = maxTokens
    self.sampling = sampling
    self.stops = stops
    self.raw = raw
    self.format = format
    self.placeholder = placeholder
    self.mediaAt = mediaAt
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
    let ports = mediaPorts.filter { context.input($0) != nil }
    let media = try ports.map { try context.tensor($0) }
    let crossWidth = lm.model.crossAttentionWidth
    let width = crossWidth ?? lm.model.configuration.hiddenSize
    for (port, tensor) in zip(ports, media) where tensor.shape.count != 2 || tensor.shape[1] != width {
      throw NodeFailure(
        "\(context.nodeName): \(port) is a tensor of shape \(tensor.shape), expected [n, \(width)] (\(crossWidth == nil ? "the hidden size" : "the cross-attention's image width") of \(lm.path))"
      )
    }
    let layout = try MediaPrompt.checked(
      format: lm.format, widths: ModelWidths(path: lm.path), mediaAt: mediaAt, system: system,
      user: userMessage(format, prompt: prompt), raw: raw, placeholder: placeholder, media: ports,
      node: context.nodeName)
    try layout.checkLength(
      softTokens: media.reduce(0) { $0 + $1.shape[0] }, maxTokens: maxTokens,
      context: lm.model.maxSequenceLength,
      node: context.nodeName)
    lm.model.reset()
    lm.model.decodeActivations = int8Activations ? .int8 : .float32
    if crossWidth != nil { try lm.model.setCrossAttentionImages(media) }
    var sampler = try Sampler(sampling)
    var decoder = lm.format.tokenizer.streamingDecoder(skipSpecialTokens: true)
    var matcher = StopStringMatcher(stops)
    var history = layout.textIDs
    var generated: [Int32] = []
    var text = ""
    var logits = try lm.model.forward(layout.inputs(media: media))
    while generated.count < maxTokens, !context.isCancelled {
      let next = sampler.next(logits: logits.floats(), history: history)
      if lm.format.stopTokens.contains(next) { break }
      generated.append(next)
      history.append(next)
      context.progress(generated.count, of: maxTokens, unit: "tokens")
      // Ids past the tokenizer's vocabulary (embedding rows padded to a multiple, as LLaVA's and
      // BLIP-2's are) have no text: transformers' decode skips them too.
      if next < lm.format.tokenizer.vocabularySize, let piece = try decoder.push(next) {
        let (emit, stopped) = matcher.feed(piece)
        text += emit
        if !emit.isEmpty { context.partial("text", text: emit) }
        if stopped { return (text, generated) }
      }
      if generated.count < maxTokens { logits = try lm.model.forward([.tokens([next])], generated: true) }
    }
    let tail = matcher.feed(try decoder.finish()).emit + matcher.flush()
    if !tail.isEmpty { context.partial("text", text: tail) }
    return (text + tail, generated)
  }
}

import MMCore
import MMGraph
import MMLLM

/// The media inputs of `llm.chat`, in placeholder order.
let mediaPorts = ["media"] + (2...8).map { "media\($0)" }

/// One piece of a prompt with media: text token ids, or the soft tokens of media input `index`.
enum PromptPiece: Equatable {
  case tokens([Int32])
  case media(Int)
}

/// A prompt cut at its media placeholders, before any media exists: what both the preflight
/// check (with the media's static shapes) and the run (with their tensors) lay out.
struct MediaPrompt {
  var pieces: [PromptPiece]
  /// Placeholders found in the rendered prompt.
  var placeholders: Int
  /// Text tokens (the placeholders themselves excluded when they are replaced).
  var textTokens: Int
  /// Whether the media replace their placeholders (LLaVA, BLIP-2, NExT-GPT) rather than being
  /// attended to by gated cross-attention with the placeholder tokens kept (Idefics).
  var spliced: Bool
  /// Whether the media go before the whole prompt, its BOS included, instead of at placeholders
  /// (BLIP-2 and InstructBLIP: their processors prepend the query tokens to the tokenized text).
  var atStart = false

  /// The media first, in order, then the prompt's tokens (BLIP-2's layout).
  init(format: ChatFormat, system: String?, user: String, raw: Bool, mediaFirst count: Int) throws {
    let ids = try format.promptIDs(system: system, user: user, raw: raw)
    pieces = (0..<count).map { .media($0) } + (ids.isEmpty ? [] : [.tokens(ids)])
    placeholders = count
    textTokens = ids.count
    spliced = true
    atStart = true
  }

  /// Renders the conversation and cuts it at each `placeholder`.
  /// - When the placeholder is one special token of the vocabulary (LLaVA's and BLIP-2's
  ///   `<image>`), the rendered prompt is tokenized whole, as transformers does, and cut at that
  ///   token; with `spliced` false the ids stay whole and the placeholders are only counted.
  /// - Otherwise it is text (NExT-GPT's `<Img>…</Img>` style, or any model without an image
  ///   token): the rendered prompt is cut at each occurrence and the pieces tokenized apart, the
  ///   first with the tokenizer's own special tokens when the prompt is raw.
  init(format: ChatFormat, system: String?, user: String, raw: Bool, placeholder: String, spliced: Bool)
    throws
  {
    self.spliced = spliced
    let tokenizer = format.tokenizer
    if let id = tokenizer.tokenID(for: placeholder), tokenizer.isSpecial(id) {
      let ids = try format.promptIDs(system: system, user: user, raw: raw)
      placeholders = ids.count { $0 == id }
      guard spliced else {
        pieces = [.tokens(ids)]
        textTokens = ids.count
        return
      }
      var pieces: [PromptPiece] = []
      var run: [Int32] = []
      for token in ids {
        if token == id {
          if !run.isEmpty { pieces.append(.tokens(run)) }
          run = []
          pieces.append(.media(pieces.count { if case .media = $0 { true } else { false } }))
        } else {
          run.append(token)
        }
      }
      if !run.isEmpty { pieces.append(.tokens(run)) }
      self.pieces = pieces
      textTokens = ids.count - placeholders
      return
    }
    let text = try format.rendered(system: system, user: user, raw: raw)
    let parts = (text ?? user).split(separator: placeholder, omittingEmptySubsequences: false)
    placeholders = parts.count - 1
    var pieces: [PromptPiece] = []
    for (i, part) in parts.enumerated() {
      if i > 0 { pieces.append(.media(i - 1)) }
      let ids = tokenizer.encode(String(part), addSpecialTokens: text == nil && i == 0)
      if !ids.isEmpty { pieces.append(.tokens(ids)) }
    }
    self.pieces = pieces
    textTokens = pieces.reduce(0) { total, piece in
      if case .tokens(let ids) = piece { return total + ids.count }
      return total
    }
  }

  /// Whether media go before the prompt: `media_at` "start", or "auto" on a BLIP-2 /
  /// InstructBLIP checkpoint (never for a gated cross-attention model).
  static func mediaFirst(widths: ModelWidths?, mediaAt: String) -> Bool {
    widths?.crossAttention == nil && (mediaAt == "start" || (mediaAt == "auto" && widths?.mediaFirst == true))
  }

  /// The layout `llm.chat` uses: media before the prompt when `mediaAt` says "start" (or "auto"
  /// on a BLIP-2 / InstructBLIP checkpoint), else at the placeholders — whose count must match
  /// the connected `media` whenever media are connected or the placeholder is a vocabulary token.
  static func checked(
    format: ChatFormat, widths: ModelWidths?, mediaAt: String, system: String?, user: String, raw: Bool,
    placeholder: String, media: [String], node: String
  ) throws -> MediaPrompt {
    let cross = widths?.crossAttention != nil
    if mediaFirst(widths: widths, mediaAt: mediaAt) {
      let layout = try MediaPrompt(
        format: format, system: system, user: user, raw: raw, mediaFirst: media.count)
      if let id = format.tokenizer.tokenID(for: placeholder), layout.textIDs.contains(id) {
        throw NodeFailure(
          "\(node): the media go before the prompt here (media_at \(mediaAt)\(mediaAt == "auto" ? ": a \(widths?.modelType ?? "") checkpoint" : "")), so the prompt must not hold '\(placeholder)'; remove it or set media_at to placeholder"
        )
      }
      return layout
    }
    let layout = try MediaPrompt(
      format: format, system: system, user: user, raw: raw, placeholder: placeholder, spliced: !cross)
    if !media.isEmpty || cross || format.tokenizer.tokenID(for: placeholder) != nil {
      try layout.checkCount(media: media, placeholder: placeholder, node: node)
    }
    return layout
  }

  /// Every text token id, in order (the sampler's history for the repetition penalty).
  var textIDs: [Int32] {
    pieces.flatMap { piece -> [Int32] in
      if case .tokens(let ids) = piece { return ids }
      return []
    }
  }

  /// The placeholders must match the media one to one.
  func checkCount(media: [String], placeholder: String, node: String) throws {
    guard placeholders != media.count else { return }
    let connected =
      media.isEmpty
      ? "no media input is connected"
      : "\(media.count) media inputs are connected (\(media.joined(separator: ", ")))"
    throw NodeFailure(
      "\(node): the prompt has \(placeholders) '\(placeholder)' placeholder\(placeholders == 1 ? "" : "s") but \(connected): each medium takes the place of one placeholder, in order"
    )
  }

  /// The prompt must leave room for `maxTokens` in the context once the soft tokens are in.
  func checkLength(softTokens: Int, maxTokens: Int, context: Int, node: String) throws {
    let length = textTokens + (spliced ? softTokens : 0)
    guard length + maxTokens <= context else {
      let soft = spliced && softTokens > 0 ? " + \(softTokens) soft tokens of the media = \(length)" : ""
      throw NodeFailure(
        "\(node): the prompt is \(textTokens) text tokens\(soft); with max_tokens \(maxTokens) that is over the context of \(context) (raise the context option, lower max_tokens or use fewer media)"
      )
    }
  }

  /// The decoder's inputs: text pieces as token ids, media pieces as their embeddings.
  func inputs(media: [Tensor]) -> [LlamaInput] {
    pieces.map { piece in
      switch piece {
      case .tokens(let ids): return .tokens(ids)
      case .media(let index): return .embeddings(media[index])
      }
    }
  }
}

/// The rows of a media input's static type `tensor[n, width]`, when fixed.
func staticRows(_ type: PortType?) -> Int? {
  guard case .tensor(_, let shape?)? = type, shape.count == 2, case .fixed(let rows) = shape[0] else {
    return nil
  }
  return rows
}

import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN

/// imagebind.text: texts → ImageBind's text embeddings. Takes text (one string) or a JSON array
/// of strings, tokenized by CLIP's BPE as ImageBind's `SimpleTokenizer` does (the vocabulary file
/// beside the weights, or the `vocabulary` option); or ids already laid out that way ([N, 77] or
/// [77]: start token, the text, end token, zeros), or a `tokens` value (one text's ids with its
/// start and end tokens), zero padded — or cut to 76 ids plus the end token, as ImageBind does.
let textDescriptor = NodeDescriptor(
  type: "imagebind.text",
  doc:
    "ImageBind's text encoder: text, a JSON array of strings, or CLIP token ids [N, 77] → unit embeddings (one per text).",
  example: exampleNode("imagebind.text", inputs: [("in", "$caption")]),
  inputs: [PortSpec("in", .any, doc: "text, a JSON array of strings, ids [N, 77] (tensor) or tokens")],
  outputs: embeddingOutputs,
  options: weightOptions + [
    OptionSpec(
      "vocabulary", .string, default: .string(""),
      doc:
        "CLIP's bpe_simple_vocab_16e6.txt.gz (empty: beside the weights, else the models folder's clip-bpe/ from Scripts/fetch-models.sh clip-bpe)"
    )
  ],
  typeRule: { (inputs, _) throws(TypeRuleError) in
    switch inputs["in"] {
    case nil, .any?, .text?, .json?, .tensor?, .tokens?: break
    case let other?:
      throw TypeRuleError(
        port: "in", expected: "text, a JSON array of strings or token ids", found: "\(other)")
    }
    return Dictionary(uniqueKeysWithValues: embeddingOutputs.map { ($0.name, $0.type) })
  },
  filesRead: { options in [checkpoint(options).weights] },
  make: { options in
    TextEncoderNode(options: options, vocabularyPath: vocabularyPath(options))
  })

/// The CLIP vocabulary a text node uses: the `vocabulary` option; else the file beside the
/// weights (nil: the checkpoint's default); else the one `Scripts/fetch-models.sh clip-bpe` put
/// in the models folder, when it is there (nil otherwise, and the checkpoint names what is missing).
func vocabularyPath(_ options: NodeOptions) -> String? {
  let vocabulary = options.string("vocabulary")
  if !vocabulary.isEmpty { return resolvedPath(vocabulary) }
  let name = ImageBindCheckpoint.vocabularyFileName
  let beside = URL(fileURLWithPath: checkpoint(options).weights).deletingLastPathComponent()
    .appendingPathComponent(name).path
  let fetched = resolvedPath("~/.cache/mmgraph/models/clip-bpe/" + name)
  if !FileManager.default.fileExists(atPath: beside), FileManager.default.fileExists(atPath: fetched) {
    return fetched
  }
  return nil
}

/// Tokenizes (when given text) with the checkpoint's vocabulary, then runs the text encoder.
final class TextEncoderNode: Node {
  let weights: String
  let config: String?
  let vocabularyPath: String?
  let inner: EncoderNode

  init(options: NodeOptions, vocabularyPath: String?) {
    (weights, config) = checkpoint(options)
    self.vocabularyPath = vocabularyPath
    let (weights, config) = (weights, config)
    inner = EncoderNode(options: options, kind: .text) {
      encoder, context in
      if let texts = try textStrings(context) {
        let ids: Tensor
        do {
          ids = try ImageBindCheckpoint.shared(weights, configurationPath: config).tokenIDs(
            texts, vocabularyPath: vocabularyPath)
        } catch { throw NodeFailure("\(context.nodeName): \(error)") }
        return try encoder(ids)
      }
      return try encoder(try textIDs(context, contextLength: 77))
    }
  }

  func process(_ context: NodeContext) throws -> ProcessResult { try inner.process(context) }
}

/// The strings on port `in` (text, or a JSON array of strings), or nil for ids.
func textStrings(_ context: NodeContext) throws -> [String]? {
  switch try context.required("in") {
  case .text(let text): return [text]
  case .json(let value):
    guard let elements = value.elements, !elements.isEmpty,
      case let strings = elements.compactMap(\.string), strings.count == elements.count
    else {
      throw NodeFailure(
        "\(context.nodeName): input 'in' expected a non-empty JSON array of strings, found \(value.encoded())"
      )
    }
    return strings
  default: return nil
  }
}

/// The ids on port `in` as [N, contextLength].
func textIDs(_ context: NodeContext, contextLength: Int) throws -> Tensor {
  switch try context.required("in") {
  case .tensor(let ids):
    guard ids.rank == 1 || ids.rank == 2, ids.shape.last == contextLength else {
      throw NodeFailure(
        "\(context.nodeName): input 'in' expected ids [N, \(contextLength)] or [\(contextLength)], found \(shapeText(ids.shape))"
      )
    }
    return ids.rank == 1 ? try ids.contiguous().reshaped([1, contextLength]) : ids
  case .tokens(let tokens):
    guard let last = tokens.last else { throw NodeFailure("\(context.nodeName): input 'in' holds no tokens") }
    let kept = tokens.count > contextLength ? Array(tokens.prefix(contextLength - 1)) + [last] : tokens
    let row = kept.map(Float.init) + [Float](repeating: 0, count: contextLength - kept.count)
    return Tensor(row, shape: [1, contextLength])
  case let other:
    throw NodeFailure(
      "\(context.nodeName): input 'in' expected text, a JSON array of strings or token ids, found \(other.kindName)"
    )
  }
}

import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN

/// Sentence-embedding nodes (`sentence.*`): texts → unit vectors from a BERT sentence encoder
/// (sentence-transformers' all-MiniLM-L6-v2 by default). Registered through `MMBuiltins`.
public enum SentencePlugin: NodePlugin {
  public static let name = "sentence"

  public static let descriptors: [NodeDescriptor] = [embedDescriptor]

}

/// The default model folder, as Scripts/fetch-models.sh lays it out.
let defaultModel = "~/.cache/mmgraph/models/minilm"

/// text (one string) or json (strings, or objects with a "text" string) → embedding
/// [count, hidden] unit vectors in the model's space.
let embedDescriptor = NodeDescriptor(
  type: "sentence.embed",
  doc:
    "Embeds texts with a BERT sentence encoder (mean pooling over the real tokens, L2-normalized), as sentence-transformers' all-MiniLM-L6-v2; one row per text.",
  example: exampleNode(
    "sentence.embed", inputs: [("text", "$query")], options: [("model", "\"\(defaultModel)\"")]),
  inputs: [
    PortSpec("text", .text, doc: "one text (→ one row)", optional: true),
    PortSpec(
      "json", .json, doc: "a list of strings, or of objects with a \"text\" string (→ one row each)",
      optional: true),
  ],
  outputs: [
    PortSpec(
      "embedding", .embedding(space: nil, dimension: nil, form: .unit),
      doc: "[count, hidden] unit vectors; the space is the model's name")
  ],
  options: [
    OptionSpec(
      "model", .path, default: .string(defaultModel),
      doc: "a BERT checkpoint folder: config.json, model.safetensors, tokenizer.json"),
    OptionSpec(
      "space", .string, default: .string(""),
      doc: "the embedding space's name (empty: the model folder's name, `minilm`)"),
    OptionSpec(
      "max_length", .int(range: 0...1_000_000), default: .number("0"),
      doc:
        "cut texts past this many tokens (0: sentence_bert_config.json's max_seq_length, else 256 as sentence-transformers uses for all-MiniLM-L6-v2)"
    ),
    OptionSpec("batch_size", .int(range: 1...4096), default: .number("32"), doc: "texts per forward pass"),
  ],
  typeRule: { inputs, options throws(TypeRuleError) in
    let connected = ["text", "json"].filter { inputs[$0] != nil }
    guard connected.count == 1 else {
      throw TypeRuleError(
        port: connected.first ?? "text", expected: "exactly one of the inputs 'text' and 'json' connected",
        found: connected.isEmpty ? "neither" : "both")
    }
    let model = options.string("model")
    // The width from config.json when the model is there; a missing model fails when the node
    // runs, with the command that fetches it.
    let dimension = try? BertConfiguration(configPath: model).hiddenSize
    return [
      "embedding": .embedding(space: spaceName(options), dimension: dimension, form: .unit)
    ]
  },
  filesRead: { options in
    let model = options.string("model")
    return ["config.json", "model.safetensors", "tokenizer.json"].map { model + "/" + $0 }
  },
  make: { options in
    EmbedNode(
      model: options.string("model"), space: spaceName(options), maxLength: options.int("max_length"),
      batchSize: options.int("batch_size"))
  })

/// The `space` option, or the model folder's name in lower case.
func spaceName(_ options: NodeOptions) -> String {
  let given = options.string("space")
  if !given.isEmpty { return given }
  return URL(fileURLWithPath: options.string("model")).lastPathComponent.lowercased()
}

final class EmbedNode: Node {
  let model: String
  let space: String
  let maxLength: Int
  let batchSize: Int

  init(model: String, space: String, maxLength: Int, batchSize: Int) {
    self.model = model
    self.space = space
    self.maxLength = maxLength
    self.batchSize = batchSize
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let texts: [String]
    if let json = context.input("json") {
      guard case .json(let value) = json else {
        throw NodeFailure("\(context.nodeName): input 'json' expected json, found \(json.kindName)")
      }
      texts = try Self.texts(value, node: context.nodeName)
    } else {
      texts = [try context.text("text")]
    }
    let embedder = try EmbedderCache.shared(model, maxLength: maxLength, node: context.nodeName)
    let total = texts.count
    let vectors: Tensor
    do {
      vectors = try embedder.embed(texts, batchSize: batchSize) { done, _ in
        if total > 1 { context.progress(done, of: total, unit: "texts") }
        return !context.isCancelled
      }
    } catch {
      throw NodeFailure("\(context.nodeName): \(error)")
    }
    context.emit("embedding", .embedding(Embedding(vectors: vectors, space: space, form: .unit)))
    return .done
  }

  /// The texts of a json input: a list of strings, or of objects with a "text" string.
  static func texts(_ value: JSONValue, node: String) throws -> [String] {
    guard let items = value.elements else {
      throw NodeFailure(
        "\(node): input 'json' expected a list of strings or of {\"text\": …} objects, found \(value.typeName)"
      )
    }
    guard !items.isEmpty else {
      throw NodeFailure("\(node): input 'json' is an empty list: nothing to embed")
    }
    return try items.enumerated().map { index, item in
      if let text = item.string { return text }
      if let text = item["text"]?.string { return text }
      throw NodeFailure(
        "\(node): input 'json' /\(index): expected a string or an object with a \"text\" string, found \(item.typeName == "object" ? "an object without one" : item.typeName)"
      )
    }
  }
}

/// Loaded sentence embedders, one per model folder and length limit, for the whole process
/// (a graph that embeds the query and the documents loads the model once).
enum EmbedderCache {
  private static let loaded = LoadedModels<SentenceEmbedder>()

  static func shared(_ path: String, maxLength: Int, node: String) throws -> SentenceEmbedder {
    let key = "\(path)#\(maxLength)"
    return try loaded(key) {
      guard isDirectory(path) else {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let fetch =
          name == "minilm"
          ? "fetch it with `bash Scripts/fetch-models.sh minilm`"
          : "give the model option a BERT checkpoint folder (config.json, model.safetensors, tokenizer.json)"
        throw NodeFailure("\(node): no model folder at \(path): \(fetch)")
      }
      let embedder: SentenceEmbedder
      do {
        embedder = try SentenceEmbedder(directory: path, maxSequenceLength: maxLength > 0 ? maxLength : nil)
      } catch {
        throw NodeFailure("\(node): cannot load the model: \(error)")
      }
      return embedder
    }
  }
}

import Foundation
import MMCore
import MMKernels
import MMNN

/// The hyperparameters of a BERT encoder (Hugging Face `BertModel`), read from its `config.json`.
/// all-MiniLM-L6-v2: hidden 384, 6 layers, 12 heads, intermediate 1536, GELU, 512 positions.
public struct BertConfiguration: Sendable, Equatable {
  public var hiddenSize: Int
  public var layerCount: Int
  public var headCount: Int
  public var intermediateSize: Int
  /// `hidden_act`: `gelu` (erf), `gelu_new`/`gelu_pytorch_tanh` (tanh approximation), `relu`,
  /// `silu`/`swish`.
  public var activation: Activation
  public var maxPositionEmbeddings: Int
  public var typeVocabSize: Int
  public var layerNormEps: Float
  public var vocabSize: Int

  public init(
    hiddenSize: Int, layerCount: Int, headCount: Int, intermediateSize: Int,
    activation: Activation = .gelu, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
    layerNormEps: Float = 1e-12, vocabSize: Int
  ) {
    self.hiddenSize = hiddenSize
    self.layerCount = layerCount
    self.headCount = headCount
    self.intermediateSize = intermediateSize
    self.activation = activation
    self.maxPositionEmbeddings = maxPositionEmbeddings
    self.typeVocabSize = typeVocabSize
    self.layerNormEps = layerNormEps
    self.vocabSize = vocabSize
  }

  /// `hidden_act` names and the activation each one is.
  public static let activations: [String: Activation] = [
    "gelu": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "gelu_fast": .geluTanh,
    "relu": .relu, "silu": .silu, "swish": .silu,
  ]

  /// Reads a `config.json` (a file, or a checkpoint folder holding one).
  public init(configPath path: String) throws(ModelError) {
    var isDirectory: ObjCBool = false
    var file = path
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      file = URL(fileURLWithPath: path).appendingPathComponent("config.json").path
    }
    guard let data = FileManager.default.contents(atPath: file) else {
      throw .configuration(
        source: file, problem: "cannot read the file (a BERT checkpoint needs config.json)")
    }
    let document: JSONDocument
    do { document = try JSONParser.parse(data, file: file) } catch {
      throw .configuration(source: file, problem: error.message)
    }
    try self.init(json: document.root, source: file)
  }

  /// Reads the members of a `config.json` object; `source` names the file in messages.
  public init(json: JSONValue, source: String = "config.json") throws(ModelError) {
    func fail(_ problem: String) -> ModelError { .configuration(source: source, problem: problem) }
    guard json.members != nil else { throw fail("expected a JSON object, found \(json.typeName)") }
    func value(_ key: String) -> JSONValue? {
      guard let value = json[key], value != .null else { return nil }
      return value
    }
    func int(_ key: String, default fallback: Int? = nil) throws(ModelError) -> Int {
      guard let value = value(key) else {
        if let fallback { return fallback }
        throw fail("missing key '\(key)'")
      }
      guard let int = value.int else { throw fail("'\(key)' is \(value.typeName), expected an integer") }
      return int
    }
    if let type = value("model_type")?.string, !["bert"].contains(type) {
      throw fail("model_type '\(type)' is not supported, expected 'bert'")
    }
    if value("is_decoder")?.bool == true || value("add_cross_attention")?.bool == true {
      throw fail("a decoder configuration (is_decoder / add_cross_attention), expected a BERT encoder")
    }
    if let type = value("position_embedding_type")?.string, type != "absolute" {
      throw fail("position_embedding_type '\(type)' is not supported, expected 'absolute'")
    }
    var activation = Activation.gelu
    if let act = value("hidden_act") {
      guard let name = act.string, let known = Self.activations[name] else {
        throw fail(
          "hidden_act \(act.encoded()) is not supported, expected one of "
            + Self.activations.keys.sorted().joined(separator: ", "))
      }
      activation = known
    }
    var eps = 1e-12
    if let given = value("layer_norm_eps") {
      guard let number = given.double else {
        throw fail("'layer_norm_eps' is \(given.typeName), expected a number")
      }
      eps = number
    }
    self.init(
      hiddenSize: try int("hidden_size"), layerCount: try int("num_hidden_layers"),
      headCount: try int("num_attention_heads"), intermediateSize: try int("intermediate_size"),
      activation: activation, maxPositionEmbeddings: try int("max_position_embeddings", default: 512),
      typeVocabSize: try int("type_vocab_size", default: 2), layerNormEps: Float(eps),
      vocabSize: try int("vocab_size"))
    try validate(source: source)
  }

  /// Checks that the sizes fit together; `source` names the file for messages.
  public func validate(source: String) throws(ModelError) {
    func fail(_ problem: String) -> ModelError { .configuration(source: source, problem: problem) }
    let positive: [(String, Int)] = [
      ("hidden_size", hiddenSize), ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
      ("intermediate_size", intermediateSize), ("max_position_embeddings", maxPositionEmbeddings),
      ("type_vocab_size", typeVocabSize), ("vocab_size", vocabSize),
    ]
    for (name, value) in positive where value <= 0 { throw fail("'\(name)' is \(value), expected > 0") }
    if hiddenSize % headCount != 0 {
      throw fail("hidden_size \(hiddenSize) is not divisible by num_attention_heads \(headCount)")
    }
    if !(layerNormEps >= 0) { throw fail("layer_norm_eps \(layerNormEps), expected ≥ 0") }
  }
}

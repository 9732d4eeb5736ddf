import Foundation
import MMCore
import MMKernels
import MMNN

/// The hyperparameters of a Hugging Face BLIP-2 (`Blip2ForConditionalGeneration`, model_type
/// `blip-2`) or InstructBLIP (`InstructBlipForConditionalGeneration`, model_type `instructblip`)
/// checkpoint, read from its `config.json`: `vision_config`, `qformer_config`, `text_config`,
/// `num_query_tokens`, `image_token_index`. `save_pretrained` leaves out values equal to the
/// defaults, so absent keys take transformers' defaults (`Blip2VisionConfig`,
/// `Blip2QFormerConfig`, which InstructBLIP's configs share).
public struct BLIP2Configuration: Sendable, Equatable {
  /// Which of the two families: InstructBLIP's Q-Former also reads the instruction text.
  public enum Family: String, Sendable, Equatable {
    case blip2 = "blip-2"
    case instructBLIP = "instructblip"
  }

  /// The ViT (`vision_config`): fused qkv with q/v biases, pre-norm blocks, `post_layernorm`.
  public struct Vision: Sendable, Equatable {
    public var hiddenSize = 1408
    public var intermediateSize = 6144
    public var layerCount = 39
    public var headCount = 16
    public var imageSize = 224
    public var patchSize = 14
    public var activation = Activation.gelu
    public var layerNormEps: Float = 1e-6
    public var qkvBias = true

    public init() {}

    /// Patches per side and in all; the encoder's tokens are patches + 1 (the class token).
    public var gridSize: Int { imageSize / patchSize }
    public var patchCount: Int { gridSize * gridSize }
    public var tokenCount: Int { patchCount + 1 }
  }

  /// The Q-Former (`qformer_config`): post-norm BERT layers, cross-attention to the image every
  /// `crossAttentionFrequency` layers (layer i has one when i % frequency == 0).
  public struct QFormer: Sendable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var layerCount = 12
    public var headCount = 12
    public var activation = Activation.gelu
    public var layerNormEps: Float = 1e-12
    public var crossAttentionFrequency = 2
    /// The width of the image features its cross-attention reads (the vision hidden size).
    public var encoderHiddenSize = 1408
    /// The instruction text's embeddings (InstructBLIP): `vocab_size`, `max_position_embeddings`.
    public var vocabSize = 30522
    public var maxPositionEmbeddings = 512
    /// Whether layers have the text feed-forward (`intermediate`, `output`) beside the query one.
    public var usesTextInput = false

    public init() {}

    public func hasCrossAttention(layer: Int) -> Bool { layer % crossAttentionFrequency == 0 }
  }

  public var family: Family
  public var vision: Vision
  public var qformer: QFormer
  /// The language model's hidden size: the width of `language_projection`'s output.
  public var textHiddenSize: Int
  /// `num_query_tokens`: the soft tokens per image given to the language model.
  public var queryTokenCount: Int
  /// `image_token_index` (the placeholder the processor repeats `num_query_tokens` times), when
  /// the checkpoint has one.
  public var imageTokenIndex: Int?

  public init(
    family: Family, vision: Vision, qformer: QFormer, textHiddenSize: Int, queryTokenCount: Int,
    imageTokenIndex: Int?
  ) {
    self.family = family
    self.vision = vision
    self.qformer = qformer
    self.textHiddenSize = textHiddenSize
    self.queryTokenCount = queryTokenCount
    self.imageTokenIndex = imageTokenIndex
  }

  /// Reads `config.json`.
  /// - Throws: `ModelError.configuration` naming the file and the dotted key: unreadable file,
  ///   bad JSON, another model_type, a key of the wrong type, impossible sizes.
  public init(contentsOf path: String) throws(ModelError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .configuration(source: path, problem: "cannot read the file")
    }
    let root: JSONValue
    do { root = try JSONParser.parse([UInt8](data), file: path).root } catch {
      throw .configuration(source: path, problem: "not valid JSON: \(error)")
    }
    try self.init(json: root, source: path)
  }

  public init(json root: JSONValue, source: String) throws(ModelError) {
    let r = ConfigReader(source: source)
    guard case .object = root else {
      throw .configuration(source: source, problem: "expected a JSON object, found \(root.typeName)")
    }
    let modelType = root["model_type"]?.string
    guard let modelType, let family = Family(rawValue: modelType) else {
      throw .configuration(
        source: source,
        problem: "model_type: expected \"blip-2\" or \"instructblip\", found "
          + (root["model_type"].map { $0.encoded() } ?? "nothing"))
    }
    self.family = family
    let v = try r.object(root, "vision_config")
    var vision = Vision()
    vision.hiddenSize = try r.int(v, "vision_config", "hidden_size", vision.hiddenSize)
    vision.intermediateSize = try r.int(v, "vision_config", "intermediate_size", vision.intermediateSize)
    vision.layerCount = try r.int(v, "vision_config", "num_hidden_layers", vision.layerCount)
    vision.headCount = try r.int(v, "vision_config", "num_attention_heads", vision.headCount)
    vision.imageSize = try r.int(v, "vision_config", "image_size", vision.imageSize)
    vision.patchSize = try r.int(v, "vision_config", "patch_size", vision.patchSize)
    vision.activation = try r.activation(v, "vision_config")
    vision.layerNormEps = try r.float(v, "vision_config", "layer_norm_eps", vision.layerNormEps)
    vision.qkvBias = try r.bool(v, "vision_config", "qkv_bias", vision.qkvBias)
    try r.divisible(vision.hiddenSize, by: vision.headCount, "vision_config")
    guard vision.imageSize % vision.patchSize == 0 else {
      throw .configuration(
        source: source,
        problem:
          "vision_config.image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
    }
    self.vision = vision

    let q = try r.object(root, "qformer_config")
    var qformer = QFormer()
    qformer.hiddenSize = try r.int(q, "qformer_config", "hidden_size", qformer.hiddenSize)
    qformer.intermediateSize = try r.int(q, "qformer_config", "intermediate_size", qformer.intermediateSize)
    qformer.layerCount = try r.int(q, "qformer_config", "num_hidden_layers", qformer.layerCount)
    qformer.headCount = try r.int(q, "qformer_config", "num_attention_heads", qformer.headCount)
    qformer.activation = try r.activation(q, "qformer_config")
    qformer.layerNormEps = try r.float(q, "qformer_config", "layer_norm_eps", qformer.layerNormEps)
    qformer.crossAttentionFrequency = try r.int(
      q, "qformer_config", "cross_attention_frequency", qformer.crossAttentionFrequency)
    qformer.vocabSize = try r.int(q, "qformer_config", "vocab_size", qformer.vocabSize)
    qformer.maxPositionEmbeddings = try r.int(
      q, "qformer_config", "max_position_embeddings", qformer.maxPositionEmbeddings)
    // transformers sets encoder_hidden_size to the vision width whatever the file says.
    qformer.encoderHiddenSize = vision.hiddenSize
    let textInput = try r.bool(q, "qformer_config", "use_qformer_text_input", false)
    qformer.usesTextInput = family == .instructBLIP || textInput
    try r.divisible(qformer.hiddenSize, by: qformer.headCount, "qformer_config")
    self.qformer = qformer

    let t = try r.object(root, "text_config")
    let textType = t["model_type"]?.string ?? "opt"
    // Defaults of the text model's own config class (LlamaConfig 4096, OPTConfig 768).
    let textDefault = ["llama": 4096, "opt": 768, "mistral": 4096, "qwen2": 4096][textType]
    if t["hidden_size"] == nil, textDefault == nil {
      throw .configuration(
        source: source, problem: "text_config.hidden_size: missing, and no default for model_type \(textType)"
      )
    }
    textHiddenSize = try r.int(t, "text_config", "hidden_size", textDefault ?? 0)
    queryTokenCount = try r.int(root, "", "num_query_tokens", 32)
    if let index = root["image_token_index"], index != .null {
      imageTokenIndex = try r.int(root, "", "image_token_index", 0, minimum: 0)
    } else {
      imageTokenIndex = nil
    }
  }
}

/// Typed reads of a config.json with defaults; errors name the file and the dotted key.
struct ConfigReader {
  let source: String

  private func dotted(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// `key` as an object (an absent key is an empty object: every value takes its default).
  func object(_ node: JSONValue, _ key: String) throws(ModelError) -> JSONValue {
    guard let value = node[key], value != .null else { return .object([]) }
    guard case .object = value else {
      throw .configuration(source: source, problem: "\(key): expected an object, found \(value.typeName)")
    }
    return value
  }

  func int(_ node: JSONValue, _ path: String, _ key: String, _ fallback: Int, minimum: Int = 1)
    throws(ModelError) -> Int
  {
    guard let value = node[key], value != .null else { return fallback }
    guard let int = value.int, int >= minimum else {
      throw .configuration(
        source: source,
        problem: "\(dotted(path, key)): expected an integer ≥ \(minimum), found \(value.encoded())")
    }
    return int
  }

  func float(_ node: JSONValue, _ path: String, _ key: String, _ fallback: Float) throws(ModelError) -> Float
  {
    guard let value = node[key], value != .null else { return fallback }
    guard let double = value.double, double >= 0 else {
      throw .configuration(
        source: source, problem: "\(dotted(path, key)): expected a number ≥ 0, found \(value.encoded())")
    }
    return Float(double)
  }

  func bool(_ node: JSONValue, _ path: String, _ key: String, _ fallback: Bool) throws(ModelError) -> Bool {
    guard let value = node[key], value != .null else { return fallback }
    guard let bool = value.bool else {
      throw .configuration(
        source: source, problem: "\(dotted(path, key)): expected true or false, found \(value.encoded())")
    }
    return bool
  }

  func doubles(_ node: JSONValue, _ path: String, _ key: String, _ fallback: [Double], count: Int)
    throws(ModelError) -> [Double]
  {
    guard let value = node[key], value != .null else { return fallback }
    if let single = value.double { return [Double](repeating: single, count: count) }
    guard let items = value.elements, items.count == count, items.allSatisfy({ $0.double != nil }) else {
      throw .configuration(
        source: source,
        problem: "\(dotted(path, key)): expected \(count) numbers, found \(value.encoded())")
    }
    return items.compactMap(\.double)
  }

  /// `hidden_act` (default gelu, the exact erf form as `ACT2FN["gelu"]`).
  func activation(_ node: JSONValue, _ path: String) throws(ModelError) -> Activation {
    let activations: [String: Activation] = [
      "gelu": .gelu, "quick_gelu": .quickGelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh,
      "gelu_fast": .geluTanh, "relu": .relu, "silu": .silu,
    ]
    guard let value = node["hidden_act"], value != .null else { return .gelu }
    guard let name = value.string, let activation = activations[name] else {
      throw .configuration(
        source: source,
        problem: "\(dotted(path, "hidden_act")): expected one of "
          + "\(activations.keys.sorted().joined(separator: ", ")), found \(value.encoded())")
    }
    return activation
  }

  func divisible(_ hidden: Int, by heads: Int, _ path: String) throws(ModelError) {
    guard hidden % heads == 0 else {
      throw .configuration(
        source: source,
        problem: "\(path).hidden_size \(hidden) is not divisible by num_attention_heads \(heads)")
    }
  }
}

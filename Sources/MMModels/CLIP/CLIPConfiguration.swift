import Foundation
import MMCore
import MMKernels
import MMNN

/// The hyperparameters of a Hugging Face CLIP checkpoint (`CLIPModel`, `CLIPVisionModel…`,
/// `CLIPTextModel…`), read from its `config.json`: `text_config` and `vision_config` objects
/// (or the top level for a single-tower config), `projection_dim`, `logit_scale_init_value`.
/// Absent keys take Hugging Face's defaults (`CLIPTextConfig`, `CLIPVisionConfig`).
public struct CLIPConfiguration: Sendable, Equatable {
  /// One tower's transformer: width, depth, heads, MLP width, activation, LayerNorm epsilon.
  public struct Tower: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// `hidden_act`: quick_gelu (OpenAI checkpoints), gelu (exact), gelu_new/gelu_pytorch_tanh.
    public var activation: Activation
    public var layerNormEps: Float

    public init(
      hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
      activation: Activation = .quickGelu, layerNormEps: Float = 1e-5
    ) {
      self.hiddenSize = hiddenSize
      self.intermediateSize = intermediateSize
      self.layerCount = layerCount
      self.headCount = headCount
      self.activation = activation
      self.layerNormEps = layerNormEps
    }
  }

  public struct Text: Sendable, Equatable {
    public var tower: Tower
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    /// `eos_token_id`: 2 in configs written before transformers PR #24773, where the pooled
    /// token is the argmax of the ids (CLIP's `<|endoftext|>` is the largest id); otherwise the
    /// first position holding this id.
    public var eosTokenID: Int

    public init(tower: Tower, vocabSize: Int, maxPositionEmbeddings: Int = 77, eosTokenID: Int = 49407) {
      self.tower = tower
      self.vocabSize = vocabSize
      self.maxPositionEmbeddings = maxPositionEmbeddings
      self.eosTokenID = eosTokenID
    }
  }

  public struct Vision: Sendable, Equatable {
    public var tower: Tower
    public var imageSize: Int
    public var patchSize: Int
    public var channelCount: Int

    public init(tower: Tower, imageSize: Int = 224, patchSize: Int = 32, channelCount: Int = 3) {
      self.tower = tower
      self.imageSize = imageSize
      self.patchSize = patchSize
      self.channelCount = channelCount
    }

    /// Patches per side and in all; tokens are patches + 1 (the class token).
    public var gridSize: Int { imageSize / patchSize }
    public var patchCount: Int { gridSize * gridSize }
  }

  public var text: Text
  public var vision: Vision
  /// Width of the shared embedding space (`visual_projection`, `text_projection`).
  public var projectionDim: Int
  public var logitScaleInit: Float

  public init(text: Text, vision: Vision, projectionDim: Int = 512, logitScaleInit: Float = 2.6592) {
    self.text = text
    self.vision = vision
    self.projectionDim = projectionDim
    self.logitScaleInit = logitScaleInit
  }

  /// OpenAI CLIP ViT-B/16's vision tower (224 px, patch 16, width 768, 12 layers, 12 heads,
  /// MLP 3072, quick_gelu) with its text tower (width 512, 12 layers, 8 heads), projection 512.
  public static let vitB16 = CLIPConfiguration(
    text: Text(
      tower: Tower(hiddenSize: 512, intermediateSize: 2048, layerCount: 12, headCount: 8), vocabSize: 49408),
    vision: Vision(
      tower: Tower(hiddenSize: 768, intermediateSize: 3072, layerCount: 12, headCount: 12), patchSize: 16))

  // MARK: config.json

  /// Reads `config.json` (a `CLIPModel`, or a single tower's config for `CLIPVisionModel…` /
  /// `CLIPTextModel…`, whose keys are at the top level).
  /// - Throws: `ModelError.configuration` naming the file and key: unreadable file, bad JSON, a
  ///   key of the wrong type, impossible sizes (width not divisible by heads, image not
  ///   divisible by the patch), an unknown activation.
  public init(contentsOf path: String) throws(ModelError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .configuration(source: path, problem: "cannot read the file")
    }
    let root: JSONValue
    do {
      root = try JSONParser.parse([UInt8](data), file: path).root
    } catch {
      throw .configuration(source: path, problem: "not valid JSON: \(error)")
    }
    try self.init(json: root, source: path)
  }

  public init(json root: JSONValue, source: String) throws(ModelError) {
    guard case .object = root else {
      throw .configuration(source: source, problem: "expected a JSON object, found \(root.typeName)")
    }
    let reader = Reader(source: source)
    let modelType = root["model_type"]?.string
    let textNode = root["text_config"] ?? (modelType == "clip_text_model" ? root : .object([]))
    let visionNode = root["vision_config"] ?? (modelType == "clip_vision_model" ? root : .object([]))
    let textPath = root["text_config"] == nil && modelType == "clip_text_model" ? "" : "text_config."
    let visionPath = root["vision_config"] == nil && modelType == "clip_vision_model" ? "" : "vision_config."
    text = Text(
      tower: try reader.tower(
        textNode, path: textPath,
        defaults: Tower(hiddenSize: 512, intermediateSize: 2048, layerCount: 12, headCount: 8)),
      vocabSize: try reader.int(textNode, textPath, "vocab_size", default: 49408),
      maxPositionEmbeddings: try reader.int(textNode, textPath, "max_position_embeddings", default: 77),
      eosTokenID: try reader.int(textNode, textPath, "eos_token_id", default: 49407, minimum: 0))
    vision = Vision(
      tower: try reader.tower(
        visionNode, path: visionPath,
        defaults: Tower(hiddenSize: 768, intermediateSize: 3072, layerCount: 12, headCount: 12)),
      imageSize: try reader.int(visionNode, visionPath, "image_size", default: 224),
      patchSize: try reader.int(visionNode, visionPath, "patch_size", default: 32),
      channelCount: try reader.int(visionNode, visionPath, "num_channels", default: 3))
    // A single tower's config keeps projection_dim at the top level (or in its own keys).
    let towerProjection = modelType == "clip_vision_model" || modelType == "clip_text_model"
    projectionDim = try reader.int(root, "", "projection_dim", default: towerProjection ? 512 : 512)
    logitScaleInit = Float(try reader.double(root, "", "logit_scale_init_value", default: 2.6592))
    guard vision.imageSize % vision.patchSize == 0 else {
      throw .configuration(
        source: source,
        problem:
          "\(visionPath)image_size \(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
    }
  }

  /// Typed reads with HF defaults; errors name the file and the dotted key.
  private struct Reader {
    let source: String

    func int(_ node: JSONValue, _ path: String, _ key: String, default fallback: Int, minimum: Int = 1)
      throws(ModelError) -> Int
    {
      guard let value = node[key], value != .null else { return fallback }
      guard let int = value.int, int >= minimum else {
        throw .configuration(
          source: source, problem: "\(path)\(key): expected an integer ≥ \(minimum), found \(value.encoded())"
        )
      }
      return int
    }

    func double(_ node: JSONValue, _ path: String, _ key: String, default fallback: Double) throws(ModelError)
      -> Double
    {
      guard let value = node[key], value != .null else { return fallback }
      guard let double = value.double else {
        throw .configuration(
          source: source, problem: "\(path)\(key): expected a number, found \(value.encoded())")
      }
      return double
    }

    func tower(_ node: JSONValue, path: String, defaults: Tower) throws(ModelError) -> Tower {
      guard case .object = node else {
        throw .configuration(
          source: source, problem: "\(path.dropLast()): expected an object, found \(node.typeName)")
      }
      let hidden = try int(node, path, "hidden_size", default: defaults.hiddenSize)
      let heads = try int(node, path, "num_attention_heads", default: defaults.headCount)
      guard hidden % heads == 0 else {
        throw .configuration(
          source: source,
          problem: "\(path)hidden_size \(hidden) is not divisible by num_attention_heads \(heads)")
      }
      let activationName = node["hidden_act"]?.string ?? "quick_gelu"
      let activations: [String: Activation] = [
        "quick_gelu": .quickGelu, "gelu": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh,
        "gelu_fast": .geluTanh, "relu": .relu, "silu": .silu,
      ]
      guard let activation = activations[activationName] else {
        throw .configuration(
          source: source,
          problem: "\(path)hidden_act: expected one of \(activations.keys.sorted().joined(separator: ", ")), "
            + "found \(JSONValue.quoted(activationName))")
      }
      return Tower(
        hiddenSize: hidden,
        intermediateSize: try int(node, path, "intermediate_size", default: defaults.intermediateSize),
        layerCount: try int(node, path, "num_hidden_layers", default: defaults.layerCount), headCount: heads,
        activation: activation, layerNormEps: Float(try double(node, path, "layer_norm_eps", default: 1e-5)))
    }
  }
}

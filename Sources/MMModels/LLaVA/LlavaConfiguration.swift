import Foundation
import MMCore
import MMKernels
import MMNN

/// The settings of a Hugging Face `LlavaForConditionalGeneration` checkpoint that its image
/// side needs, read from config.json: the CLIP vision tower (`vision_config`), the language
/// model's width (`text_config.hidden_size`), the `<image>` placeholder id, which vision hidden
/// states feed the projector (`vision_feature_layer`, `vision_feature_select_strategy`) and the
/// projector's activation and biases. Absent keys take `LlavaConfig`'s defaults.
public struct LlavaConfiguration: Sendable, Equatable {
  /// `vision_feature_select_strategy`: what LLaVA keeps of each selected hidden state.
  public enum FeatureSelection: String, Sendable, Equatable {
    /// "default": every patch token, the class token dropped.
    case dropClassToken = "default"
    /// "full": the class token and every patch token.
    case full
  }

  /// The CLIP vision tower (`vision_config`; `model_type` clip_vision_model).
  public var vision: CLIPConfiguration.Vision
  /// `text_config.hidden_size`: the projector's output width, the language model's.
  public var textHiddenSize: Int
  /// `image_token_index` (or `image_token_id`, its newer name): the placeholder token the
  /// projected image features replace, one position per feature row.
  public var imageTokenIndex: Int
  /// `vision_feature_layer`: indices into the vision tower's hidden states (0 = after
  /// `pre_layrnorm`, negative from the end: −2 = the output of the second-to-last layer), as
  /// written (an int is a list of one). Several layers' features are concatenated.
  public var featureLayers: [Int]
  public var featureSelection: FeatureSelection
  /// `projector_hidden_act` between `linear_1` and `linear_2`.
  public var projectorActivation: Activation
  /// `multimodal_projector_bias`.
  public var projectorBias: Bool

  public init(
    vision: CLIPConfiguration.Vision, textHiddenSize: Int, imageTokenIndex: Int = 32000,
    featureLayers: [Int] = [-2], featureSelection: FeatureSelection = .dropClassToken,
    projectorActivation: Activation = .gelu, projectorBias: Bool = true
  ) {
    self.vision = vision
    self.textHiddenSize = textHiddenSize
    self.imageTokenIndex = imageTokenIndex
    self.featureLayers = featureLayers
    self.featureSelection = featureSelection
    self.projectorActivation = projectorActivation
    self.projectorBias = projectorBias
  }

  /// The projector's input width: vision hidden size × the number of feature layers.
  public var featureWidth: Int { vision.tower.hiddenSize * featureLayers.count }
  /// Feature rows per image: the patches, plus the class token with `.full`.
  public var tokensPerImage: Int { vision.patchCount + (featureSelection == .full ? 1 : 0) }

  // MARK: config.json

  /// Reads a checkpoint's `config.json`.
  /// - Throws: `ModelError.configuration` naming the file and the dotted key: unreadable file,
  ///   bad JSON, a vision tower that is not CLIP, a feature layer outside the tower, an unknown
  ///   strategy or activation, a value of the wrong type.
  public init(contentsOf path: String) throws(ModelError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .configuration(
        source: path, problem: "cannot read the file (a LLaVA checkpoint needs config.json)")
    }
    let root: JSONValue
    do { root = try JSONParser.parse([UInt8](data), file: path).root } catch {
      throw .configuration(source: path, problem: "not valid JSON: \(error.message)")
    }
    try self.init(json: root, source: path)
  }

  public init(json root: JSONValue, source: String) throws(ModelError) {
    func fail(_ key: String, _ problem: String) -> ModelError {
      .configuration(source: source, problem: key.isEmpty ? problem : "\(key): \(problem)")
    }
    guard case .object = root else { throw fail("", "expected a JSON object, found \(root.typeName)") }
    if let type = root["model_type"]?.string, type != "llava" {
      throw fail("model_type", "expected \"llava\", found \(JSONValue.quoted(type))")
    }
    guard let visionNode = root["vision_config"], case .object = visionNode else {
      throw fail(
        "vision_config",
        "expected an object (the CLIP vision tower's settings), found "
          + (root["vision_config"]?.typeName ?? "nothing"))
    }
    if let type = visionNode["model_type"]?.string, type != "clip_vision_model" {
      throw fail(
        "vision_config.model_type",
        "expected \"clip_vision_model\" (the only vision tower supported), found \(JSONValue.quoted(type))")
    }
    vision = try CLIPConfiguration(json: .object([JSONMember("vision_config", visionNode)]), source: source)
      .vision
    guard let textNode = root["text_config"], case .object = textNode else {
      throw fail("text_config", "expected an object, found " + (root["text_config"]?.typeName ?? "nothing"))
    }
    textHiddenSize = try Self.int(textNode["hidden_size"], "text_config.hidden_size", 4096, source)

    let tokenKey = root["image_token_index"] != nil ? "image_token_index" : "image_token_id"
    imageTokenIndex = try Self.int(root[tokenKey], tokenKey, 32000, source, minimum: 0)

    let layerCount = vision.tower.layerCount
    let layers: [Int]
    switch root["vision_feature_layer"] {
    case nil, .null?: layers = [-2]
    case .array(let items)?:
      var values: [Int] = []
      for (i, item) in items.enumerated() {
        guard let value = item.int else {
          throw fail("vision_feature_layer[\(i)]", "expected an integer, found \(item.encoded())")
        }
        values.append(value)
      }
      guard !values.isEmpty else {
        throw fail("vision_feature_layer", "expected at least one layer, found []")
      }
      layers = values
    case let value?:
      guard let int = value.int else {
        throw fail(
          "vision_feature_layer", "expected an integer or a list of integers, found \(value.encoded())")
      }
      layers = [int]
    }
    for layer in layers where layer < -(layerCount + 1) || layer > layerCount {
      throw fail(
        "vision_feature_layer",
        "\(layer) is not a hidden state of a \(layerCount)-layer vision tower (expected \(-(layerCount + 1))…\(layerCount))"
      )
    }
    featureLayers = layers

    let strategy = root["vision_feature_select_strategy"]?.string ?? "default"
    guard let selection = FeatureSelection(rawValue: strategy) else {
      throw fail(
        "vision_feature_select_strategy",
        "expected \"default\" or \"full\", found \(root["vision_feature_select_strategy"]?.encoded() ?? "")")
    }
    featureSelection = selection

    let activations: [String: Activation] = [
      "gelu": .gelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh, "gelu_fast": .geluTanh,
      "quick_gelu": .quickGelu, "relu": .relu, "silu": .silu,
    ]
    let activationName = root["projector_hidden_act"]?.string ?? "gelu"
    guard let activation = activations[activationName] else {
      throw fail(
        "projector_hidden_act",
        "expected one of \(activations.keys.sorted().joined(separator: ", ")), found "
          + (root["projector_hidden_act"]?.encoded() ?? ""))
    }
    projectorActivation = activation

    switch root["multimodal_projector_bias"] {
    case nil, .null?: projectorBias = true
    case .bool(let bias)?: projectorBias = bias
    case let value?:
      throw fail("multimodal_projector_bias", "expected true or false, found \(value.encoded())")
    }
  }

  private static func int(
    _ value: JSONValue?, _ key: String, _ fallback: Int, _ source: String, minimum: Int = 1
  )
    throws(ModelError) -> Int
  {
    guard let value, value != .null else { return fallback }
    guard let int = value.int, int >= minimum else {
      throw .configuration(
        source: source, problem: "\(key): expected an integer ≥ \(minimum), found \(value.encoded())")
    }
    return int
  }
}

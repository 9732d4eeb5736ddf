import Foundation
import MMCore
import MMKernels
import MMNN

/// The image side of a Hugging Face Idefics checkpoint (`IdeficsForVisionText2Text`, model_type
/// "idefics"), read from its config.json: `vision_config` (a CLIP-style vision transformer whose
/// width is `embed_dim`) and `perceiver_config` (the Perceiver Resampler, used when
/// `use_resampler`). Absent keys take transformers' defaults (`IdeficsVisionConfig`,
/// `IdeficsPerceiverConfig`). The decoder side is `LlamaCheckpointDirectory`'s (MMLLM).
public struct IdeficsConfiguration: Sendable, Equatable {
  /// `perceiver_config`.
  public struct Perceiver: Sendable, Equatable {
    /// `resampler_n_latents`: the tokens each image becomes.
    public var latentCount: Int
    /// `resampler_depth`: attention + MLP blocks.
    public var depth: Int
    /// `resampler_n_heads`, `resampler_head_dim` (heads · headDim need not equal the width).
    public var headCount: Int
    public var headDim: Int
    /// `qk_layer_norms_perceiver`: LayerNorm over each head of q and k.
    public var qkLayerNorms: Bool

    public init(latentCount: Int, depth: Int, headCount: Int, headDim: Int, qkLayerNorms: Bool) {
      self.latentCount = latentCount
      self.depth = depth
      self.headCount = headCount
      self.headDim = headDim
      self.qkLayerNorms = qkLayerNorms
    }
  }

  /// `vision_config`: embed_dim (as the tower's hidden size), layers, heads, MLP width,
  /// `hidden_act` (gelu in the released checkpoints), image and patch size.
  public var vision: CLIPConfiguration.Vision
  public var perceiver: Perceiver
  /// `use_resampler`: without it the decoder cross-attends to all vision tokens.
  public var useResampler: Bool

  public init(vision: CLIPConfiguration.Vision, perceiver: Perceiver, useResampler: Bool) {
    self.vision = vision
    self.perceiver = perceiver
    self.useResampler = useResampler
  }

  /// The vision width (`vision_config.embed_dim`): of the vision tokens, the latents and the
  /// images the decoder's gated cross-attention takes.
  public var width: Int { vision.tower.hiddenSize }

  /// Reads `config.json` (a file, or the checkpoint directory holding it).
  /// - Throws: `ModelError.configuration` naming the file and the dotted key: unreadable file,
  ///   bad JSON, another model_type, a key of the wrong type, impossible sizes.
  public init(contentsOf path: String) throws(ModelError) {
    var file = path
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      file = (path as NSString).appendingPathComponent("config.json")
    }
    guard let data = FileManager.default.contents(atPath: file) else {
      throw .configuration(
        source: file, problem: "cannot read the file (an Idefics checkpoint needs config.json)")
    }
    let root: JSONValue
    do { root = try JSONParser.parse([UInt8](data), file: file).root } catch {
      throw .configuration(source: file, problem: "not valid JSON: \(error)")
    }
    try self.init(json: root, source: file)
  }

  public init(json root: JSONValue, source: String) throws(ModelError) {
    func fail(_ problem: String) -> ModelError { .configuration(source: source, problem: problem) }
    guard case .object = root else { throw fail("expected a JSON object, found \(root.typeName)") }
    if let type = root["model_type"]?.string, type != "idefics" {
      throw fail("model_type: expected \"idefics\", found \"\(type)\"")
    }
    func object(_ key: String) throws(ModelError) -> JSONValue {
      guard let node = root[key], node != .null else { return .object([]) }
      guard case .object = node else { throw fail("\(key): expected an object, found \(node.typeName)") }
      return node
    }
    func int(_ node: JSONValue, _ path: String, _ key: String, _ fallback: Int) throws(ModelError) -> Int {
      guard let value = node[key], value != .null else { return fallback }
      guard let int = value.int, int >= 1 else {
        throw fail("\(path)\(key): expected an integer ≥ 1, found \(value.encoded())")
      }
      return int
    }
    func bool(_ node: JSONValue, _ path: String, _ key: String) throws(ModelError) -> Bool {
      guard let value = node[key], value != .null else { return false }
      guard let bool = value.bool else {
        throw fail("\(path)\(key): expected a boolean, found \(value.encoded())")
      }
      return bool
    }
    let v = try object("vision_config")
    let p = "vision_config."
    let width = try int(v, p, "embed_dim", 768)
    let heads = try int(v, p, "num_attention_heads", 16)
    guard width % heads == 0 else {
      throw fail("\(p)embed_dim \(width) is not divisible by \(p)num_attention_heads \(heads)")
    }
    let activationName = v["hidden_act"]?.string ?? "gelu"
    let activations: [String: Activation] = [
      "gelu": .gelu, "quick_gelu": .quickGelu, "gelu_new": .geluTanh, "gelu_pytorch_tanh": .geluTanh,
      "relu": .relu, "silu": .silu,
    ]
    guard let activation = activations[activationName] else {
      throw fail(
        "\(p)hidden_act: expected one of \(activations.keys.sorted().joined(separator: ", ")), found "
          + JSONValue.quoted(activationName))
    }
    var eps = 1e-5
    if let value = v["layer_norm_eps"], value != .null {
      guard let double = value.double else {
        throw fail("\(p)layer_norm_eps: expected a number, found \(value.encoded())")
      }
      eps = double
    }
    let size = try int(v, p, "image_size", 224)
    let patch = try int(v, p, "patch_size", 14)
    guard size % patch == 0 else {
      throw fail("\(p)image_size \(size) is not a multiple of \(p)patch_size \(patch)")
    }
    vision = CLIPConfiguration.Vision(
      tower: CLIPConfiguration.Tower(
        hiddenSize: width, intermediateSize: try int(v, p, "intermediate_size", 5120),
        layerCount: try int(v, p, "num_hidden_layers", 32), headCount: heads, activation: activation,
        layerNormEps: Float(eps)),
      imageSize: size, patchSize: patch, channelCount: try int(v, p, "num_channels", 3))
    let r = try object("perceiver_config")
    let q = "perceiver_config."
    perceiver = Perceiver(
      latentCount: try int(r, q, "resampler_n_latents", 64), depth: try int(r, q, "resampler_depth", 6),
      headCount: try int(r, q, "resampler_n_heads", 16), headDim: try int(r, q, "resampler_head_dim", 96),
      qkLayerNorms: try bool(r, q, "qk_layer_norms_perceiver"))
    useResampler = try bool(root, "", "use_resampler")
  }
}

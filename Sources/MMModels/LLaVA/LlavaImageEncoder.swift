import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// The image half of a Hugging Face LLaVA checkpoint (`LlavaModel.get_image_features`): the
/// CLIP vision tower's hidden states at `vision_feature_layer` (class token dropped with the
/// "default" strategy, several layers concatenated), then `multi_modal_projector`. The
/// language model is `MMLLM.LlamaModel(directory:)` on the same folder; the projected rows take
/// the places of the prompt's `<image>` tokens.
///
/// The tensors are read under the names transformers 5 saves (`vision_tower.embeddings…`,
/// `multi_modal_projector.linear_1…`), the hub's (`vision_tower.vision_model.embeddings…`, as in
/// llava-hf/llava-1.5-7b-hf) or transformers 5's in-memory names (`model.vision_tower…`,
/// `model.multi_modal_projector…`): the prefix is probed once.
public final class LlavaImageEncoder: Sendable {
  public let configuration: LlavaConfiguration
  public let vision: CLIPVisionModel
  public let projector: LlavaProjector
  /// The key prefix of the vision tower found in the checkpoint (`vision_tower.vision_model`, …).
  public let visionPrefix: String
  /// The key prefix of the projector (`multi_modal_projector` or `model.multi_modal_projector`).
  public let projectorPrefix: String

  /// The vision tower prefixes tried, in order.
  public static let visionPrefixes = [
    "vision_tower.vision_model", "vision_tower", "model.vision_tower.vision_model", "model.vision_tower",
  ]
  public static let projectorPrefixes = ["multi_modal_projector", "model.multi_modal_projector"]

  /// - Throws: `ModelError.weights` naming the file and full key of a missing tensor (with the
  ///   nearest names the file has) or a tensor whose shape differs from the configuration's.
  public init(configuration: LlavaConfiguration, store: any WeightStore) throws(ModelError) {
    self.configuration = configuration
    let root = ParameterScope(store)
    guard
      let visionPrefix = Self.visionPrefixes.first(where: {
        root.contains("\($0).embeddings.class_embedding")
      })
    else {
      throw .weights(
        path: store.path, tensor: "vision_tower.vision_model.embeddings.class_embedding",
        problem:
          "missing: no CLIP vision tower under any of \(Self.visionPrefixes.map { $0 + "." }.joined(separator: ", ")) (not a LLaVA checkpoint?)"
      )
    }
    let projectorPrefix =
      Self.projectorPrefixes.first(where: { root.contains("\($0).linear_1.weight") })
      ?? Self.projectorPrefixes[0]
    self.visionPrefix = visionPrefix
    self.projectorPrefix = projectorPrefix
    vision = try CLIPVisionModel(root.child(visionPrefix), configuration: configuration.vision)
    projector = try LlavaProjector(root.child(projectorPrefix), configuration: configuration)
  }

  /// A checkpoint folder: `config.json` and `model.safetensors` (or a sharded index).
  public convenience init(directory: String) throws(ModelError) {
    let configuration = try LlavaConfiguration(
      contentsOf: URL(fileURLWithPath: directory).appendingPathComponent("config.json").path)
    let store: any WeightStore
    do { store = try openWeightStore(path: directory) } catch { throw ModelError(error) }
    try self.init(configuration: configuration, store: store)
  }

  /// What LLaVA feeds its projector: pixels [3, size, size] → [tokensPerImage, featureWidth], or
  /// [batch, 3, size, size] → [batch, tokensPerImage, featureWidth]. Each feature layer's hidden
  /// state, without the class token under the "default" strategy, concatenated along the width
  /// in the order of `vision_feature_layer`. `trace` adds `image_features`.
  public func features(_ pixels: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let c = configuration
    let states = try vision.hiddenStates(pixels, at: c.featureLayers, trace: trace)
    guard let first = states.first, first.rank == 3 else {
      throw .invalidInput("LLaVA: the vision tower returned no hidden state")
    }
    let (batch, tokens, d) = (first.shape[0], first.shape[1], first.shape[2])
    let skip = c.featureSelection == .dropClassToken ? 1 : 0
    let kept = tokens - skip
    let width = d * states.count
    let out = Tensor(zeros: [batch, kept, width])
    let target = out.pointer(Float.self)
    for (layer, state) in states.enumerated() {
      let dense = state.contiguous()
      withExtendedLifetime(dense) {
        let source = dense.pointer(Float.self)
        for n in 0..<batch {
          for t in 0..<kept {
            (target + (n * kept + t) * width + layer * d).update(
              from: source + (n * tokens + t + skip) * d, count: d)
          }
        }
      }
    }
    trace.record("image_features", out)
    if pixels.rank == 3 {
      do { return try out.reshaped([kept, width]) } catch { throw .invalidInput("\(error)") }
    }
    return out
  }

  /// pixels [3, size, size] → the projected image embeddings [tokensPerImage, textHiddenSize]
  /// (or batched: [batch, 3, size, size] → [batch, tokensPerImage, textHiddenSize]).
  public func imageEmbeddings(_ pixels: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    try projector(try features(pixels, trace: trace), trace: trace)
  }
}

import Foundation
import MMCore
import MMKernels
import MMNN
import MMTokenizers
import MMWeights

/// The connector half of a Hugging Face BLIP-2 (`Blip2ForConditionalGeneration`) or InstructBLIP
/// (`InstructBlipForConditionalGeneration`) checkpoint: the vision model (`vision_model.…`), the
/// Q-Former with its `query_tokens` (`qformer.…`) and `language_projection` [textHidden, qHidden],
/// which turn an image into `num_query_tokens` soft tokens of the language model's width. The
/// language model itself (`language_model.…`) is MMLLM's `LlamaModel(directory:)`.
///
/// ```swift
/// let model = try BLIP2Model(directory: "blip2-tiny")
/// let features = try model.vision(pixels)                  // [1 + patches, visionHidden]
/// let tokens = try model.languageInputs(features)          // [num_query_tokens, textHidden]
/// ```
public final class BLIP2Model: Sendable {
  public let configuration: BLIP2Configuration
  public let vision: Blip2VisionModel
  public let qformer: BLIP2QFormer
  let languageProjection: Linear
  /// InstructBLIP's Q-Former tokenizer (`qformer_tokenizer/`), nil for BLIP-2.
  public let qformerTokenizer: Tokenizer?

  public init(configuration: BLIP2Configuration, store: any WeightStore, qformerTokenizer: Tokenizer?)
    throws(ModelError)
  {
    let c = configuration
    let scope = ParameterScope(store)
    self.configuration = c
    vision = try Blip2VisionModel(scope.child("vision_model"), configuration: c.vision)
    qformer = try BLIP2QFormer(scope, configuration: c.qformer, queryCount: c.queryTokenCount)
    languageProjection = try scope.linear(
      "language_projection", inputs: c.qformer.hiddenSize, outputs: c.textHiddenSize)
    self.qformerTokenizer = qformerTokenizer
  }

  /// A checkpoint folder as `save_pretrained` writes it: `config.json`, `model.safetensors` (or
  /// a sharded index), and for InstructBLIP `qformer_tokenizer/` (tokenizer.json).
  public convenience init(directory: String) throws(ModelError) {
    let configuration = try BLIP2Configuration(
      contentsOf: (directory as NSString).appendingPathComponent("config.json"))
    let store: any WeightStore
    do { store = try openWeightStore(path: directory) } catch { throw ModelError(error) }
    var tokenizer: Tokenizer? = nil
    if configuration.family == .instructBLIP {
      let folder = (directory as NSString).appendingPathComponent("qformer_tokenizer")
      do { tokenizer = try Tokenizer(directory: folder) } catch {
        throw .configuration(
          source: folder, problem: "cannot load InstructBLIP's Q-Former tokenizer (tokenizer.json): \(error)")
      }
    }
    try self.init(configuration: configuration, store: store, qformerTokenizer: tokenizer)
  }

  /// The instruction as the processor gives it to the Q-Former: `qformer_tokenizer(text)`, with
  /// [CLS] and [SEP].
  public func instructionIDs(_ text: String) throws(ModelError) -> [Int32] {
    guard let qformerTokenizer else {
      throw .invalidInput("a BLIP-2 checkpoint's Q-Former takes no instruction (only InstructBLIP's does)")
    }
    return qformerTokenizer.encode(text)
  }

  /// features: [n, visionHidden] (`vision`'s output) → the soft tokens for the language model
  /// [num_query_tokens, textHidden]: `language_projection`(Q-Former query output). InstructBLIP
  /// needs `instruction` (the text the prompt also carries); BLIP-2 refuses one. `trace` adds the
  /// Q-Former's names and `projected`.
  public func languageInputs(_ features: Tensor, instruction: String? = nil, trace: ActivationTrace? = nil)
    throws(ModelError) -> Tensor
  {
    var ids: [Int32]? = nil
    switch (configuration.family, instruction) {
    case (.blip2, .some):
      throw .invalidInput("a BLIP-2 checkpoint's Q-Former takes no instruction (only InstructBLIP's does)")
    case (.instructBLIP, nil):
      throw .invalidInput("an InstructBLIP checkpoint's Q-Former needs the instruction text")
    case (.instructBLIP, .some(let text)): ids = try instructionIDs(text)
    case (.blip2, nil): break
    }
    let query = try qformer(features, instruction: ids, trace: trace)
    let projected = try languageProjection(query)
    trace.record("projected", projected)
    return projected
  }
}

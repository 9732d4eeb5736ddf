import Foundation
import MMCore
import MMWeights

/// The LLaMA decoder inside a Hugging Face checkpoint directory: a plain `LlamaForCausalLM`, or
/// the text model of a multimodal checkpoint — LLaVA, BLIP-2, InstructBLIP — whose config.json
/// holds the decoder's settings under `text_config` and whose safetensors hold its tensors under
/// `language_model.` (as saved by transformers and published on the hub:
/// `language_model.model.layers.0…`, `language_model.lm_head.weight`) or under transformers 5's
/// in-memory names (`model.language_model.layers.0…`, `lm_head.weight`). The decoder reads its
/// own names through a `RenamedWeightStore`; nothing is copied.
///
/// An Idefics checkpoint (`model_type` "idefics", `IdeficsForVisionText2Text`) keeps the decoder's
/// settings at the top level of config.json and its tensors under LlamaForCausalLM names
/// (`model.layers.N…`, `model.embed_tokens.weight`, `model.norm.weight`, `lm_head.weight`) beside
/// `model.gated_cross_attn_layers.K…` and the decoupled `additional_embedding`/`additional_fc`;
/// `idefics` then holds what the gated cross-attention needs, and the vocabulary is
/// `vocab_size + additional_vocab_size`.
public struct LlamaCheckpointDirectory: Sendable {
  public let directory: String
  /// The whole config.json (a multimodal checkpoint's vision and connector settings live here).
  public let config: JSONValue
  /// The decoder's configuration (`text_config` when present).
  public let configuration: LlamaConfiguration
  /// The decoder's tensors under LlamaForCausalLM names.
  public let weights: any WeightStore
  /// config.json's `model_type` ("llama", "llava", "blip-2", "instructblip", …).
  public var modelType: String? { config["model_type"]?.string }
  /// Whether the decoder sits inside a multimodal checkpoint.
  public let isMultimodal: Bool
  /// The gated cross-attention settings of an Idefics checkpoint, nil otherwise.
  public let idefics: IdeficsDecoderConfiguration?

  public init(directory: String) throws(LlamaError) {
    self.directory = directory
    let file = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
    guard let data = FileManager.default.contents(atPath: file) else {
      throw .configuration(source: file, problem: "cannot read the file (a checkpoint needs config.json)")
    }
    do { config = try JSONParser.parse(data, file: file).root } catch {
      throw .configuration(source: file, problem: error.message)
    }
    let store: any WeightStore
    do { store = try openWeightStore(path: directory) } catch { throw .weights(error.description) }
    if config["model_type"]?.string == "idefics" {
      isMultimodal = true
      // The top level is the text config; its architectures name the multimodal class.
      let members = (config.members ?? []).filter { $0.key != "architectures" }
      var configuration = try LlamaConfiguration(json: .object(members), source: file)
      let tokenizerFile = URL(fileURLWithPath: directory).appendingPathComponent("tokenizer.json").path
      var tokenizer: JSONValue?
      if let data = FileManager.default.contents(atPath: tokenizerFile) {
        do { tokenizer = try JSONParser.parse(data, file: tokenizerFile).root } catch {
          throw .configuration(source: tokenizerFile, problem: error.message)
        }
      }
      let idefics = try IdeficsDecoderConfiguration(config: config, tokenizerJSON: tokenizer, source: file)
      configuration.vocabSize += idefics.additionalVocabSize
      self.configuration = configuration
      self.idefics = idefics
      weights = store
      return
    }
    idefics = nil
    guard let text = config["text_config"], text != .null else {
      isMultimodal = false
      configuration = try LlamaConfiguration(json: config, source: file)
      weights = store
      return
    }
    isMultimodal = true
    var configuration = try LlamaConfiguration(json: text, source: file + " text_config")
    let layouts: [[(view: String, stored: String)]] = [
      [("model.", "language_model.model."), ("lm_head.", "language_model.lm_head.")],
      [("model.", "model.language_model."), ("lm_head.", "lm_head.")],
    ]
    guard
      let layout = layouts.first(where: { store.contains($0[0].stored + "embed_tokens.weight") })
    else {
      throw .weights(
        "\(store.path): a \(config["model_type"]?.string ?? "multimodal") checkpoint (config.json has text_config) but no tensor 'language_model.model.embed_tokens.weight' or 'model.language_model.embed_tokens.weight': the language model's weights are not in this checkpoint"
      )
    }
    let renamed = RenamedWeightStore(store, prefixes: layout)
    // The text config of a multimodal checkpoint often omits tie_word_embeddings; the
    // checkpoint itself says whether the head is stored.
    if text["tie_word_embeddings"] == nil, let top = config["tie_word_embeddings"]?.bool {
      configuration.tieWordEmbeddings = top
    }
    if !renamed.contains("lm_head.weight") { configuration.tieWordEmbeddings = true }
    self.configuration = configuration
    weights = renamed
  }
}

import Foundation
import MMCore
import MMGraph
import MMLLM
import MMWeights
import Synchronization

/// A decoder with its chat format, loaded from a GGUF file or a Hugging Face checkpoint folder
/// (a LlamaForCausalLM, or the text model of a LLaVA / BLIP-2 / InstructBLIP / Idefics
/// checkpoint). Loaded once per process, path and context length.
final class LanguageModel: @unchecked Sendable {
  let path: String
  let model: LlamaModel
  let format: ChatFormat
  /// Serializes generation: the model owns one KV cache.
  let lock = Mutex<Void>(())

  private static let loaded = LoadedModels<LanguageModel>()

  /// The model at `path`, loading it the first time.
  static func shared(_ path: String, context: Int) throws -> LanguageModel {
    let key = "\(path)#\(context)"
    return try loaded(key) {
      let model = try LanguageModel(path: path, context: context)
      return model
    }
  }

  init(path: String, context: Int) throws {
    self.path = path
    format = try ChatFormat.shared(path)
    var isDirectory: ObjCBool = false
    _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
    if isDirectory.boolValue {
      model = try LlamaModel(directory: path, maxSequenceLength: context)
    } else {
      model = try LlamaModel(gguf: try GGUFFile(path: path), maxSequenceLength: context)
    }
    guard format.tokenizer.vocabularySize <= model.configuration.vocabSize else {
      throw LanguageModelError(
        "\(path): the tokenizer has \(format.tokenizer.vocabularySize) tokens but the model's embedding has \(model.configuration.vocabSize) rows: they do not belong together"
      )
    }
  }
}

/// What the graph's load-time checks need of a model without loading it: the width of the
/// embeddings it takes in place of tokens (its hidden size) and, for a gated cross-attention
/// model (Idefics), the width of the image embeddings it attends to. Read from config.json (a
/// multimodal checkpoint's `text_config`) or a GGUF file's metadata; nil when unreadable (the
/// run then reports the file).
struct ModelWidths: Sendable {
  var hidden: Int
  var crossAttention: Int?
  /// config.json's `model_type` (nil for GGUF).
  var modelType: String?

  /// Where media go by default: before the prompt for BLIP-2 and InstructBLIP (their
  /// processors prepend the query tokens, before BOS), at the placeholders otherwise.
  var mediaFirst: Bool { ["blip-2", "instructblip"].contains(modelType ?? "") }

  init?(path: String) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
    if isDirectory.boolValue {
      let file = URL(fileURLWithPath: path).appendingPathComponent("config.json").path
      guard let data = FileManager.default.contents(atPath: file),
        let config = try? JSONParser.parse(data, file: file).root,
        let hidden = (config["text_config"] ?? config)["hidden_size"]?.int
      else { return nil }
      self.hidden = hidden
      modelType = config["model_type"]?.string
      crossAttention =
        config["model_type"]?.string == "idefics" ? config["vision_config"]?["embed_dim"]?.int : nil
    } else {
      guard let file = try? GGUFFile(path: path), let configuration = try? LlamaConfiguration(gguf: file)
      else {
        return nil
      }
      hidden = configuration.hiddenSize
      crossAttention = nil
      modelType = nil
    }
  }
}

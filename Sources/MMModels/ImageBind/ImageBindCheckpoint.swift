import Foundation
import MMCore
import MMNN
import MMTokenizers
import MMWeights
import Synchronization

/// A converted ImageBind checkpoint: the safetensors file (ImageBind's own keys) and the JSON
/// configuration beside it (`imagebind_huge.safetensors` + `imagebind_huge.json`, as
/// Scripts/convert_imagebind.py writes them). Opened once per process and path; each modality's
/// encoder is built once, on first use, so a graph that embeds only audio reads only the audio
/// tensors.
public final class ImageBindCheckpoint: Sendable {
  public let weightsPath: String
  public let configurationPath: String
  public let store: any WeightStore
  public let configuration: ImageBindConfiguration
  private let encoders = Mutex<[String: ImageBindEncoder]>([:])
  private let tokenizers = Mutex<[String: CLIPTokenizer]>([:])

  /// ImageBind's BPE vocabulary file name (`imagebind/bpe/bpe_simple_vocab_16e6.txt.gz`), looked
  /// for beside the weights.
  public static let vocabularyFileName = "bpe_simple_vocab_16e6.txt.gz"

  private static let opened = Mutex<[String: ImageBindCheckpoint]>([:])

  /// The JSON configuration that belongs to `weightsPath`: the same path with `.json` in place
  /// of `.safetensors`.
  public static func configurationPath(for weightsPath: String) -> String {
    let url = URL(fileURLWithPath: weightsPath)
    return url.deletingPathExtension().appendingPathExtension("json").path
  }

  /// The checkpoint at `weightsPath` (configuration: `configurationPath` or the `.json` beside
  /// it), opening it the first time.
  public static func shared(_ weightsPath: String, configurationPath: String? = nil) throws(ModelError)
    -> ImageBindCheckpoint
  {
    let configPath = configurationPath ?? Self.configurationPath(for: weightsPath)
    let key = "\(weightsPath)#\(configPath)"
    if let checkpoint = opened.withLock({ $0[key] }) { return checkpoint }
    let checkpoint = try ImageBindCheckpoint(weightsPath: weightsPath, configurationPath: configPath)
    return opened.withLock { cache in
      if let existing = cache[key] { return existing }
      cache[key] = checkpoint
      return checkpoint
    }
  }

  public init(weightsPath: String, configurationPath: String) throws(ModelError) {
    guard FileManager.default.fileExists(atPath: weightsPath) else {
      throw .configuration(
        source: weightsPath,
        problem: "no such weights file (convert ImageBind's checkpoint with Scripts/convert_imagebind.py)")
    }
    guard FileManager.default.fileExists(atPath: configurationPath) else {
      throw .configuration(
        source: configurationPath,
        problem: "no configuration beside the weights (Scripts/convert_imagebind.py writes it)")
    }
    self.weightsPath = weightsPath
    self.configurationPath = configurationPath
    configuration = try ImageBindConfiguration(contentsOf: configurationPath)
    do { store = try openWeightStore(path: weightsPath) } catch { throw ModelError(error) }
  }

  /// The encoder called `name`, built by `build` the first time (later calls share it).
  public func encoder(
    _ name: String, build: (any WeightStore, ImageBindConfiguration) throws(ModelError) -> ImageBindEncoder
  ) throws(ModelError) -> ImageBindEncoder {
    if let encoder = encoders.withLock({ $0[name] }) { return encoder }
    let encoder = try build(store, configuration)
    return encoders.withLock { cache in
      if let existing = cache[name] { return existing }
      cache[name] = encoder
      return encoder
    }
  }

  /// The vision encoder (images and video clips).
  public func vision() throws(ModelError) -> ImageBindEncoder {
    try encoder("vision") { (store, c) throws(ModelError) in try .vision(store, configuration: c) }
  }

  /// The audio encoder.
  public func audio() throws(ModelError) -> ImageBindEncoder {
    try encoder("audio") { (store, c) throws(ModelError) in try .audio(store, configuration: c) }
  }

  /// ImageBind's text input for `texts`: `SimpleTokenizer`'s rows (start token, the BPE ids,
  /// end token, truncated to the context length, zero padded) → ids [texts.count, 77] as f32.
  /// `vocabularyPath`: CLIP's `bpe_simple_vocab_16e6.txt.gz` (default: beside the weights); the
  /// tokenizer is loaded once per path.
  public func tokenIDs(_ texts: [String], vocabularyPath: String? = nil) throws(ModelError) -> Tensor {
    let path =
      vocabularyPath
      ?? URL(fileURLWithPath: weightsPath).deletingLastPathComponent().appendingPathComponent(
        Self.vocabularyFileName
      ).path
    let tokenizer: CLIPTokenizer
    if let cached = tokenizers.withLock({ $0[path] }) {
      tokenizer = cached
    } else {
      guard FileManager.default.fileExists(atPath: path) else {
        throw .configuration(
          source: path,
          problem:
            "no CLIP vocabulary (copy ImageBind's imagebind/bpe/\(Self.vocabularyFileName) here, convert with --bpe, or fetch it: bash Scripts/fetch-models.sh clip-bpe)"
        )
      }
      do { tokenizer = try CLIPTokenizer(contentsOfGzip: path, cleanup: .openAI) } catch {
        throw .configuration(source: path, problem: "\(error)")
      }
      tokenizers.withLock { $0[path] = tokenizer }
    }
    let length = configuration.textContextLength
    let ids = tokenizer.batch(texts, contextLength: length)
    return Tensor(ids.map(Float.init), shape: [texts.count, length])
  }

  /// The text encoder.
  public func text() throws(ModelError) -> ImageBindEncoder {
    try encoder("text") { (store, c) throws(ModelError) in try .text(store, configuration: c) }
  }
}

import Foundation
import MMCore
import MMNN

/// The sizes of one ImageBind trunk: token width, transformer blocks, attention heads (the MLP is
/// 4× wide, as ImageBind's `SimpleTransformer` builds it; drop-path only matters in training).
public struct ImageBindTrunkSizes: Sendable, Equatable {
  public var embedDim: Int
  public var blocks: Int
  public var heads: Int

  public init(embedDim: Int, blocks: Int, heads: Int) {
    self.embedDim = embedDim
    self.blocks = blocks
    self.heads = heads
  }
}

/// Every size of ImageBind's `ImageBindModel.__init__` (imagebind_model.py), per modality.
/// `huge` is `imagebind_huge()`; small ones come from the JSON file written next to converted
/// weights (`ImageBindConfiguration(contentsOf:)`, Scripts/convert_imagebind.py).
public struct ImageBindConfiguration: Sendable, Equatable {
  /// The shared embedding width every head projects to (`out_embed_dim`).
  public var outEmbedDim: Int

  public var vision: ImageBindTrunkSizes
  /// The Conv3d patch stem's kernel = stride, (time, height, width): (2, 14, 14).
  public var visionKernel: [Int]
  /// Frames an image is repeated to (`video_frames`, PadIm2Video's `ntimes`).
  public var videoFrames: Int
  /// The square image side the positional embedding was made for (224).
  public var imageSize: Int

  public var audio: ImageBindTrunkSizes
  public var audioKernel: Int
  public var audioStride: Int
  public var audioMelBins: Int
  public var audioTargetLength: Int

  public var text: ImageBindTrunkSizes
  /// Rows of the token embedding (49408 for CLIP's BPE vocabulary).
  public var textVocabularySize: Int
  /// Tokens per text (77).
  public var textContextLength: Int

  public var depth: ImageBindTrunkSizes
  public var depthKernel: Int
  public var thermal: ImageBindTrunkSizes
  public var thermalKernel: Int
  /// The square single-channel image side of depth and thermal inputs (224).
  public var singleChannelImageSize: Int

  public var imu: ImageBindTrunkSizes
  /// Samples per IMU patch (8): each token is `channels × kernel` values.
  public var imuKernel: Int
  public var imuChannels: Int
  public var imuLength: Int

  /// `imagebind_huge()`: vision ViT-H (1280, 32 blocks), text 1024 × 24, out 1024; the other
  /// trunks at `ImageBindModel`'s defaults.
  public static let huge = ImageBindConfiguration(
    outEmbedDim: 1024, vision: .init(embedDim: 1280, blocks: 32, heads: 16), visionKernel: [2, 14, 14],
    videoFrames: 2, imageSize: 224, audio: .init(embedDim: 768, blocks: 12, heads: 12), audioKernel: 16,
    audioStride: 10, audioMelBins: 128, audioTargetLength: 204,
    text: .init(embedDim: 1024, blocks: 24, heads: 16), textVocabularySize: 49408, textContextLength: 77,
    depth: .init(embedDim: 384, blocks: 12, heads: 8), depthKernel: 16,
    thermal: .init(embedDim: 768, blocks: 12, heads: 12), thermalKernel: 16, singleChannelImageSize: 224,
    imu: .init(embedDim: 512, blocks: 6, heads: 8), imuKernel: 8, imuChannels: 6, imuLength: 2000)

  public init(
    outEmbedDim: Int, vision: ImageBindTrunkSizes, visionKernel: [Int], videoFrames: Int, imageSize: Int,
    audio: ImageBindTrunkSizes, audioKernel: Int, audioStride: Int, audioMelBins: Int,
    audioTargetLength: Int, text: ImageBindTrunkSizes, textVocabularySize: Int, textContextLength: Int,
    depth: ImageBindTrunkSizes, depthKernel: Int, thermal: ImageBindTrunkSizes, thermalKernel: Int,
    singleChannelImageSize: Int, imu: ImageBindTrunkSizes, imuKernel: Int, imuChannels: Int, imuLength: Int
  ) {
    self.outEmbedDim = outEmbedDim
    self.vision = vision
    self.visionKernel = visionKernel
    self.videoFrames = videoFrames
    self.imageSize = imageSize
    self.audio = audio
    self.audioKernel = audioKernel
    self.audioStride = audioStride
    self.audioMelBins = audioMelBins
    self.audioTargetLength = audioTargetLength
    self.text = text
    self.textVocabularySize = textVocabularySize
    self.textContextLength = textContextLength
    self.depth = depth
    self.depthKernel = depthKernel
    self.thermal = thermal
    self.thermalKernel = thermalKernel
    self.singleChannelImageSize = singleChannelImageSize
    self.imu = imu
    self.imuKernel = imuKernel
    self.imuChannels = imuChannels
    self.imuLength = imuLength
  }

  /// The JSON configuration next to converted weights (`tiny.json`, `imagebind_huge.json`):
  /// `{"out_embed_dim": E, "vision": {"embed_dim", "num_blocks", "num_heads", "kernel_size":
  /// [t, h, w], "image_size", "video_frames"}, "audio": {…, "kernel_size", "stride",
  /// "num_mel_bins", "target_len"}, "text": {…, "vocab_size", "context_length"}, "depth" and
  /// "thermal": {…, "kernel_size", "image_size"}, "imu": {…, "kernel_size", "channels",
  /// "length"}}`. A key left out takes `huge`'s value; a wrong type or a non-positive size is an
  /// error naming the file, line and key.
  public init(contentsOf path: String) throws(ModelError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .configuration(source: path, problem: "cannot read the file")
    }
    let document: JSONDocument
    do { document = try JSONParser.parse(data, file: path) } catch {
      throw .configuration(source: path, problem: error.message + " (at line \(error.line))")
    }
    try self.init(json: document)
  }

  /// The configuration in a parsed JSON document (see `init(contentsOf:)`).
  public init(json document: JSONDocument) throws(ModelError) {
    let reader = ConfigurationReader(document: document)
    guard case .object = document.root else {
      throw .configuration(
        source: document.file, problem: "expected a JSON object, found \(document.root.typeName)")
    }
    let base = ImageBindConfiguration.huge
    func trunk(_ name: String, _ base: ImageBindTrunkSizes) throws(ModelError) -> ImageBindTrunkSizes {
      let sizes = ImageBindTrunkSizes(
        embedDim: try reader.positive("/\(name)/embed_dim", base.embedDim),
        blocks: try reader.positive("/\(name)/num_blocks", base.blocks, allowZero: true),
        heads: try reader.positive("/\(name)/num_heads", base.heads))
      guard sizes.embedDim % sizes.heads == 0 else {
        throw reader.failure(
          "/\(name)/num_heads", "a divisor of embed_dim \(sizes.embedDim), found \(sizes.heads)")
      }
      return sizes
    }
    outEmbedDim = try reader.positive("/out_embed_dim", base.outEmbedDim)
    vision = try trunk("vision", base.vision)
    visionKernel = try reader.positiveList("/vision/kernel_size", base.visionKernel, count: 3)
    videoFrames = try reader.positive("/vision/video_frames", base.videoFrames)
    imageSize = try reader.positive("/vision/image_size", base.imageSize)
    audio = try trunk("audio", base.audio)
    audioKernel = try reader.positive("/audio/kernel_size", base.audioKernel)
    audioStride = try reader.positive("/audio/stride", base.audioStride)
    audioMelBins = try reader.positive("/audio/num_mel_bins", base.audioMelBins)
    audioTargetLength = try reader.positive("/audio/target_len", base.audioTargetLength)
    text = try trunk("text", base.text)
    textVocabularySize = try reader.positive("/text/vocab_size", base.textVocabularySize)
    textContextLength = try reader.positive("/text/context_length", base.textContextLength)
    depth = try trunk("depth", base.depth)
    depthKernel = try reader.positive("/depth/kernel_size", base.depthKernel)
    thermal = try trunk("thermal", base.thermal)
    thermalKernel = try reader.positive("/thermal/kernel_size", base.thermalKernel)
    singleChannelImageSize = try reader.positive("/depth/image_size", base.singleChannelImageSize)
    imu = try trunk("imu", base.imu)
    imuKernel = try reader.positive("/imu/kernel_size", base.imuKernel)
    imuChannels = try reader.positive("/imu/channels", base.imuChannels)
    imuLength = try reader.positive("/imu/length", base.imuLength)
    guard imuLength % imuKernel == 0 else {
      throw reader.failure("/imu/length", "a multiple of kernel_size \(imuKernel), found \(imuLength)")
    }
  }

  /// Patches of the vision stem on an `imageSize` image: (frames / kt) · (side / kh) · (side / kw).
  public var visionPatches: Int {
    (videoFrames / visionKernel[0]) * (imageSize / visionKernel[1]) * (imageSize / visionKernel[2])
  }

  /// Patches of the audio stem: the Conv2d's output grid on [mel bins, target length].
  public var audioPatches: Int {
    ((audioMelBins - audioKernel) / audioStride + 1) * ((audioTargetLength - audioKernel) / audioStride + 1)
  }
}

/// Typed reads of a configuration document with `file:line: key: expected …, found …` errors.
private struct ConfigurationReader {
  let document: JSONDocument

  func failure(_ pointer: String, _ expected: String) -> ModelError {
    let location = document.location(of: pointer).map { ":\($0.line):\($0.column)" } ?? ""
    return .configuration(source: document.file + location, problem: "\(pointer): expected \(expected)")
  }

  func positive(_ pointer: String, _ fallback: Int, allowZero: Bool = false) throws(ModelError) -> Int {
    guard let value = document.value(at: pointer) else { return fallback }
    guard let int = value.int, int > 0 || (allowZero && int == 0) else {
      throw failure(pointer, "a \(allowZero ? "non-negative" : "positive") integer, found \(value.encoded())")
    }
    return int
  }

  func positiveList(_ pointer: String, _ fallback: [Int], count: Int) throws(ModelError) -> [Int] {
    guard let value = document.value(at: pointer) else { return fallback }
    guard let elements = value.elements, elements.count == count,
      case let ints = elements.compactMap({ $0.int }), ints.count == count, ints.allSatisfy({ $0 > 0 })
    else {
      throw failure(pointer, "\(count) positive integers, found \(value.encoded())")
    }
    return ints
  }
}

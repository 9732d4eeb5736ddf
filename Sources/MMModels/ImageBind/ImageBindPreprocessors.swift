import MMCore
import MMKernels
import MMNN

/// What a modality preprocessor hands the trunk and head: the token sequence, whether the trunk
/// attends causally (text), and the position each item's head reads (the CLS token at 0, or
/// the end-of-text token).
public struct ImageBindTokens: Sendable {
  /// [batch, length, dim]
  public var tokens: Tensor
  public var causal: Bool
  /// One position per batch item.
  public var poolPositions: [Int]

  public init(tokens: Tensor, causal: Bool = false, poolPositions: [Int]? = nil) {
    self.tokens = tokens
    self.causal = causal
    self.poolPositions = poolPositions ?? Array(repeating: 0, count: tokens.shape.first ?? 0)
  }
}

/// An ImageBind modality preprocessor (`modality_preprocessors.<modality>`): its input → tokens.
/// New modalities (the depth, thermal and IMU plugins) conform to it outside this module.
public protocol ImageBindPreprocessor: Sendable {
  /// The token width it produces (the trunk's `embed_dim`).
  var embedDim: Int { get }
  /// The rank of one item of its input ([3, H, W] → 3), for clip batches [batch, clips, item…].
  var itemRank: Int { get }
  /// input: [batch, item…] → tokens [batch, length, embedDim].
  func callAsFunction(_ input: Tensor) throws(ModelError) -> ImageBindTokens
}

/// The CLS token and learned positions of `RGBDTPreprocessor`/`IMUPreprocessor`: patches
/// [batch, P, dim] → [batch, 1 + P, dim] = cat(cls, patches) + pos_embed. ImageBind interpolates
/// positions for an input of another size; mmgraph asks for the size the model was made for.
public struct ImageBindClassAndPositions: Sendable {
  /// `cls_token` [dim].
  public let classToken: [Float]
  /// `pos_embed` [1 + P, dim], row-major.
  public let positions: [Float]
  public let dim: Int

  /// `<scope>.cls_token` [1, 1, dim] and `<scope>.<positionsName>` [1, 1 + patches, dim]
  /// (`pos_embedding_helper.pos_embed` for images and audio, `pos_embed` for IMU).
  public init(
    _ scope: ParameterScope, positionsName: String, patches: Int, dim: Int
  ) throws(ModelError) {
    classToken = try scope.tensor("cls_token", shape: [1, 1, dim]).floats()
    positions = try scope.tensor(positionsName, shape: [1, 1 + patches, dim]).floats()
    self.dim = dim
  }

  public var patches: Int { positions.count / max(dim, 1) - 1 }

  /// patches: [batch, P, dim] → [batch, 1 + P, dim].
  public func callAsFunction(_ patchTokens: Tensor, modality: String) throws(ModelError) -> Tensor {
    guard patchTokens.rank == 3, patchTokens.shape[1] == patches, patchTokens.shape[2] == dim else {
      throw .invalidInput(
        "\(modality): \(patchTokens.rank == 3 ? patchTokens.shape[1] : -1) patches of width \(patchTokens.shape.last ?? 0), expected \(patches) patches of width \(dim) (the input size the positional embedding was made for)"
      )
    }
    let batch = patchTokens.shape[0]
    let length = patches + 1
    let source = patchTokens.contiguous()
    let tokens = Tensor(zeros: [batch, length, dim])
    let (x, y) = (source.pointer(Float.self), tokens.pointer(Float.self))
    for b in 0..<batch {
      for t in 0..<length {
        let out = y + (b * length + t) * dim
        for i in 0..<dim {
          let value = t == 0 ? classToken[i] : x[(b * patches + t - 1) * dim + i]
          out[i] = value + positions[t * dim + i]
        }
      }
    }
    return tokens
  }
}

extension Tensor {
  /// A convolution's output [batch, C, …spatial] as tokens [batch, ∏spatial, C]
  /// (PatchEmbedGeneric's `x.flatten(2).transpose(1, 2)`).
  public func patchTokens() throws(ModelError) -> Tensor {
    guard rank >= 3 else {
      throw .invalidInput("patch tokens: expected [batch, C, …], got \(shapeText(shape))")
    }
    let (batch, channels) = (shape[0], shape[1])
    let flat = try reshapedForModel([batch, channels, count / max(batch * channels, 1)])
    do { return try flat.transposed(1, 2).contiguous() } catch { throw .invalidInput("\(error)") }
  }
}

/// `modality_preprocessors.vision`: `PadIm2Video(repeat, 2)` (an image [3, H, W] becomes a
/// 2-frame clip), `Conv3d(3, D, kernel = stride = (2, 14, 14), bias=False)`
/// (`rgbt_stem.proj.1`), CLS token, learned positions.
///
/// input: [batch, 3, H, W] images or [batch, 3, T, H, W] clips (T = 1 is repeated) →
/// [batch, 1 + patches, D]
public struct ImageBindVisionPreprocessor: ImageBindPreprocessor {
  public let stem: Conv
  public let frames: Int
  public let classAndPositions: ImageBindClassAndPositions

  public init(_ scope: ParameterScope, configuration c: ImageBindConfiguration) throws(ModelError) {
    stem = try scope.conv(
      "rgbt_stem.proj.1", inChannels: 3, outChannels: c.vision.embedDim, kernel: c.visionKernel, bias: false)
    frames = c.videoFrames
    classAndPositions = try ImageBindClassAndPositions(
      scope, positionsName: "pos_embedding_helper.pos_embed", patches: c.visionPatches, dim: c.vision.embedDim
    )
  }

  public var embedDim: Int { stem.outChannels }
  public var itemRank: Int { 4 }

  public func callAsFunction(_ input: Tensor) throws(ModelError) -> ImageBindTokens {
    guard input.dtype == .f32, input.rank == 4 || input.rank == 5, input.shape[1] == 3 else {
      throw .invalidInput(
        "vision expects [batch, 3, H, W] or [batch, 3, T, H, W] f32, got \(input.dtype) \(shapeText(input.shape))"
      )
    }
    let video = try Self.padToVideo(input, frames: frames)
    return ImageBindTokens(tokens: try classAndPositions(try stem(video).patchTokens(), modality: "vision"))
  }

  /// PadIm2Video(pad_type="repeat"): [B, C, H, W] → [B, C, 1, H, W]; a single frame is repeated
  /// `frames` times; a clip of several frames passes unchanged.
  static func padToVideo(_ input: Tensor, frames: Int) throws(ModelError) -> Tensor {
    let x =
      input.rank == 4
      ? try input.contiguous().reshapedForModel(
        [input.shape[0], input.shape[1], 1, input.shape[2], input.shape[3]]) : input.contiguous()
    guard x.shape[2] == 1, frames > 1 else { return x }
    let (planes, plane) = (x.shape[0] * x.shape[1], x.shape[3] * x.shape[4])
    let y = Tensor(zeros: [x.shape[0], x.shape[1], frames, x.shape[3], x.shape[4]])
    for p in 0..<planes {
      for t in 0..<frames {
        (y.pointer(Float.self) + (p * frames + t) * plane).update(
          from: x.pointer(Float.self) + p * plane, count: plane)
      }
    }
    return y
  }
}

/// ImageBind's `RGBDTPreprocessor` on one input channel — the audio, depth and thermal stems:
/// `Conv2d(1, D, kernel, stride, bias=False)` (`<stem>.proj`), LayerNorm (eps 1e-5,
/// `<stem>.norm_layer`), CLS token, learned positions (`pos_embedding_helper.pos_embed`).
/// Audio: stem `rgbt_stem`, kernel 16, stride 10 over the log-mel spectrogram; depth: `depth_stem`,
/// thermal: `rgbt_stem`, kernel = stride = 16 (their plugins build it with their own names).
///
/// input: [batch, 1, H, W] → [batch, 1 + patches, D]
public struct ImageBindSingleChannelPreprocessor: ImageBindPreprocessor {
  public let modality: String
  public let stem: Conv
  public let norm: LayerNorm
  public let classAndPositions: ImageBindClassAndPositions
  /// The names of the two spatial axes, for messages ("mel bins, frames").
  public let axes: String

  public init(
    _ scope: ParameterScope, modality: String, stem stemName: String, dim: Int, kernel: Int, stride: Int,
    patches: Int, axes: String = "H, W"
  ) throws(ModelError) {
    self.modality = modality
    self.axes = axes
    stem = try scope.conv(
      "\(stemName).proj", inChannels: 1, outChannels: dim, kernel: [kernel, kernel],
      stride: [stride, stride],
      bias: false)
    norm = try scope.layerNorm("\(stemName).norm_layer", dim: dim)
    classAndPositions = try ImageBindClassAndPositions(
      scope, positionsName: "pos_embedding_helper.pos_embed", patches: patches, dim: dim)
  }

  /// `modality_preprocessors.audio` (`AudioPreprocessor`).
  public static func audio(_ scope: ParameterScope, configuration c: ImageBindConfiguration)
    throws(ModelError)
    -> ImageBindSingleChannelPreprocessor
  {
    try ImageBindSingleChannelPreprocessor(
      scope, modality: "audio", stem: "rgbt_stem", dim: c.audio.embedDim, kernel: c.audioKernel,
      stride: c.audioStride, patches: c.audioPatches, axes: "mel bins, frames")
  }

  public var embedDim: Int { stem.outChannels }
  public var itemRank: Int { 3 }

  public func callAsFunction(_ input: Tensor) throws(ModelError) -> ImageBindTokens {
    guard input.dtype == .f32, input.rank == 4, input.shape[1] == 1 else {
      throw .invalidInput(
        "\(modality) expects [batch, 1, \(axes)] f32, got \(input.dtype) \(shapeText(input.shape))")
    }
    let patches = norm(try stem(input).patchTokens())
    return ImageBindTokens(tokens: try classAndPositions(patches, modality: modality))
  }
}

/// `modality_preprocessors.text` (`TextPreprocessor`): token embedding + learned positions
/// (`pos_embed` [1, 77, D]); the trunk attends causally (the `mask` buffer: −∞ above the
/// diagonal) and the head reads the end-of-text token, found as ImageBind finds it:
/// `text.argmax(dim=-1)`, the first position of the largest id (end-of-text, 49407, is the largest
/// id of CLIP's vocabulary).
///
/// input: ids [batch, 77] (any integer or float dtype holding integers) → [batch, 77, D]
public struct ImageBindTextPreprocessor: ImageBindPreprocessor {
  /// `token_embedding.weight` [vocabulary, D] in its stored dtype.
  public let tokenEmbedding: StoredMatrix
  /// `pos_embed` [contextLength, D].
  public let positions: [Float]
  public let contextLength: Int

  public init(_ scope: ParameterScope, configuration c: ImageBindConfiguration) throws(ModelError) {
    let d = c.text.embedDim
    tokenEmbedding = try scope.matrix("token_embedding.weight", rows: c.textVocabularySize, columns: d)
    positions = try scope.tensor("pos_embed", shape: [1, c.textContextLength, d]).floats()
    contextLength = c.textContextLength
  }

  public var embedDim: Int { tokenEmbedding.columns }
  public var itemRank: Int { 1 }
  public var vocabularySize: Int { tokenEmbedding.rows }

  public func callAsFunction(_ input: Tensor) throws(ModelError) -> ImageBindTokens {
    guard input.rank == 2, input.shape[1] == contextLength else {
      throw .invalidInput("text expects token ids [batch, \(contextLength)], got \(shapeText(input.shape))")
    }
    let ids = input.contiguous()
    let (batch, d) = (input.shape[0], embedDim)
    let tokens = Tensor(zeros: [batch, contextLength, d])
    var pools: [Int] = []
    for b in 0..<batch {
      var best = (id: Int.min, position: 0)
      for t in 0..<contextLength {
        let value = ScalarAccess.load(ids.baseAddress, ids.dtype, b * contextLength + t)
        guard value.rounded() == value, value >= 0, value < Double(vocabularySize) else {
          throw .invalidInput(
            "text: token id \(value) at [\(b), \(t)] is not an integer in 0..<\(vocabularySize)")
        }
        let id = Int(value)
        if id > best.id { best = (id, t) }
        let row = tokens.pointer(Float.self) + (b * contextLength + t) * d
        dequantizeRow(tokenEmbedding.matrix.format, tokenEmbedding.matrix.row(id), count: d, into: row)
        for i in 0..<d { row[i] += positions[t * d + i] }
      }
      pools.append(best.position)
    }
    return ImageBindTokens(tokens: tokens, causal: true, poolPositions: pools)
  }
}

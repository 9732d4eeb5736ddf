import Foundation
import MMCore
import MMKernels
import MMNN
import MMWeights

/// One ImageBind modality end to end, ImageBind's four stages with its checkpoint names:
/// `modality_preprocessors.<m>` → `modality_trunks.<m>` → `modality_heads.<m>` →
/// `modality_postprocessors.<m>`. `vision`, `audio` and `text` are built here; other modalities
/// (depth, thermal, IMU: their plugins) assemble theirs from the public pieces (a one-channel
/// `ImageBindSingleChannelPreprocessor`, or their own `ImageBindPreprocessor`) and reuse the rest.
///
/// Named intermediates (`ActivationTrace`): `<name>.preprocessor` [N, L, D],
/// `<name>.trunk.pre`, `<name>.trunk.blocks.K` [N, L, D], `<name>.head` [N, E],
/// `<name>.postprocessor` [N, E], `<name>.output` (after the clip mean, for clips).
public struct ImageBindEncoder: Sendable {
  /// The trace prefix (`vision`, `video`, `audio`, …).
  public var name: String
  public let preprocessor: any ImageBindPreprocessor
  public let trunk: ImageBindTransformer
  public let head: ImageBindHead
  public let postprocessor: ImageBindPostprocessor

  public init(
    name: String, preprocessor: any ImageBindPreprocessor, trunk: ImageBindTransformer, head: ImageBindHead,
    postprocessor: ImageBindPostprocessor
  ) {
    self.name = name
    self.preprocessor = preprocessor
    self.trunk = trunk
    self.head = head
    self.postprocessor = postprocessor
  }

  /// The shared embedding width (`out_embed_dim`).
  public var outEmbedDim: Int { head.projection.outputs }

  /// Modality `name`'s four stages under ImageBind's state-dict prefixes: `preprocessor` (built
  /// on `modality_preprocessors.<name>`), the trunk `modality_trunks.<name>`, the head
  /// `modality_heads.<name>` (its LayerNorm and projection named `head.norm`, `head.projection`)
  /// and the postprocessor `modality_postprocessors.<name>` (times the logit scale when `scaled`;
  /// `defaultScale` when the checkpoint stores none). Every modality, the plugins' included, is
  /// assembled here.
  public static func assemble(
    _ store: any WeightStore, modality name: String, sizes: ImageBindTrunkSizes, outEmbedDim: Int,
    preprocessor: (ParameterScope) throws(ModelError) -> any ImageBindPreprocessor,
    preLayerNorm: Bool = false, biasKV: Bool, head: (norm: String, projection: String) = ("0", "2"),
    scaled: Bool, defaultScale: Float? = nil
  ) throws(ModelError) -> ImageBindEncoder {
    let root = ParameterScope(store)
    return ImageBindEncoder(
      name: name, preprocessor: try preprocessor(root.child("modality_preprocessors.\(name)")),
      trunk: try ImageBindTransformer(
        root.child("modality_trunks.\(name)"), sizes: sizes, preLayerNorm: preLayerNorm, biasKV: biasKV),
      head: try ImageBindHead(
        root.child("modality_heads.\(name)"), normName: head.norm, projectionName: head.projection,
        dim: sizes.embedDim, outDim: outEmbedDim),
      postprocessor: try ImageBindPostprocessor(
        root.child("modality_postprocessors.\(name)"), scaled: scaled, defaultScale: defaultScale))
  }

  /// The vision encoder (images, and video clips through `embedClips`): ViT with a
  /// pre-transformer LayerNorm, no bias_kv, unit output.
  public static func vision(_ store: any WeightStore, configuration c: ImageBindConfiguration)
    throws(ModelError) -> ImageBindEncoder
  {
    try assemble(
      store, modality: "vision", sizes: c.vision, outEmbedDim: c.outEmbedDim,
      preprocessor: { (scope) throws(ModelError) in try ImageBindVisionPreprocessor(scope, configuration: c)
      },
      preLayerNorm: true, biasKV: false, scaled: false)
  }

  /// The audio encoder: spectrogram patches, bias_kv, logit scale 20 (fixed).
  public static func audio(_ store: any WeightStore, configuration c: ImageBindConfiguration)
    throws(ModelError) -> ImageBindEncoder
  {
    try assemble(
      store, modality: "audio", sizes: c.audio, outEmbedDim: c.outEmbedDim,
      preprocessor: { (scope) throws(ModelError) in
        try ImageBindSingleChannelPreprocessor.audio(scope, configuration: c)
      }, biasKV: true, scaled: true, defaultScale: 20)
  }

  /// The text encoder: causal trunk, end-of-text pooling, learned logit scale.
  public static func text(_ store: any WeightStore, configuration c: ImageBindConfiguration)
    throws(ModelError) -> ImageBindEncoder
  {
    try assemble(
      store, modality: "text", sizes: c.text, outEmbedDim: c.outEmbedDim,
      preprocessor: { (scope) throws(ModelError) in try ImageBindTextPreprocessor(scope, configuration: c) },
      biasKV: false, head: ("proj.0", "proj.1"), scaled: true)
  }

  /// input: [batch, item…] → ImageBind's output for the modality [batch, E]: unit vectors times
  /// the logit scale (unit for vision). Records the stages under `name`.
  public func callAsFunction(_ input: Tensor, trace: ActivationTrace? = nil) throws(ModelError) -> Tensor {
    let (_, post) = try stages(input, trace: trace, recordEnds: true)
    trace.record("\(name).output", post)
    return post
  }

  /// ImageBindModel.forward's clip reduction (audio clips, video clips): input
  /// [batch, clips, item…] → each clip through all four stages, then the mean over clips of the
  /// postprocessed embeddings (ImageBind reduces after the postprocessor, so an audio result is
  /// the mean of vectors of length 20, not itself normalized) → [batch, E]. Clips run
  /// `clipsPerStep` at a time as one batch (larger GEMMs; `progress(done, total)` after each
  /// step, cancellation checked between steps); the trace keeps the first step's token stages
  /// and every clip's `head` and `postprocessor` rows.
  public func embedClips(
    _ input: Tensor, clipsPerStep: Int = 4, trace: ActivationTrace? = nil,
    progress: ((Int, Int) -> Void)? = nil, isCancelled: () -> Bool = { false }
  ) throws(ModelError) -> Tensor {
    let itemRank = preprocessor.itemRank
    guard input.rank == itemRank + 2, input.shape[0] > 0, input.shape[1] > 0 else {
      throw .invalidInput(
        "\(name) clips: expected [batch, clips, \(itemRank) item dimensions], got \(shapeText(input.shape))")
    }
    let (batch, clips) = (input.shape[0], input.shape[1])
    let itemShape = Array(input.shape[2...])
    let flat = try input.contiguous().reshapedForModel([batch * clips] + itemShape)
    let e = outEmbedDim
    let total = batch * clips
    let heads = Tensor(zeros: [total, e])
    let posts = Tensor(zeros: [total, e])
    var start = 0
    while start < total {
      if isCancelled() { throw .invalidInput("\(name): cancelled") }
      let end = min(total, start + max(1, clipsPerStep))
      let step: Tensor
      do { step = try flat.sliced(axis: 0, start..<end) } catch { throw .invalidInput("\(error)") }
      let (h, p) = try stages(step, trace: start == 0 ? trace : nil, recordEnds: false)
      (heads.pointer(Float.self) + start * e).update(from: h.pointer(Float.self), count: (end - start) * e)
      (posts.pointer(Float.self) + start * e).update(from: p.pointer(Float.self), count: (end - start) * e)
      start = end
      progress?(start, total)
    }
    trace.record("\(name).head", heads)
    trace.record("\(name).postprocessor", posts)
    let output = Tensor(zeros: [batch, e])
    for b in 0..<batch {
      let out = output.pointer(Float.self) + b * e
      for s in 0..<clips {
        let row = posts.pointer(Float.self) + (b * clips + s) * e
        for i in 0..<e { out[i] += row[i] }
      }
      for i in 0..<e { out[i] /= Float(clips) }
    }
    trace.record("\(name).output", output)
    return output
  }

  /// The four stages on one batch: (head [N, E], postprocessed [N, E]).
  private func stages(_ input: Tensor, trace: ActivationTrace?, recordEnds: Bool) throws(ModelError) -> (
    Tensor, Tensor
  ) {
    let tokens = try preprocessor(input)
    trace.record("\(name).preprocessor", tokens.tokens)
    let trunkOutput = try trunk(tokens.tokens, causal: tokens.causal, trace: trace, name: name)
    let pooled = try head(trunkOutput, at: tokens.poolPositions)
    let post = postprocessor(pooled)
    if recordEnds {
      trace.record("\(name).head", pooled)
      trace.record("\(name).postprocessor", post)
    }
    return (pooled, post)
  }
}

extension ImageBindEncoder {
  /// One item [item…] or a batch [N, item…] → unit embeddings [N, E]: a batch axis is added to a
  /// single item (its rank is the preprocessor's `itemRank`), and the rows are L2-normalized (the
  /// audio, depth, thermal and IMU postprocessors scale after normalizing).
  public func unitEmbeddings(_ input: Tensor) throws(ModelError) -> Tensor {
    let batch =
      input.rank == preprocessor.itemRank ? try input.contiguous().reshapedForModel([1] + input.shape) : input
    return try self(batch).unitRows()
  }
}

extension Tensor {
  /// `reshaped` as a ModelError (shapes computed by the model, checked before).
  func reshapedForModel(_ shape: [Int]) throws(ModelError) -> Tensor {
    do { return try reshaped(shape) } catch { throw .invalidInput("\(error)") }
  }

  /// Rows scaled to unit length (x / max(‖x‖, 1e-12)): [N, E] → [N, E].
  public func unitRows() -> Tensor { ImageBindPostprocessor(logitScale: nil)(self) }
}

import Foundation
import MMCore
import MMGraph
import MMModels
import MMNN

/// ImageBind's encoders as nodes (`imagebind.vision`, `imagebind.video`, `imagebind.audio`,
/// `imagebind.text`): the preprocessed tensors the media nodes produce (`image.preprocess`,
/// `video.imagebind_clips`, `audio.imagebind_clips`) → `embedding<imagebind, E, unit>`, with
/// the modality's logit scale on a second port. Weights: a converted checkpoint (safetensors with
/// ImageBind's keys + the JSON configuration beside it, Scripts/convert_imagebind.py), loaded
/// once per process. Registered through `MMBuiltins`.
public enum ImageBindPlugin: NodePlugin {
  public static let name = "imagebind"

  public static let descriptors: [NodeDescriptor] = [
    visionDescriptor, videoDescriptor, audioDescriptor, textDescriptor,
  ]

}

/// The default weights: `${MMGRAPH_MODELS:-~/.cache/mmgraph/models}/imagebind/imagebind_huge.safetensors`.
let defaultWeights = "~/.cache/mmgraph/models/imagebind/imagebind_huge.safetensors"

/// The options every ImageBind node takes.
let weightOptions: [OptionSpec] = [
  OptionSpec(
    "weights", .path, default: .string(defaultWeights),
    doc: "converted ImageBind weights (.safetensors with ImageBind's keys; Scripts/convert_imagebind.py)"),
  OptionSpec(
    "config", .string, default: .string(""),
    doc: "its JSON configuration (empty: the .json beside the weights)"),
]

/// The output ports: the unit embedding and the logit scale ImageBind multiplies it by.
let embeddingOutputs: [PortSpec] = [
  PortSpec(
    "out", .embedding(space: "imagebind", dimension: nil, form: .unit), doc: "[count, E] unit vectors"),
  PortSpec(
    "logit_scale", .tensor(dtype: .f32, shape: [.fixed(1)]),
    doc: "ImageBind's multiplier after normalization (text: learned; audio 20, vision 1)"),
  PortSpec(
    "raw", .embedding(space: "imagebind", dimension: nil, form: .raw),
    doc:
      "[count, E] ImageBind's own output (`model(inputs)[modality]`: postprocessed, scaled, the clips' mean), as NExT-GPT's projection takes it"
  ),
]

/// `~/` expanded; `MMGRAPH_MODELS` replaces the default models folder.
func resolvedPath(_ path: String) -> String {
  var path = path
  if path.hasPrefix("~/.cache/mmgraph/models/"),
    let models = ProcessInfo.processInfo.environment["MMGRAPH_MODELS"]
  {
    path = models + "/" + path.dropFirst("~/.cache/mmgraph/models/".count)
  }
  return (path as NSString).expandingTildeInPath
}

/// The checkpoint named by a node's options.
func checkpoint(_ options: NodeOptions) -> (weights: String, config: String?) {
  let config = options.string("config")
  return (resolvedPath(options.string("weights")), config.isEmpty ? nil : resolvedPath(config))
}

/// Which of the checkpoint's encoders a node runs.
enum EncoderKind: Sendable {
  case vision, audio, text

  func encoder(_ checkpoint: ImageBindCheckpoint) throws(ModelError) -> ImageBindEncoder {
    switch self {
    case .vision: return try checkpoint.vision()
    case .audio: return try checkpoint.audio()
    case .text: return try checkpoint.text()
    }
  }
}

/// A node running one encoder: the encoder is looked up when the node first runs (so `mmgraph
/// check` needs no weights); `run` turns the input value into ImageBind's output [N, E].
final class EncoderNode: Node {
  let weights: String
  let config: String?
  let kind: EncoderKind
  let run: (ImageBindEncoder, NodeContext) throws -> Tensor

  init(
    options: NodeOptions, kind: EncoderKind, run: @escaping (ImageBindEncoder, NodeContext) throws -> Tensor
  ) {
    (weights, config) = checkpoint(options)
    self.kind = kind
    self.run = run
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let model: ImageBindEncoder
    do {
      model = try kind.encoder(try ImageBindCheckpoint.shared(weights, configurationPath: config))
    } catch {
      throw NodeFailure("\(context.nodeName): cannot load ImageBind: \(error)")
    }
    let output: Tensor
    do { output = try run(model, context) } catch let error as ModelError {
      if context.isCancelled { return .done }  // the clips stopped early
      throw NodeFailure("\(context.nodeName): \(error)")
    }
    if context.isCancelled { return .done }
    context.emit("out", .embedding(Embedding(vectors: output.unitRows(), space: "imagebind", form: .unit)))
    context.emit("logit_scale", .tensor(Tensor([model.postprocessor.logitScale ?? 1], shape: [1])))
    context.emit("raw", .embedding(Embedding(vectors: output, space: "imagebind", form: .raw)))
    return .done
  }
}

/// The tensor on `port` with one batch dimension added when it has `itemRank` dimensions.
func batched(_ context: NodeContext, _ port: String, itemRank: Int, what: String) throws -> Tensor {
  let tensor = try context.tensor(port)
  guard tensor.dtype == .f32, tensor.rank == itemRank || tensor.rank == itemRank + 1 else {
    throw NodeFailure(
      "\(context.nodeName): input '\(port)' expected \(what) f32, found \(tensor.dtype) \(shapeText(tensor.shape))"
    )
  }
  return tensor.rank == itemRank ? try tensor.contiguous().reshaped([1] + tensor.shape) : tensor
}

/// Runs `encoder` on clips [clips, item…] as one batch item, reporting progress per clip.
func embedClips(_ encoder: ImageBindEncoder, _ clips: Tensor, _ context: NodeContext) throws -> Tensor {
  let batch = try clips.contiguous().reshaped([1] + clips.shape)
  return try encoder.embedClips(
    batch, progress: { done, total in context.progress(done, of: total, unit: "clips") },
    isCancelled: { context.isCancelled })
}

let visionDescriptor = NodeDescriptor(
  type: "imagebind.vision",
  doc: "ImageBind's image encoder: preprocessed images [3, 224, 224] or [N, 3, 224, 224] → unit embeddings.",
  example: exampleNode("imagebind.vision", inputs: [("in", "pre.out")]),
  inputs: [
    PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: "image.preprocess's output, or a batch of them")
  ],
  outputs: embeddingOutputs, options: weightOptions,
  filesRead: { options in [checkpoint(options).weights] },
  make: { options in
    EncoderNode(options: options, kind: .vision) { encoder, context in
      try encoder(try batched(context, "in", itemRank: 3, what: "[3, H, W] or [N, 3, H, W]"))
    }
  })

let videoDescriptor = NodeDescriptor(
  type: "imagebind.video",
  doc:
    "ImageBind's video embedding: the image encoder on every clip of video.imagebind_clips, the mean of the clip embeddings.",
  example: exampleNode("imagebind.video", inputs: [("in", "clips.out")]),
  inputs: [PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: "[clips·crops, 3, frames, H, W]")],
  outputs: embeddingOutputs, options: weightOptions,
  filesRead: { options in [checkpoint(options).weights] },
  make: { options in
    EncoderNode(options: options, kind: .vision) { encoder, context in
      let clips = try context.tensor("in")
      guard clips.dtype == .f32, clips.rank == 5, clips.shape[1] == 3 else {
        throw NodeFailure(
          "\(context.nodeName): input 'in' expected clips [clips, 3, frames, H, W] f32, found \(clips.dtype) \(shapeText(clips.shape))"
        )
      }
      var video = encoder
      video.name = "video"
      return try embedClips(video, clips, context)
    }
  })

let audioDescriptor = NodeDescriptor(
  type: "imagebind.audio",
  doc:
    "ImageBind's audio embedding: every clip of audio.imagebind_clips encoded, the mean of the clip embeddings.",
  example: exampleNode("imagebind.audio", inputs: [("in", "clips.out")]),
  inputs: [PortSpec("in", .tensor(dtype: .f32, shape: nil), doc: "[clips, 1, mel_bins, frames]")],
  outputs: embeddingOutputs, options: weightOptions,
  filesRead: { options in [checkpoint(options).weights] },
  make: { options in
    EncoderNode(options: options, kind: .audio) { encoder, context in
      let clips = try context.tensor("in")
      guard clips.dtype == .f32, clips.rank == 4, clips.shape[1] == 1 else {
        throw NodeFailure(
          "\(context.nodeName): input 'in' expected clips [clips, 1, mel_bins, frames] f32, found \(clips.dtype) \(shapeText(clips.shape))"
        )
      }
      return try embedClips(encoder, clips, context)
    }
  })

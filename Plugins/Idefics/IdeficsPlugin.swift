import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMModels

/// Idefics nodes (`idefics.*`): the image side of a Hugging Face Idefics checkpoint folder
/// (`IdeficsForVisionText2Text`: config.json, model.safetensors, preprocessor_config.json or
/// processor_config.json). `idefics.vision` turns an image into its vision tokens,
/// `idefics.perceiver` resamples any number of vision tokens (one image, or several frames
/// concatenated) into the fixed latents the decoder's gated cross-attention reads
/// (`llm.chat` on the same folder); `idefics.video` does both for a stream of frames, resampled
/// together when the stream ends (Flamingo's video input). Registered through `MMBuiltins`.
public enum IdeficsPlugin: NodePlugin {
  public static let name = "idefics"

  public static let descriptors: [NodeDescriptor] = [visionDescriptor, perceiverDescriptor, videoDescriptor]

}

/// A checkpoint's image side and image processor, loaded once per process and folder.
final class IdeficsCheckpoint: Sendable {
  let model: IdeficsVisionModel
  let preprocessing: VisionPreprocessing

  private static let loaded = LoadedModels<IdeficsCheckpoint>()

  static func shared(_ path: String) throws -> IdeficsCheckpoint {
    try loaded(path) {
      try requireFolder(
        path,
        expected:
          "a Hugging Face Idefics checkpoint folder (config.json, model.safetensors, preprocessor_config.json)"
      )
      let model = try IdeficsVisionModel(directory: path)
      let processor = try IdeficsImageProcessor(directory: path)
      let filters: [Int: ResampleFilter] = [0: .nearest, 1: .lanczos, 2: .bilinear, 3: .bicubic]
      let preprocessing = try VisionPreprocessing(
        resize: .exact(height: processor.height, width: processor.width),
        filter: filters[processor.resample] ?? .bicubic, crop: nil, mean: processor.mean, std: processor.std)
      let checkpoint = IdeficsCheckpoint(model: model, preprocessing: preprocessing)
      return checkpoint
    }
  }

  private init(model: IdeficsVisionModel, preprocessing: VisionPreprocessing) {
    self.model = model
    self.preprocessing = preprocessing
  }
}

/// The checkpoint's configuration for a type rule (config.json only: cheap); nil when the folder
/// has no config.json (not downloaded yet: the shapes stay symbolic until the run, which names
/// the missing file), a `TypeRuleError` naming the file when config.json is there but unusable.
func configuration(_ options: NodeOptions, port: String) throws(TypeRuleError) -> IdeficsConfiguration? {
  let path = options.string("model")
  guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("config.json"))
  else {
    return nil
  }
  do { return try IdeficsConfiguration(contentsOf: path) } catch {
    throw TypeRuleError(
      port: port, expected: "an Idefics checkpoint folder whose config.json gives the shapes",
      found: "\(error)")
  }
}

func loadCheckpoint(_ context: NodeContext, _ path: String) throws -> IdeficsCheckpoint {
  do { return try IdeficsCheckpoint.shared(path) } catch let error as NodeFailure {
    throw NodeFailure("\(context.nodeName): \(error.description)")
  } catch {
    throw NodeFailure("\(context.nodeName): cannot load the Idefics model: \(error)")
  }
}

let modelOption = OptionSpec(
  "model", .path,
  doc: "a Hugging Face Idefics checkpoint folder (config.json, model.safetensors, preprocessor_config.json)")

/// image → [patches + 1, width] vision tokens.
let visionDescriptor = NodeDescriptor(
  type: "idefics.vision",
  doc:
    "Preprocesses an image as the checkpoint's IdeficsImageProcessor (RGB, bicubic resize to image_size, CLIP normalization) and runs Idefics' vision transformer (model.vision_model): the last hidden state, class token first.",
  example: exampleNode(
    "idefics.vision", inputs: [("image", "$photo")], options: [("model", "\"models/idefics\"")]),
  inputs: [PortSpec("image", .image, doc: "any mode and size")],
  outputs: [
    PortSpec("embeddings", .tensor(dtype: .f32, shape: nil), doc: "[patches + 1, vision_config.embed_dim]")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    switch inputs["image"] {
    case nil, .any?, .image?: break
    case let other?: throw TypeRuleError(port: "image", expected: "image", found: "\(other)")
    }
    guard let c = try configuration(options, port: "embeddings") else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("tokens"), .symbol("width")])]
    }
    return ["embeddings": .tensor(dtype: .f32, shape: [.fixed(c.vision.patchCount + 1), .fixed(c.width)])]
  },
  filesRead: { options in [options.string("model")] },
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let image: Image
      do { image = try Image(tensor: try context.image("image")) } catch let error as TensorError {
        throw NodeFailure("\(context.nodeName): input 'image': \(error)")
      }
      let checkpoint = try loadCheckpoint(context, path)
      let features = try context.named {
        try checkpoint.model.imageFeatures(try checkpoint.preprocessing(image))
      }
      context.emit("embeddings", .tensor(features))
    }
  })

/// [n, width] features (n free) → [n_latents, width].
let perceiverDescriptor = NodeDescriptor(
  type: "idefics.perceiver",
  doc:
    "Idefics' Perceiver Resampler (model.perceiver_resampler, Flamingo's): any number of vision tokens — one image's, or several frames' concatenated — become resampler_n_latents tokens, the images the decoder's gated cross-attention reads.",
  example: exampleNode(
    "idefics.perceiver", inputs: [("features", "vision.embeddings")],
    options: [("model", "\"models/idefics\"")]),
  inputs: [
    PortSpec("features", .tensor(dtype: .f32, shape: nil), doc: "[n, vision_config.embed_dim], n ≥ 1")
  ],
  outputs: [
    PortSpec(
      "embeddings", .tensor(dtype: .f32, shape: nil), doc: "[resampler_n_latents, vision_config.embed_dim]")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    guard let c = try configuration(options, port: "embeddings") else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("latents"), .symbol("width")])]
    }
    let expected = "tensor<f32>[n, \(c.width)]"
    switch inputs["features"] {
    case nil, .any?: break
    case .tensor(let dtype, let shape)?:
      if let dtype, dtype != .f32 {
        throw TypeRuleError(port: "features", expected: expected, found: "tensor<\(dtype)>")
      }
      if let shape {
        guard shape.count == 2 else {
          throw TypeRuleError(port: "features", expected: expected, found: "a tensor of rank \(shape.count)")
        }
        if case .fixed(let width) = shape[1], width != c.width {
          throw TypeRuleError(
            port: "features", expected: expected + " (vision_config.embed_dim of \(options.string("model")))",
            found: "width \(width)")
        }
      }
    case let other?: throw TypeRuleError(port: "features", expected: expected, found: "\(other)")
    }
    guard c.useResampler else {
      throw TypeRuleError(
        port: "embeddings", expected: "a checkpoint with use_resampler true",
        found: "use_resampler false in \(options.string("model"))/config.json")
    }
    return [
      "embeddings": .tensor(dtype: .f32, shape: [.fixed(c.perceiver.latentCount), .fixed(c.width)])
    ]
  },
  filesRead: { options in [options.string("model")] },
  make: { options in
    let path = options.string("model")
    return FunctionNode { context in
      let features = try context.tensor("features")
      let checkpoint = try loadCheckpoint(context, path)
      guard let resampler = checkpoint.model.resampler else {
        throw NodeFailure(
          "\(context.nodeName): \(path)/config.json has use_resampler false: no Perceiver Resampler")
      }
      let latents = try context.named {
        try resampler(features.dtype == .f32 ? features : features.converted(to: .f32))
      }
      context.emit("embeddings", .tensor(latents))
    }
  })

/// frames: stream<image> → embeddings: [n_latents, width] once the stream ends.
let videoDescriptor = NodeDescriptor(
  type: "idefics.video",
  doc:
    "Flamingo's video input on an Idefics checkpoint: every frame of the stream through the image processor and the vision transformer, then all frames' tokens (in stream order, concatenated) through the Perceiver Resampler at once when the stream ends. Idefics has no per-frame time embeddings, so frame order only shows through the tokens themselves.",
  example: exampleNode(
    "idefics.video", inputs: [("frames", "frames.out")], options: [("model", "\"models/idefics\"")]),
  inputs: [PortSpec("frames", .stream(.image), doc: "video frames (video.frames), any size")],
  outputs: [
    PortSpec(
      "embeddings", .tensor(dtype: .f32, shape: nil), doc: "[resampler_n_latents, vision_config.embed_dim]")
  ],
  options: [modelOption],
  typeRule: { (inputs, options) throws(TypeRuleError) in
    switch inputs["frames"] {
    case nil, .stream(.image)?, .stream(.any)?: break
    case let other?: throw TypeRuleError(port: "frames", expected: "stream<image>", found: "\(other)")
    }
    guard let c = try configuration(options, port: "embeddings") else {
      return ["embeddings": .tensor(dtype: .f32, shape: [.symbol("latents"), .symbol("width")])]
    }
    guard c.useResampler else {
      throw TypeRuleError(
        port: "embeddings", expected: "a checkpoint with use_resampler true",
        found: "use_resampler false in \(options.string("model"))/config.json")
    }
    return ["embeddings": .tensor(dtype: .f32, shape: [.fixed(c.perceiver.latentCount), .fixed(c.width)])]
  },
  filesRead: { options in [options.string("model")] },
  make: { options in IdeficsVideo(path: options.string("model")) })

/// Runs the vision tower on each frame as it arrives (one frame's pixels in memory at a time)
/// and the resampler on all their tokens when the stream ends.
final class IdeficsVideo: Node {
  let path: String
  /// The vision tokens of every frame so far, [frames · (patches + 1), width] row-major.
  var tokens: [Float] = []
  var frames = 0

  init(path: String) { self.path = path }

  func process(_ context: NodeContext) throws -> ProcessResult {
    let image: Image
    do { image = try Image(tensor: try context.image("frames")) } catch let error as TensorError {
      throw NodeFailure("\(context.nodeName): frame \(frames): \(error)")
    }
    let checkpoint = try loadCheckpoint(context, path)
    do {
      tokens += try checkpoint.model.imageFeatures(try checkpoint.preprocessing(image)).floats()
    } catch {
      throw NodeFailure("\(context.nodeName): frame \(frames): \(error)")
    }
    frames += 1
    return .more
  }

  func close(_ context: NodeContext) throws {
    guard frames > 0 else {
      throw NodeFailure("\(context.nodeName): the frame stream was empty: no video to resample")
    }
    let checkpoint = try loadCheckpoint(context, path)
    guard let resampler = checkpoint.model.resampler else {
      throw NodeFailure(
        "\(context.nodeName): \(path)/config.json has use_resampler false: no Perceiver Resampler")
    }
    let width = checkpoint.model.configuration.width
    let latents = try context.named { try resampler(Tensor(tokens, shape: [tokens.count / width, width])) }
    context.emit("embeddings", .tensor(latents), at: .none)
  }
}

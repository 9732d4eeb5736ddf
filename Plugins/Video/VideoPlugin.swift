import Foundation
import MMCore
import MMGraph
import MMMediaIO

/// Video nodes (`video.*`) and the reader of video files for `--input`: probing, frames as a
/// stream of timestamped images (decoded by an ffmpeg child process, one frame in memory at a
/// time), and ImageBind's clip sampling. Registered through `MMBuiltins`.
public enum VideoPlugin: NodePlugin {
  public static let name = "video"

  public static let descriptors: [NodeDescriptor] = [
    readDescriptor, probeDescriptor, framesDescriptor, imageBindClipsDescriptor,
  ]

  public static func register(into registry: inout NodeRegistry) throws(RegistryError) {
    for descriptor in descriptors { try registry.register(descriptor, from: name) }
    try registry.register(reader: fileReader, from: name)
  }

  /// `--input clip.mp4`: probed with ffprobe (so a file without a video stream, or not a video,
  /// fails before anything runs), then handed on as a path; frames are decoded by the nodes.
  static let fileReader = FileReader(
    name: "video",
    extensions: ["mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "ogv", "gif"],
    type: .video, doc: "any video ffmpeg decodes (probed at load; frames decoded on demand)",
    read: { path in try openVideo(path) })

  static func openVideo(_ path: String) throws -> Value {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    _ = try VideoFile.probe(absolute)
    return .video(path: absolute)
  }
}

/// The video file path on input `port`.
func videoPath(_ context: NodeContext, _ port: String) throws -> String {
  guard case .video(let path) = try context.required(port) else {
    throw NodeFailure(
      "\(context.nodeName): input '\(port)' expected a video, found \(try context.required(port).kindName)")
  }
  return path
}

/// path (option) → out: video.
let readDescriptor = NodeDescriptor(
  type: "video.read",
  doc: "Opens a video file (probed with ffprobe); its frames are decoded by the nodes that read it.",
  example: exampleNode("video.read", options: [("path", "\"clips/dog.mp4\"")]),
  inputs: [],
  outputs: [PortSpec("out", .video, doc: "the video")],
  options: [OptionSpec("path", .path, doc: "the video file, relative to the graph file's folder")],
  filesRead: { options in [options.string("path")] },
  make: { options in
    let path = options.string("path")
    return FunctionNode { context in context.emit("out", try VideoPlugin.openVideo(path)) }
  })

/// in: video → out: json {codec, width, height, fps, frames, duration, rotation}.
let probeDescriptor = NodeDescriptor(
  type: "video.probe",
  doc: "The video stream's codec, size, frame rate, frame count, duration and rotation (ffprobe).",
  example: exampleNode("video.probe", inputs: [("in", "$video")]),
  inputs: [PortSpec("in", .video, doc: "a video")],
  outputs: [PortSpec("out", .json, doc: "{codec, width, height, fps, frames, duration, rotation}")],
  make: { _ in
    FunctionNode { context in
      let info = try VideoFile.probe(try videoPath(context, "in"))
      context.emit(
        "out",
        .json(
          .object([
            JSONMember("codec", .string(info.codec)), JSONMember("width", JSONValue(info.displayWidth)),
            JSONMember("height", JSONValue(info.displayHeight)),
            JSONMember("fps", JSONValue(info.framesPerSecond)),
            JSONMember("frames", JSONValue(info.frameCount)),
            JSONMember("duration", info.duration.map { JSONValue($0) } ?? .null),
            JSONMember("rotation", JSONValue(info.rotation)),
          ])))
    }
  })

/// in: video → out: stream<image> of `[height, width, 3]` u8 frames at their presentation times.
/// `every` keeps every n-th frame; `max_frames` stops early (0: all). Frames are decoded as
/// the stream is consumed, so a long video never sits in memory.
let framesDescriptor = NodeDescriptor(
  type: "video.frames",
  doc: "Decodes frames as a stream of timestamped RGB images (every n-th frame, up to max_frames).",
  example: exampleNode("video.frames", inputs: [("in", "$video")], options: [("every", "10")]),
  inputs: [PortSpec("in", .video, doc: "a video")],
  outputs: [PortSpec("out", .stream(.image), doc: "[height, width, 3] u8 frames, timestamped")],
  options: [
    OptionSpec("every", .int(range: 1...1_000_000), default: .number("1"), doc: "keep every n-th frame"),
    OptionSpec("start", .int(range: 0...Int(Int32.max)), default: .number("0"), doc: "the first frame index"),
    OptionSpec(
      "max_frames", .int(range: 0...Int(Int32.max)), default: .number("0"),
      doc: "stop after this many (0: no limit)"),
  ],
  make: { options in
    FrameStream(every: options.int("every"), start: options.int("start"), limit: options.int("max_frames"))
  })

final class FrameStream: Node {
  let every: Int
  let start: Int
  let limit: Int
  var reader: VideoFrameReader?
  var emitted = 0

  init(every: Int, start: Int, limit: Int) {
    self.every = every
    self.start = start
    self.limit = limit
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    if reader == nil {
      let path = try videoPath(context, "in")
      do {
        let index = try VideoFile.index(path)
        guard start < index.frameCount else {
          throw NodeFailure(
            "\(context.nodeName): start frame \(start) is past the video's \(index.frameCount) frames (\(path))"
          )
        }
        reader = try VideoFrameReader(index: index, selection: .every(every, start: start))
      } catch let error as VideoFileError { throw NodeFailure("\(context.nodeName): \(error)") }
    }
    guard let reader, !context.isCancelled, limit == 0 || emitted < limit else { return finish() }
    let frame: VideoFrame?
    do { frame = try reader.next() } catch { throw NodeFailure("\(context.nodeName): \(error)") }
    guard let frame else { return finish() }
    context.emit(
      "out", .image(frame.pixels), at: Timestamp(microseconds: Int64((frame.timestamp * 1e6).rounded())))
    emitted += 1
    let total = (reader.frameIndices.count)
    context.progress(emitted, of: limit == 0 ? total : min(limit, total), unit: "frames")
    return .more
  }

  func finish() -> ProcessResult {
    reader?.close()
    return .done
  }

  func close(_ context: NodeContext) throws { reader?.close() }
}

/// in: video → out: [clips·crops, 3, frames, crop, crop] f32, ImageBind's video input.
let imageBindClipsDescriptor = NodeDescriptor(
  type: "video.imagebind_clips",
  doc:
    "ImageBind's video preprocessing (load_and_transform_video_data): clips spread over the video, frames per clip, short-side resize, normalization, 3 spatial crops.",
  example: exampleNode("video.imagebind_clips", inputs: [("in", "$video")], options: [("clips", "5")]),
  inputs: [PortSpec("in", .video, doc: "a video")],
  outputs: [PortSpec("out", .tensor(dtype: .f32, shape: nil), doc: "[clips·crops, 3, frames, crop, crop]")],
  options: [
    OptionSpec("clips", .int(range: 1...1000), default: .number("5"), doc: "clips spread over the video"),
    OptionSpec("clip_duration", .float, default: .number("2"), doc: "seconds per clip"),
    OptionSpec(
      "frames", .int(range: 1...1000), default: .number("2"), doc: "frames per clip (uniform subsample)"),
    OptionSpec(
      "short_side", .int(range: 1...8192), default: .number("224"), doc: "resize the short side to this"),
    OptionSpec("crop", .int(range: 1...8192), default: .number("224"), doc: "square crop size"),
    OptionSpec(
      "crops", .choice(["1", "3"]), default: .string("3"), doc: "spatial crops per clip (start, centre, end)"),
  ],
  typeRule: { (_, options) throws(TypeRuleError) in
    let crop = options.int("crop")
    guard crop <= options.int("short_side") else {
      throw TypeRuleError(
        port: "crop", expected: "a crop no larger than short_side (\(options.int("short_side")))",
        found: "\(crop)")
    }
    let rows = options.int("clips") * (Int(options.string("crops")) ?? 3)
    return [
      "out": .tensor(
        dtype: .f32,
        shape: [.fixed(rows), .fixed(3), .fixed(options.int("frames")), .fixed(crop), .fixed(crop)])
    ]
  },
  make: { options in
    var o = VideoClipOptions.imageBind
    o.clipsPerVideo = options.int("clips")
    o.clipDuration = options.double("clip_duration")
    o.framesPerClip = options.int("frames")
    o.shortSide = options.int("short_side")
    o.cropSize = options.int("crop")
    o.spatialCrops = Int(options.string("crops")) ?? 3
    return FunctionNode { [o] context in
      do {
        context.emit(
          "out", .tensor(try VideoClipSampler.sample(contentsOf: try videoPath(context, "in"), options: o)))
      } catch let error as VideoFileError { throw NodeFailure("\(context.nodeName): \(error)") }
    }
  })

import Foundation
import MMCore
import MMKernels

/// How `ConstantClipsPerVideoSampler` spreads clip starts over `0 … duration − clipDuration`.
public enum ClipSpacing: Sendable, Equatable {
  /// Starts at `max_start · k / max(clips − 1, 1)`: the first clip starts at 0, the last ends at the
  /// end. pytorchvideo since 2022-04-28, including the commit ImageBind's requirements pin
  /// (6cdc929) — the reference.
  case lastClipAtEnd
  /// Starts at `max_start · k / clips`: pytorchvideo 0.1.5 as published on PyPI (2021).
  case pytorchvideo015
}

/// The parameters of ImageBind's `load_and_transform_video_data`, each open;
/// `VideoClipOptions.imageBind` is ImageBind's call.
public struct VideoClipOptions: Sendable, Equatable {
  /// Seconds per clip (`clip_duration`); the clip times are exact rationals of this Double.
  public var clipDuration: Double = 2
  /// Clips spread over the video (`clips_per_video`).
  public var clipsPerVideo: Int = 5
  /// Frames kept per clip by `UniformTemporalSubsample` (ImageBind passes `clip_duration`, 2).
  public var framesPerClip: Int = 2
  /// `ShortSideScale` target: the short side becomes this, the long side ⌊long/short · size⌋.
  public var shortSide: Int = 224
  /// Side of the square spatial crops.
  public var cropSize: Int = 224
  /// ImageBind's `SpatialCrop` count: 3 (left/top, centre, right/bottom) or 1 (centre).
  public var spatialCrops: Int = 3
  /// `NormalizeVideo` mean and std per RGB channel (CLIP's).
  public var mean: [Float] = [0.48145466, 0.4578275, 0.40821073].map { Float($0 as Double) }
  public var std: [Float] = [0.26862954, 0.26130258, 0.27577711].map { Float($0 as Double) }
  public var spacing: ClipSpacing = .lastClipAtEnd
  /// ImageBind samples a video shorter than one clip by repeating its whole length in every clip;
  /// set this to refuse such videos with a `.tooShort` error instead.
  public var requireWholeClips = false

  public init() {}

  /// ImageBind's preset: 5 clips of 2 s, 2 frames each, short side 224, three 224² crops, CLIP
  /// normalization → `[15, 3, 2, 224, 224]`.
  public static let imageBind = VideoClipOptions()
}

/// One clip: its time window (the Fractions of pytorchvideo rounded to Double), the frames
/// `EncodedVideoDecord.get_clip` reads, and the ones `UniformTemporalSubsample` keeps.
public struct VideoClip: Sendable, Equatable {
  public var start: Double
  public var end: Double
  /// `ceil(fps · start) ..< min(ceil(fps · end), frameCount)`.
  public var frameRange: Range<Int>
  /// `framesPerClip` indices into the video, nondecreasing (repeats when the clip is short).
  public var frameIndices: [Int]
}

/// ImageBind's video preprocessing (`imagebind.data.load_and_transform_video_data`), step by step:
///
/// 1. `ConstantClipsPerVideoSampler(clip_duration, clips_per_video)` driven by `get_clip_timepoints`
///    on decord's duration `frames / avg_fps`: clip k spans
///    `[Fraction(max(duration − clip, 0)) · k / max(clips − 1, 1), … + clip]` — exact rationals.
/// 2. decord's `get_clip`: frames `ceil(fps·start) ..< min(ceil(fps·end), frames)`.
/// 3. `UniformTemporalSubsample(n)`: `torch.linspace(0, T−1, n)` in float32 (as torch's CPU kernel
///    computes it, with fused multiply-adds), clamped, truncated.
/// 4. `/ 255`, `ShortSideScale` (bilinear, `align_corners=False`, no antialias), `NormalizeVideo`.
/// 5. ImageBind's `SpatialCrop`: `uniform_crop` at spatial index 0, 1, 2 (or the centre only).
///
/// Output `[clips · crops, 3, framesPerClip, crop, crop]` f32, clip-major then crop. Only the frames
/// the clips use are decoded (one ffmpeg pass, `VideoFrameReader`), each resized once.
public enum VideoClipSampler {
  /// The clips of a video with `frameCount` frames at `framesPerSecond` (decord's `len` and
  /// `get_avg_fps`). `file` names the video in errors.
  public static func clips(
    frameCount: Int, framesPerSecond fps: Double, options: VideoClipOptions = .imageBind,
    file: String = "<video>"
  ) throws(VideoFileError) -> [VideoClip] {
    try validate(options, file: file)
    guard frameCount > 0, fps.isFinite, fps > 0 else {
      throw VideoFileError(
        file: file, kind: .empty, message: "cannot sample clips from \(frameCount) frames at \(fps) fps")
    }
    let duration = Double(frameCount) / fps
    if options.requireWholeClips && duration < options.clipDuration {
      throw VideoFileError(
        file: file, kind: .tooShort,
        message: "the video lasts \(duration) s, shorter than one \(options.clipDuration) s clip")
    }
    let maxStart = max(duration - options.clipDuration, 0)
    let divisor =
      options.spacing == .lastClipAtEnd ? max(options.clipsPerVideo - 1, 1) : options.clipsPerVideo
    var clips: [VideoClip] = []
    for k in 0..<options.clipsPerVideo {
      guard let start = ExactClipTime.value(maxStart, times: k, over: divisor, plus: 0),
        let end = ExactClipTime.value(maxStart, times: k, over: divisor, plus: options.clipDuration)
      else {
        throw VideoFileError(
          file: file, kind: .invalidRequest,
          message: "clip times for a \(duration) s video and \(options.clipDuration) s clips are out of range"
        )
      }
      let first = Int((fps * start).rounded(.up))
      let last = (fps * end).rounded(.up)  // compared as Double first: a huge clip must not trap
      let stop = last >= Double(frameCount) ? frameCount : Int(last)
      guard first < stop else {
        throw VideoFileError(
          file: file, kind: .empty,
          message: "clip \(k) (\(start)–\(end) s) holds no frames of the \(frameCount)-frame video")
      }
      let picks = temporalSubsample(count: stop - first, samples: options.framesPerClip)
      clips.append(
        VideoClip(start: start, end: end, frameRange: first..<stop, frameIndices: picks.map { first + $0 }))
    }
    return clips
  }

  /// pytorchvideo's `uniform_temporal_subsample` indices: `torch.linspace(0, count−1, samples)`
  /// in float32, clamped to [0, count−1] and truncated. torch's CPU kernel fills the first half as
  /// start + step·i and the second as end − step·(n−1−i), each with one rounding (a fused
  /// multiply-add), which decides the ties `.long()` truncates.
  public static func temporalSubsample(count: Int, samples: Int) -> [Int] {
    precondition(count >= 1 && samples >= 1)
    if samples == 1 { return [0] }
    let end = Float(count - 1)
    let step = end / Float(samples - 1)
    let halfway = samples / 2
    return (0..<samples).map { i in
      let value =
        i < halfway
        ? Float(0).addingProduct(step, Float(i)) : end.addingProduct(-step, Float(samples - 1 - i))
      return min(max(Int(min(max(value, 0), end)), 0), count - 1)
    }
  }

  /// Samples a video file: `[clips · crops, 3, framesPerClip, crop, crop]` f32.
  public static func sample(
    contentsOf path: String, options: VideoClipOptions = .imageBind, tools: FFmpegTools = .system,
    pool: ThreadPool = .shared
  ) throws(VideoFileError) -> Tensor {
    try validate(options, file: path)
    let index = try VideoFile.index(path, tools: tools)
    let info = index.info
    let clips = try clips(
      frameCount: index.frameCount, framesPerSecond: info.framesPerSecond, options: options, file: path)
    let needed = Array(Set(clips.flatMap(\.frameIndices))).sorted()
    let (h, w) = (info.displayHeight, info.displayWidth)
    let (outH, outW) =
      w < h
      ? (Int((Double(h) / Double(w) * Double(options.shortSide)).rounded(.down)), options.shortSide)
      : (options.shortSide, Int((Double(w) / Double(h) * Double(options.shortSide)).rounded(.down)))
    guard options.cropSize <= min(outH, outW) else {
      throw VideoFileError(
        file: path, kind: .invalidRequest,
        message: "crop \(options.cropSize) does not fit the scaled \(outW)×\(outH) frames")
    }

    let reader = try VideoFrameReader(
      index: index, selection: .indices(needed), format: .planarFloat, tools: tools)
    var scaled: [Int: Tensor] = [:]
    while let frame = try reader.next() {
      scaled[frame.index] = try normalizedScale(
        frame.pixels, height: outH, width: outW, options: options, file: path, pool: pool)
    }
    return assemble(clips: clips, frames: scaled, height: outH, width: outW, options: options)
  }

  // MARK: - Steps

  static func validate(_ options: VideoClipOptions, file: String) throws(VideoFileError) {
    var problems: [String] = []
    if !(options.clipDuration.isFinite && options.clipDuration > 0) { problems.append("clipDuration > 0") }
    if options.clipsPerVideo < 1 { problems.append("clipsPerVideo ≥ 1") }
    if options.framesPerClip < 1 { problems.append("framesPerClip ≥ 1") }
    if options.shortSide < 1 || options.cropSize < 1 { problems.append("shortSide, cropSize ≥ 1") }
    if options.spatialCrops != 1 && options.spatialCrops != 3 { problems.append("spatialCrops 1 or 3") }
    if options.mean.count != 3 || options.std.count != 3
      || options.std.contains(where: { $0 == 0 || !$0.isFinite })
      || options.mean.contains(where: { !$0.isFinite })
    {
      problems.append("3 finite means and 3 finite non-zero stds")
    }
    if !problems.isEmpty {
      throw VideoFileError(
        file: file, kind: .invalidRequest,
        message: "invalid clip options: need " + problems.joined(separator: ", "))
    }
  }

  /// `[3, H, W]` in [0, 1] → ShortSideScale → NormalizeVideo: `[3, outH, outW]`.
  static func normalizedScale(
    _ frame: Tensor, height: Int, width: Int, options: VideoClipOptions, file: String, pool: ThreadPool
  ) throws(VideoFileError) -> Tensor {
    let resized: Tensor
    do {
      resized = try resizeBilinear(frame, height: height, width: width, pool: pool)
    } catch {
      throw VideoFileError(file: file, kind: .invalidRequest, message: "resize failed: \(error)")
    }
    let plane = height * width
    let values = resized.pointer(Float.self)
    for c in 0..<3 {
      let (m, s) = (options.mean[c], options.std[c])
      for i in (c * plane)..<((c + 1) * plane) { values[i] = (values[i] - m) / s }
    }
    return resized
  }

  /// ImageBind's `uniform_crop` offsets for spatial index 0, 1, 2 (`[1]` alone with one crop).
  static func cropOffsets(height: Int, width: Int, size: Int, crops: Int) -> [(y: Int, x: Int)] {
    let centre = (
      y: Int((Double(height - size) / 2).rounded(.up)), x: Int((Double(width - size) / 2).rounded(.up))
    )
    let spatial = crops == 3 ? [0, 1, 2] : [1]
    return spatial.map { index in
      var offset = centre
      if height > width {
        if index == 0 { offset.y = 0 } else if index == 2 { offset.y = height - size }
      } else {
        if index == 0 { offset.x = 0 } else if index == 2 { offset.x = width - size }
      }
      return offset
    }
  }

  /// Crops every clip's frames into `[clips · crops, 3, T, size, size]`.
  static func assemble(
    clips: [VideoClip], frames: [Int: Tensor], height: Int, width: Int, options: VideoClipOptions
  ) -> Tensor {
    let size = options.cropSize
    let offsets = cropOffsets(height: height, width: width, size: size, crops: options.spatialCrops)
    let t = options.framesPerClip
    let output = Tensor(zeros: [clips.count * offsets.count, 3, t, size, size])
    let out = output.pointer(Float.self)
    var item = 0
    for clip in clips {
      for offset in offsets {
        for c in 0..<3 {
          for (f, index) in clip.frameIndices.enumerated() {
            let source = frames[index]!.pointer(Float.self) + c * height * width
            let target = out + (((item * 3 + c) * t + f) * size * size)
            for row in 0..<size {
              (target + row * size).update(
                from: source + (offset.y + row) * width + offset.x, count: size)
            }
          }
        }
        item += 1
      }
    }
    return output
  }
}

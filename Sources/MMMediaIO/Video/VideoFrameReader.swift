import Foundation
import Glibc
import MMCore

/// Which frames a `VideoFrameReader` decodes. Frames come out in ascending frame order, each once.
public enum FrameSelection: Sendable, Equatable {
  /// Every frame.
  case all
  /// Frames `start`, `start + step`, `start + 2·step`, …
  case every(Int, start: Int = 0)
  /// These frame indices (0-based, presentation order); duplicates and order are ignored.
  case indices([Int])
  /// The frame on screen at each time in seconds: the last frame whose timestamp is ≤ t.
  case timestamps([Double])
}

/// How a frame's pixels are laid out.
public enum VideoPixelFormat: Sendable, Equatable {
  /// `[H, W, 3]` u8, RGB, exactly the bytes decord returns.
  case rgb24
  /// `[3, H, W]` f32 in [0, 1]: each byte divided by 255 (float division, as `tensor / 255.0`).
  case planarFloat
}

/// One decoded frame.
public struct VideoFrame: Sendable {
  /// 0-based index in presentation order.
  public var index: Int
  /// Start time in seconds (decord's `get_frame_timestamp(index)[0]`).
  public var timestamp: Double
  /// `[H, W, 3]` u8 or `[3, H, W]` f32, per the reader's `VideoPixelFormat`.
  public var pixels: Tensor
}

/// Streams chosen frames of a video from an `ffmpeg` child, one frame at a time: a long video never
/// sits in memory, only the frame being handed out.
///
/// ffmpeg decodes from the start and its `select` filter passes on only the requested frames
/// (`select='eq(n,12)+between(n,40,42)'`, `-vsync passthrough`, `-frames:v` = the number wanted, so
/// it stops after the last one), converted to `rgb24` by libswscale and written raw to stdout;
/// each `next()` reads exactly W·H·3 bytes. A stream that ends early, or in the middle of a frame,
/// is a `.truncated` error, never a short frame. `close()`, `deinit`, and task cancellation noticed
/// in `next()` kill the child and reap it.
///
/// Opening from a path first indexes the video (`VideoFile.index`: an `ffprobe` of the header and
/// one demux pass over the packets, as decord does on open); pass a `VideoIndex` to reuse one.
public final class VideoFrameReader {
  public let info: VideoInfo
  /// Every frame's start time in seconds (see `VideoFile.index`).
  public let timestamps: [Double]
  /// The frames this reader yields, ascending.
  public let frameIndices: [Int]
  public let format: VideoPixelFormat

  private var child: ChildProcess?
  private var delivered = 0
  private var buffer: [UInt8] = []
  private let frameBytes: Int

  /// The ffmpeg child's process id while it runs (for diagnostics and tests), else nil.
  public var childProcessID: Int32? { child?.pid }

  /// Probes and indexes `path` (`VideoFile.index`), then starts decoding the selected frames.
  public convenience init(
    contentsOf path: String, selection: FrameSelection = .all, format: VideoPixelFormat = .rgb24,
    tools: FFmpegTools = .system
  ) throws(VideoFileError) {
    try self.init(
      index: VideoFile.index(path, tools: tools), selection: selection, format: format, tools: tools)
  }

  /// Starts decoding the selected frames of an indexed video.
  public init(
    index: VideoIndex, selection: FrameSelection = .all, format: VideoPixelFormat = .rgb24,
    tools: FFmpegTools = .system
  ) throws(VideoFileError) {
    let (info, path) = (index.info, index.info.path)
    let ffmpeg = try VideoFile.executable(tools.ffmpeg, name: "ffmpeg", file: path)
    let indices = try Self.resolve(selection, timestamps: index.timestamps, path: path)
    self.info = info
    self.timestamps = index.timestamps
    self.frameIndices = indices
    self.format = format
    frameBytes = info.displayWidth * info.displayHeight * 3
    if indices.isEmpty { return }
    var filters = ["format=rgb24"]
    if let select = Self.selectExpression(selection, indices: indices, count: timestamps.count) {
      filters.insert("select='\(select)'", at: 0)
    }
    let arguments = [
      "-nostdin", "-hide_banner", "-v", "error", "-i", "file:" + path, "-map", "0:\(info.streamIndex)",
      "-an", "-sn", "-dn", "-vf", filters.joined(separator: ","), "-vsync", "passthrough",
      "-sws_flags", "bilinear", "-frames:v", String(indices.count), "-f", "rawvideo", "-pix_fmt", "rgb24",
      "pipe:1",
    ]
    child = try VideoFile.start(ffmpeg, arguments, file: path, what: "ffmpeg")
  }

  deinit { child?.kill() }

  /// The next selected frame, or nil after the last one. Throws `.truncated` when the stream ends
  /// early or inside a frame (`.decoder` when ffmpeg also failed), `.cancelled` when the task was
  /// cancelled (the child is ended first).
  public func next() throws(VideoFileError) -> VideoFrame? {
    guard delivered < frameIndices.count, let child else { return nil }
    if Task.isCancelled {
      close()
      throw VideoFileError(file: info.path, kind: .cancelled, message: "cancelled; ffmpeg stopped")
    }
    let index = frameIndices[delivered]
    let (h, w) = (info.displayHeight, info.displayWidth)
    let pixels: Tensor
    let got: Int
    switch format {
    case .rgb24:
      pixels = Tensor(zeros: [h, w, 3], dtype: .u8)
      got = child.read(into: pixels.baseAddress, count: frameBytes)
    case .planarFloat:
      if buffer.count != frameBytes { buffer = [UInt8](repeating: 0, count: frameBytes) }
      got = buffer.withUnsafeMutableBytes { child.read(into: $0.baseAddress!, count: frameBytes) }
      pixels = Tensor(zeros: [3, h, w])
      if got == frameBytes { Self.planarize(buffer, into: pixels.pointer(Float.self), pixels: h * w) }
    }
    if got < frameBytes {
      let status = child.wait()
      let reason = child.errorText
      self.child = nil
      let detail = reason.isEmpty ? "ffmpeg exit status \(status)" : "ffmpeg: \(reason)"
      let message =
        got == 0
        ? "frame \(index) was not decoded; the stream ended after \(delivered) of "
          + "\(frameIndices.count) selected frames (\(detail))"
        : "the stream ended inside frame \(index) (\(got) of \(frameBytes) bytes; \(detail))"
      // A failing ffmpeg is a decoder error; one that ends cleanly but early, a truncated file.
      throw VideoFileError(file: info.path, kind: status == 0 ? .truncated : .decoder, message: message)
    }
    delivered += 1
    if delivered == frameIndices.count { try finish() }
    return VideoFrame(index: index, timestamp: timestamps[index], pixels: pixels)
  }

  /// Every remaining frame, in order.
  public func readAll() throws(VideoFileError) -> [VideoFrame] {
    var frames: [VideoFrame] = []
    while let frame = try next() { frames.append(frame) }
    return frames
  }

  /// Stops decoding: kills the child (if still running) and reaps it. Safe to call twice.
  public func close() {
    child?.kill()
    child = nil
    delivered = frameIndices.count
  }

  /// After the last frame: the child must exit cleanly.
  private func finish() throws(VideoFileError) {
    guard let child else { return }
    self.child = nil
    let status = child.wait()
    guard status == 0 else {
      throw VideoFileError(
        file: info.path, kind: .decoder,
        message: "ffmpeg failed after the last frame (exit status \(status)): \(child.errorText)")
    }
  }

  // MARK: - Selection

  /// The ascending, unique frame indices a selection asks for; out-of-range requests throw.
  static func resolve(_ selection: FrameSelection, timestamps: [Double], path: String)
    throws(VideoFileError) -> [Int]
  {
    let count = timestamps.count
    switch selection {
    case .all:
      return Array(0..<count)
    case .every(let step, let start):
      guard step >= 1, start >= 0 else {
        throw VideoFileError(
          file: path, kind: .invalidRequest,
          message: "every(\(step), start: \(start)): step must be ≥ 1, start ≥ 0")
      }
      return start < count ? Array(stride(from: start, to: count, by: step)) : []
    case .indices(let requested):
      if let bad = requested.first(where: { $0 < 0 || $0 >= count }) {
        throw VideoFileError(
          file: path, kind: .invalidRequest,
          message: "frame \(bad) is out of range: the video has \(count) frames (0…\(count - 1))")
      }
      return Array(Set(requested)).sorted()
    case .timestamps(let times):
      var chosen = Set<Int>()
      // The last frame lasts as long as the one before it (or 1 s in a one-frame video).
      let last = timestamps[count - 1]
      let end = last + (count > 1 ? max(last - timestamps[count - 2], 0) : 1)
      for t in times {
        guard t.isFinite, t >= 0, t < end else {
          throw VideoFileError(
            file: path, kind: .invalidRequest,
            message: "timestamp \(t) s is out of range: the video's frames cover 0 to \(end) s")
        }
        // The last frame starting at or before t (binary search on the sorted start times).
        var (lo, hi) = (0, count)
        while lo < hi {
          let mid = (lo + hi) / 2
          if timestamps[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        chosen.insert(max(lo - 1, 0))
      }
      return chosen.sorted()
    }
  }

  /// The `select` filter expression for `indices`, or nil when every frame is wanted. Runs of
  /// consecutive frames become `between(n,a,b)`; commas are inside single quotes, as the filter
  /// graph syntax needs.
  static func selectExpression(_ selection: FrameSelection, indices: [Int], count: Int) -> String? {
    if indices.count == count { return nil }
    if case .every(let step, let start) = selection {
      return "gte(n,\(start))*not(mod(n-\(start),\(step)))"
    }
    var terms: [String] = []
    var i = 0
    while i < indices.count {
      var j = i
      while j + 1 < indices.count && indices[j + 1] == indices[j] + 1 { j += 1 }
      terms.append(i == j ? "eq(n,\(indices[i]))" : "between(n,\(indices[i]),\(indices[j]))")
      i = j + 1
    }
    return terms.joined(separator: "+")
  }

  /// Interleaved RGB bytes → planar floats / 255.
  static func planarize(_ bytes: [UInt8], into output: UnsafeMutablePointer<Float>, pixels: Int) {
    bytes.withUnsafeBufferPointer { rgb in
      for p in 0..<pixels {
        output[p] = Float(rgb[3 * p]) / 255
        output[pixels + p] = Float(rgb[3 * p + 1]) / 255
        output[2 * pixels + p] = Float(rgb[3 * p + 2]) / 255
      }
    }
  }
}

extension VideoFile {
  /// The frames at `indices`, in the order asked (repeats allowed), like decord's
  /// `get_batch(indices)`; each distinct frame is decoded once.
  public static func frames(
    _ path: String, at indices: [Int], format: VideoPixelFormat = .rgb24, tools: FFmpegTools = .system
  ) throws(VideoFileError) -> [VideoFrame] {
    try frames(index(path, tools: tools), at: indices, format: format, tools: tools)
  }

  /// `frames(_:at:)` for an indexed video.
  public static func frames(
    _ index: VideoIndex, at indices: [Int], format: VideoPixelFormat = .rgb24, tools: FFmpegTools = .system
  ) throws(VideoFileError) -> [VideoFrame] {
    let reader = try VideoFrameReader(
      index: index, selection: .indices(indices), format: format, tools: tools)
    var byIndex: [Int: VideoFrame] = [:]
    while let frame = try reader.next() { byIndex[frame.index] = frame }
    return indices.map { byIndex[$0]! }
  }
}

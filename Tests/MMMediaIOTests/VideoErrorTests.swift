import Foundation
import MMCore
import MMMediaIO
import Testing

/// Bad input: every failure is a `VideoFileError` naming the file, never a crash or a short tensor.
@Suite("Video errors") struct VideoErrorTests {
  /// The error of `body`, or nil when it succeeds (or throws something else).
  static func failure<T>(_ body: () throws -> T) -> VideoFileError? {
    do {
      _ = try body()
      return nil
    } catch { return error as? VideoFileError }
  }

  static func expect(
    _ error: VideoFileError?, _ kind: VideoFileError.Kind, _ words: String, file: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(error?.kind == kind, "\(String(describing: error))", sourceLocation: sourceLocation)
    #expect(error?.file == file, sourceLocation: sourceLocation)
    #expect(
      error?.message.contains(words) == true, "\(String(describing: error)) lacks '\(words)'",
      sourceLocation: sourceLocation)
  }

  @Test func missingFileAndDirectory() throws {
    let missing = VideoFiles.temporaryPath("no-such-video.mp4")
    Self.expect(Self.failure { try VideoFile.probe(missing) }, .io, "No such file", file: missing)
    Self.expect(
      Self.failure { try VideoClipSampler.sample(contentsOf: missing) }, .io, "No such file", file: missing)
    let directory = FileManager.default.temporaryDirectory.path
    Self.expect(Self.failure { try VideoFile.probe(directory) }, .io, "directory", file: directory)
  }

  @Test func notAVideo() throws {
    let text = VideoFiles.temporaryPath("notes.txt")
    try "just some text, not a video\n".write(toFile: text, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: text) }
    Self.expect(Self.failure { try VideoFile.probe(text) }, .format, "Invalid data", file: text)
    let empty = VideoFiles.temporaryPath("empty.mp4")
    try Data().write(to: URL(fileURLWithPath: empty))
    defer { try? FileManager.default.removeItem(atPath: empty) }
    Self.expect(Self.failure { try VideoFile.probe(empty) }, .empty, "0 bytes", file: empty)
  }

  @Test func audioOnlyFile() throws {
    let path = try VideoFiles.fixture("audio_only.m4a")
    Self.expect(Self.failure { try VideoFile.probe(path) }, .noVideoStream, "audio aac", file: path)
    Self.expect(
      Self.failure { try VideoClipSampler.sample(contentsOf: path) }, .noVideoStream, "no video stream",
      file: path)
  }

  @Test func zeroFrameVideo() throws {
    let path = try VideoFiles.fixture("zero_frames.avi")
    Self.expect(Self.failure { try VideoFile.probe(path) }, .empty, "no frames", file: path)
    Self.expect(
      Self.failure { try VideoFrameReader(contentsOf: path) }, .empty, "no frames", file: path)
  }

  /// An MP4 cut short loses its index (moov written last): ffprobe's reason is in the message.
  @Test func truncatedVideoWithoutIndex() throws {
    let path = try VideoFiles.truncatedCopy(
      of: VideoFiles.fixture("h264_160x120_30fps.mp4"), fraction: 0.6, name: "cut.mp4")
    defer { try? FileManager.default.removeItem(atPath: path) }
    Self.expect(Self.failure { try VideoFile.probe(path) }, .format, "moov atom not found", file: path)
  }

  /// With the index first (`+faststart`), the header still declares 150 frames but the cut file holds
  /// fewer: refused before decoding, whatever is asked.
  @Test func truncatedVideoWithIndexFirst() throws {
    let fast = VideoFiles.temporaryPath("faststart.mp4")
    try VideoFiles.ffmpeg([
      "-i", VideoFiles.fixture("h264_160x120_30fps.mp4"), "-c", "copy", "-movflags", "+faststart", fast,
    ])
    defer { try? FileManager.default.removeItem(atPath: fast) }
    let path = try VideoFiles.truncatedCopy(of: fast, fraction: 0.5, name: "cut-faststart.mp4")
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(try VideoFile.probe(path).frameCount == 150)
    Self.expect(
      Self.failure { try VideoFrameReader(contentsOf: path, selection: .indices([3])) }, .truncated,
      "declares 150 frames", file: path)
    Self.expect(
      Self.failure { try VideoClipSampler.sample(contentsOf: path) }, .truncated, "declares 150 frames",
      file: path)
  }

  /// A file that indexes fine but whose decoder gives out early (a Matroska cut mid-packet, with the
  /// frame count taken from the packets) ends in a clear error, never a short frame.
  @Test func decodingThatStopsEarlyIsAnError() throws {
    let path = try VideoFiles.truncatedCopy(
      of: VideoFiles.fixture("h264_128x96_29.97fps.mkv"), fraction: 0.5, name: "cut.mkv")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let index = try VideoFile.index(path)
    #expect(index.frameCount < 105)
    // Asking for a frame past what the packets hold is out of range…
    Self.expect(
      Self.failure { try VideoFrameReader(index: index, selection: .indices([104])) }, .invalidRequest,
      "out of range", file: path)
    // …and reading every frame either completes with whole frames or stops with `.truncated`.
    let reader = try VideoFrameReader(index: index)
    var frames = 0
    do {
      while let frame = try reader.next() {
        #expect(frame.pixels.shape == [96, 128, 3])
        frames += 1
      }
      #expect(frames == index.frameCount)
    } catch {
      #expect(error.kind == .truncated || error.kind == .decoder, "\(error)")
      #expect(frames < index.frameCount)
    }
  }

  /// A stand-in for ffmpeg (a shell script) that writes `bytes` zero bytes to stdout and exits with
  /// `status`: the reader's own checks, independent of how a real decoder fails.
  static func fakeFFmpeg(bytes: Int, status: Int32, name: String) throws -> FFmpegTools {
    let script = VideoFiles.temporaryPath(name)
    try "#!/bin/sh\nhead -c \(bytes) /dev/zero\nexit \(status)\n".write(
      toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
    return FFmpegTools(ffmpeg: script)
  }

  @Test func shortOutputIsATruncationNeverAShortFrame() throws {
    let path = try VideoFiles.fixture("h264_64x48_10fps_short.mp4")
    let frame = 64 * 48 * 3
    let index = try VideoFile.index(path)
    // Stops inside the second frame.
    let inside = try Self.fakeFFmpeg(bytes: frame + 1000, status: 0, name: "ffmpeg-inside")
    let reader = try VideoFrameReader(index: index, selection: .indices([2, 5, 9]), tools: inside)
    #expect(try reader.next()?.index == 2)
    Self.expect(
      Self.failure { try reader.next() }, .truncated, "ended inside frame 5 (1000 of 9216 bytes", file: path)
    // Stops after one whole frame of three.
    let early = try Self.fakeFFmpeg(bytes: frame, status: 0, name: "ffmpeg-early")
    Self.expect(
      Self.failure {
        try VideoFrameReader(index: index, selection: .indices([2, 5, 9]), tools: early).readAll()
      },
      .truncated, "frame 5 was not decoded; the stream ended after 1 of 3 selected frames", file: path)
    // Every frame arrives but ffmpeg fails at the end.
    let failing = try Self.fakeFFmpeg(bytes: 2 * frame, status: 1, name: "ffmpeg-failing")
    Self.expect(
      Self.failure { try VideoFile.frames(index, at: [0, 1], tools: failing) }, .decoder, "exit status 1",
      file: path)
    for name in ["ffmpeg-inside", "ffmpeg-early", "ffmpeg-failing"] {
      try? FileManager.default.removeItem(atPath: VideoFiles.temporaryPath(name))
    }
  }

  @Test func missingTools() throws {
    let path = try VideoFiles.fixture("h264_64x48_10fps_short.mp4")
    let noFFmpeg = FFmpegTools(ffmpeg: "/nonexistent/bin/ffmpeg")
    Self.expect(
      Self.failure { try VideoFrameReader(contentsOf: path, tools: noFFmpeg) }, .toolMissing,
      "ffmpeg not found; install it with apt-get install ffmpeg", file: path)
    Self.expect(
      Self.failure { try VideoClipSampler.sample(contentsOf: path, tools: noFFmpeg) }, .toolMissing,
      "ffmpeg not found; install it with apt-get install ffmpeg", file: path)
    let noProbe = FFmpegTools(ffprobe: "mmgraph-no-such-ffprobe")
    Self.expect(
      Self.failure { try VideoFile.probe(path, tools: noProbe) }, .toolMissing,
      "ffprobe not found; install it with apt-get install ffmpeg", file: path)
  }

  @Test func outOfRangeRequests() throws {
    let path = try VideoFiles.fixture("h264_64x48_10fps_short.mp4")
    Self.expect(
      Self.failure { try VideoFile.frames(path, at: [3, 15]) }, .invalidRequest,
      "frame 15 is out of range: the video has 15 frames", file: path)
    Self.expect(
      Self.failure { try VideoFrameReader(contentsOf: path, selection: .timestamps([1.6])) },
      .invalidRequest, "out of range", file: path)
    Self.expect(
      Self.failure { try VideoFrameReader(contentsOf: path, selection: .every(0)) }, .invalidRequest,
      "step must be ≥ 1", file: path)
  }
}

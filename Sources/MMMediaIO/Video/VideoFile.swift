import Foundation
import Glibc
import MMCore

/// A video could not be probed, decoded or sampled. The description names the file and the problem.
public struct VideoFileError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable, Equatable {
    /// Missing, a directory, or unreadable.
    case io
    /// `ffmpeg` or `ffprobe` is not installed (or not at the configured path).
    case toolMissing
    /// Not a media file ffprobe can read (its reason is in the message).
    case format
    /// A media file without a video stream (audio only, subtitles, …).
    case noVideoStream
    /// The video stream holds no frames, or the file is empty.
    case empty
    /// The file holds fewer frames than its header declares, or decoding stopped early.
    case truncated
    /// ffmpeg failed while decoding (its last messages are in the message).
    case decoder
    /// The request does not fit this video or is invalid (frame out of range, bad options).
    case invalidRequest
    /// The video is shorter than one clip and the options require whole clips.
    case tooShort
    /// The task was cancelled; the child process has been ended.
    case cancelled
  }

  public var file: String
  public var kind: Kind
  public var message: String

  public init(file: String, kind: Kind, message: String) {
    self.file = file
    self.kind = kind
    self.message = message
  }

  public var description: String { "\(file): \(message)" }
}

/// A frame rate or time base as ffprobe writes it (`30000/1001`); `0/0` means unknown.
public struct VideoRational: Sendable, Hashable, CustomStringConvertible {
  public var numerator: Int
  public var denominator: Int

  public init(_ numerator: Int, _ denominator: Int) {
    self.numerator = numerator
    self.denominator = denominator
  }

  /// Parses `num/den` (or a bare integer); nil for anything else.
  public init?(parsing text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count <= 2, let n = Int(parts[0]), let d = parts.count == 2 ? Int(parts[1]) : 1 else {
      return nil
    }
    self.init(n, d)
  }

  /// True when both terms are positive.
  public var isValid: Bool { numerator > 0 && denominator > 0 }
  /// numerator / denominator in Double, as decord's `get_avg_fps` computes it.
  public var value: Double { Double(numerator) / Double(denominator) }
  public var description: String { "\(numerator)/\(denominator)" }
}

/// What ffprobe says about a file's video stream.
public struct VideoInfo: Sendable, Equatable {
  /// Where the frame count came from.
  public enum FrameCountSource: Sendable, Equatable {
    /// The container's header (`nb_frames`).
    case header
    /// Counted by demuxing every packet of the stream (`ffprobe -count_packets`): the header had
    /// no count (Matroska, WebM, some AVI).
    case countedPackets
  }

  public var path: String
  /// The absolute stream index in the file (what `-map 0:<index>` selects).
  public var streamIndex: Int
  /// Decoder name as ffprobe reports it (`h264`, `mpeg4`, `vp9`, …).
  public var codec: String
  /// The coded size, before rotation.
  public var width: Int
  public var height: Int
  public var pixelFormat: String?
  /// `avg_frame_rate` and `r_frame_rate`; either may be `0/0` (unknown).
  public var averageFrameRate: VideoRational
  public var realFrameRate: VideoRational
  /// Stream duration in seconds, else the container's; nil when neither is known.
  public var duration: Double?
  public var frameCount: Int
  public var frameCountSource: FrameCountSource
  /// Display rotation in degrees counterclockwise, in [0, 360), from the display matrix as ffprobe
  /// reports it. ffmpeg applies it while decoding (autorotate): frames arrive upright, with
  /// `displayWidth` × `displayHeight` pixels.
  public var rotation: Int
  /// The stream's time base (`1/15360`) and first timestamp in it.
  public var timeBase: VideoRational
  public var startPTS: Int?

  /// The frame rate used for sampling: `avg_frame_rate` (what decord reports), else `r_frame_rate`.
  public var frameRate: VideoRational { averageFrameRate.isValid ? averageFrameRate : realFrameRate }
  /// `frameRate` as a Double.
  public var framesPerSecond: Double { frameRate.value }
  /// Frames as delivered: width and height swap for rotations of 90° and 270°.
  public var displayWidth: Int { rotation % 180 == 90 ? height : width }
  public var displayHeight: Int { rotation % 180 == 90 ? width : height }
}

/// A probed video and its frames' start times (seconds, presentation order; one per packet, so
/// `frameCount` is decord's `len`).
public struct VideoIndex: Sendable, Equatable {
  public var info: VideoInfo
  public var timestamps: [Double]
  public var frameCount: Int { timestamps.count }

  public init(info: VideoInfo, timestamps: [Double]) {
    self.info = info
    self.timestamps = timestamps
  }
}

/// Video files through the `ffmpeg` and `ffprobe` programs, run as child processes.
///
/// Why child processes and not libav linked in: libav's API changes with every major version
/// (Debian 12 ships 5.1, others 4.4 to 7.x), so one command line works where a C binding would need
/// version shims; a decoder that crashes on a hostile file takes down its own process, not
/// mmgraph; and raw `rgb24` over a pipe streams frame by frame with no buffering beyond one frame.
/// The price is a process start per probe, index or read (about 0.1 s with Debian's ffmpeg, which
/// loads many libraries) and a runtime dependency: a missing program is a `.toolMissing` error
/// saying how to install it.
///
/// Frames match decord (ImageBind's decoder) byte for byte: both convert with libswscale's
/// default YUV→RGB24 path, and frame `i` is the `i`-th frame in presentation order.
public enum VideoFile {
  /// Probes the file's video stream (`ffprobe -show_streams -show_format`, the header only). When
  /// the header has no frame count, the stream's packets are counted (a demux pass, no decoding).
  public static func probe(_ path: String, tools: FFmpegTools = .system) throws(VideoFileError)
    -> VideoInfo
  {
    let (root, ffprobe) = try ffprobeJSON(path, tools: tools, packets: false)
    var info = try videoStream(root, path: path)
    if info.frameCount <= 0 {
      info.frameCount = try countPackets(path, stream: info.streamIndex, ffprobe: ffprobe)
      info.frameCountSource = .countedPackets
    }
    guard info.frameCount > 0 else {
      throw VideoFileError(file: path, kind: .empty, message: "the video stream holds no frames")
    }
    return info
  }

  /// Probes `path` and lists every frame's start time in one ffprobe run (header and a demux pass
  /// over the packets, no decoding): what a `VideoFrameReader` and the clip sampler need first.
  ///
  /// Timestamps are decord's `get_frame_timestamp(i)[0]`: the stream's packets sorted by pts,
  /// `(pts − stream start) × time base` seconds; one per packet, so `frameCount` is decord's
  /// `len(reader)`. A header that declares more frames than the file holds is `.truncated`.
  public static func index(_ path: String, tools: FFmpegTools = .system) throws(VideoFileError)
    -> VideoIndex
  {
    let (root, _) = try ffprobeJSON(path, tools: tools, packets: true)
    var info = try videoStream(root, path: path)
    var ticks: [Int?] = []
    for packet in root["packets"]?.elements ?? [] where packet["stream_index"]?.int == info.streamIndex {
      ticks.append(packet["pts"]?.int ?? packet["dts"]?.int)
    }
    guard !ticks.isEmpty else {
      throw VideoFileError(file: path, kind: .empty, message: "the video stream holds no frames")
    }
    if info.frameCount > 0, ticks.count < info.frameCount {
      throw VideoFileError(
        file: path, kind: .truncated,
        message: "truncated: the header declares \(info.frameCount) frames but the file holds \(ticks.count)")
    }
    if info.frameCount <= 0 {
      info.frameCount = ticks.count
      info.frameCountSource = .countedPackets
    }
    let factor =
      info.timeBase.isValid ? Double(info.timeBase.numerator) / Double(info.timeBase.denominator) : 0
    let timestamps: [Double]
    if factor > 0, ticks.allSatisfy({ $0 != nil }) {
      let start = info.startPTS ?? 0
      timestamps = ticks.map { $0! - start }.sorted().map { Double($0) * factor }
    } else {  // no usable timestamps: nominal times at the frame rate
      timestamps = (0..<ticks.count).map { Double($0) / info.framesPerSecond }
    }
    return VideoIndex(info: info, timestamps: timestamps)
  }

  /// ffprobe's JSON for `path` (streams and format, and every packet's stream, pts and dts when
  /// `packets`), and the resolved ffprobe.
  static func ffprobeJSON(_ path: String, tools: FFmpegTools, packets: Bool) throws(VideoFileError)
    -> (JSONValue, String)
  {
    try checkReadable(path)
    let ffprobe = try executable(tools.ffprobe, name: "ffprobe", file: path)
    var arguments = ["-v", "error", "-print_format", "json=compact=1", "-show_streams", "-show_format"]
    if packets { arguments += ["-show_entries", "packet=stream_index,pts,dts"] }
    let output = try run(ffprobe, arguments + ["-i", "file:" + path], file: path, what: "ffprobe")
    do {
      return (try JSONParser.parse(output, file: path, recordLocations: false).root, ffprobe)
    } catch {
      throw VideoFileError(file: path, kind: .format, message: "ffprobe wrote unreadable JSON: \(error)")
    }
  }

  // MARK: - Helpers shared with the frame reader

  /// Missing files, directories, empty and unreadable files get their own messages.
  static func checkReadable(_ path: String) throws(VideoFileError) {
    var status = stat()
    guard stat(path, &status) == 0 else {
      let reason = String(cString: strerror(errno))
      throw VideoFileError(file: path, kind: .io, message: "cannot open: \(reason)")
    }
    if (status.st_mode & S_IFMT) == S_IFDIR {
      throw VideoFileError(file: path, kind: .io, message: "is a directory, not a video file")
    }
    if status.st_size == 0 {
      throw VideoFileError(file: path, kind: .empty, message: "empty file (0 bytes)")
    }
    guard access(path, R_OK) == 0 else {
      throw VideoFileError(file: path, kind: .io, message: "not readable (permission denied)")
    }
  }

  /// The resolved program, or the `.toolMissing` error that says how to install it.
  static func executable(_ configured: String, name: String, file: String) throws(VideoFileError)
    -> String
  {
    guard let resolved = FFmpegTools.resolve(configured) else {
      throw VideoFileError(
        file: file, kind: .toolMissing, message: "\(name) not found; install it with apt-get install ffmpeg")
    }
    return resolved
  }

  /// Starts a child, with launch failures as `VideoFileError`s.
  static func start(_ program: String, _ arguments: [String], file: String, what: String)
    throws(VideoFileError) -> ChildProcess
  {
    do {
      return try ChildProcess(executable: program, arguments: arguments)
    } catch {
      throw VideoFileError(
        file: file, kind: .toolMissing,
        message: "\(what) could not be started (\(error)); install it with apt-get install ffmpeg")
    }
  }

  /// Runs a child to completion and returns its stdout; a non-zero exit is a `.format` error with
  /// the child's own reason.
  static func run(_ program: String, _ arguments: [String], file: String, what: String)
    throws(VideoFileError) -> [UInt8]
  {
    let child = try start(program, arguments, file: file, what: what)
    let output = child.readToEnd()
    let status = child.wait()
    guard status == 0 else {
      let reason = child.errorText
      throw VideoFileError(
        file: file, kind: .format,
        message: "not a readable video (\(what): \(reason.isEmpty ? "exit status \(status)" : reason))")
    }
    return output
  }

  /// `ffprobe -count_packets`: the number of packets in one stream (decord's frame count).
  static func countPackets(_ path: String, stream: Int, ffprobe: String) throws(VideoFileError) -> Int {
    let output = try run(
      ffprobe,
      [
        "-v", "error", "-select_streams", String(stream), "-count_packets", "-show_entries",
        "stream=nb_read_packets", "-of", "csv=p=0", "-i", "file:" + path,
      ], file: path, what: "ffprobe")
    let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if text == "N/A" { return 0 }  // no packets at all
    guard let count = Int(text.split(separator: ",").first ?? "") else {
      throw VideoFileError(
        file: path, kind: .format, message: "ffprobe could not count the frames ('\(text)')")
    }
    return count
  }

  /// The best video stream of an ffprobe document: not a cover picture, largest area, first on ties
  /// (what ffmpeg and decord pick for single-video files).
  static func videoStream(_ root: JSONValue, path: String) throws(VideoFileError) -> VideoInfo {
    let streams = root["streams"]?.elements ?? []
    let videos = streams.filter {
      $0["codec_type"]?.string == "video" && $0["disposition"]?["attached_pic"]?.int != 1
    }
    guard var best = videos.first else {
      let kinds = streams.map { "\($0["codec_type"]?.string ?? "?") \($0["codec_name"]?.string ?? "?")" }
      let listed = kinds.isEmpty ? "no streams" : "streams: " + kinds.joined(separator: ", ")
      throw VideoFileError(file: path, kind: .noVideoStream, message: "no video stream (\(listed))")
    }
    func area(_ s: JSONValue) -> Int { (s["width"]?.int ?? 0) * (s["height"]?.int ?? 0) }
    for stream in videos.dropFirst() where area(stream) > area(best) { best = stream }

    let width = best["width"]?.int ?? 0
    let height = best["height"]?.int ?? 0
    guard width > 0, height > 0 else {
      throw VideoFileError(
        file: path, kind: .format, message: "the video stream has no frame size (\(width)×\(height))")
    }
    let rational = { (key: String) in
      best[key]?.string.flatMap { VideoRational(parsing: $0) } ?? VideoRational(0, 0)
    }
    let number = { (value: JSONValue?) -> Double? in
      value?.string.flatMap { Double($0) } ?? value?.double
    }
    let averageRate = rational("avg_frame_rate")
    let realRate = rational("r_frame_rate")
    guard averageRate.isValid || realRate.isValid else {
      throw VideoFileError(file: path, kind: .format, message: "the video stream has no frame rate")
    }
    let declared = best["nb_frames"]?.string.flatMap { Int($0) } ?? best["nb_frames"]?.int ?? 0
    let duration = number(best["duration"]) ?? number(root["format"]?["duration"])
    return VideoInfo(
      path: path, streamIndex: best["index"]?.int ?? 0, codec: best["codec_name"]?.string ?? "unknown",
      width: width, height: height, pixelFormat: best["pix_fmt"]?.string, averageFrameRate: averageRate,
      realFrameRate: realRate, duration: duration, frameCount: declared, frameCountSource: .header,
      rotation: rotation(of: best), timeBase: rational("time_base"), startPTS: best["start_pts"]?.int)
  }

  /// Counterclockwise degrees in [0, 360): the display matrix's rotation as ffprobe reports it, else
  /// the legacy `rotate` tag (clockwise, hence negated).
  static func rotation(of stream: JSONValue) -> Int {
    var degrees = 0.0
    if let matrix = stream["side_data_list"]?.elements?.first(where: {
      $0["side_data_type"]?.string == "Display Matrix"
    }) {
      degrees = matrix["rotation"]?.double ?? 0
    } else if let tag = stream["tags"]?["rotate"]?.string, let clockwise = Double(tag) {
      degrees = -clockwise
    }
    let whole = Int(degrees.rounded()) % 360
    return whole < 0 ? whole + 360 : whole
  }
}

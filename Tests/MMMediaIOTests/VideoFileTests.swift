import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import Testing

/// Probing and frame decoding against decord 0.6.0 (goldens by Scripts/goldens/video.py).
@Suite("Video files") struct VideoFileTests {
  struct Expected: Sendable, CustomStringConvertible {
    var name: String
    var codec: String
    var size: (Int, Int)
    var rate: VideoRational
    var frames: Int
    var source: VideoInfo.FrameCountSource
    var duration: Double
    var description: String { name }
  }

  static let expected: [Expected] = [
    Expected(
      name: "h264_160x120_30fps.mp4", codec: "h264", size: (160, 120), rate: VideoRational(30, 1),
      frames: 150,
      source: .header, duration: 5),
    Expected(
      name: "mpeg4_96x128_12.5fps.mp4", codec: "mpeg4", size: (96, 128), rate: VideoRational(25, 2),
      frames: 50, source: .header, duration: 4),
    Expected(
      name: "h264_128x96_29.97fps.mkv", codec: "h264", size: (128, 96), rate: VideoRational(30000, 1001),
      frames: 105, source: .countedPackets, duration: 3.503),
    Expected(
      name: "h264_64x48_10fps_short.mp4", codec: "h264", size: (64, 48), rate: VideoRational(10, 1),
      frames: 15, source: .header, duration: 1.5),
  ]

  @Test(arguments: expected) func probeReportsTheStream(_ e: Expected) throws {
    let info = try VideoFile.probe(VideoFiles.fixture(e.name))
    #expect(info.codec == e.codec)
    #expect(info.width == e.size.0 && info.height == e.size.1)
    #expect(info.displayWidth == e.size.0 && info.displayHeight == e.size.1)
    #expect(info.averageFrameRate == e.rate && info.frameRate == e.rate)
    #expect(info.frameCount == e.frames && info.frameCountSource == e.source)
    #expect(abs((info.duration ?? -1) - e.duration) < 1e-6)
    #expect(info.rotation == 0 && info.streamIndex == 0 && info.pixelFormat == "yuv420p")
  }

  /// decord's len, fps, frame timestamps, the bytes of selected frames (exact) and a fingerprint of
  /// every frame (exact).
  @Test(arguments: VideoFiles.decodable.map { $0.0 + "." + $0.1 })
  func framesMatchDecord(_ name: String) throws {
    let stem = String(name[..<name.lastIndex(of: ".")!])
    let golden = try VideoFiles.json("\(stem).json")
    let index = try VideoFile.index(VideoFiles.fixture(name))
    #expect(index.frameCount == golden["frame_count"]?.int)
    #expect(index.info.framesPerSecond == golden["fps"]?.double)

    let stamps = try VideoFiles.npy("\(stem)_timestamps.npy")  // f32 [N, 2] (start, stop)
    let starts = stride(from: 0, to: stamps.count, by: 2).map { stamps.floats()[$0] }
    #expect(starts.count == index.frameCount)
    let worst = zip(index.timestamps, starts).map { abs(Float($0) - $1) }.max() ?? 0
    #expect(worst <= 1e-6, "timestamps differ from decord's by \(worst) s")

    // Every frame, streamed: fingerprints equal decord's; the golden frames byte for byte.
    let fingerprints = try VideoFiles.npy("\(stem)_fingerprints.npy").scalars(Int64.self)
    let indices = golden["frame_indices"]?.ints ?? []
    let expected = try VideoFiles.npy("\(stem)_frames.npy").scalars(UInt8.self)
    var picked: [UInt8] = []
    let reader = try VideoFrameReader(index: index)
    var count = 0
    while let frame = try reader.next() {
      #expect(frame.index == count && frame.timestamp == index.timestamps[count])
      #expect(frame.pixels.shape == [index.info.height, index.info.width, 3] && frame.pixels.dtype == .u8)
      let golden = Array(fingerprints[(2 * count)..<(2 * count + 2)])
      #expect(videoFingerprint(frame.pixels) == golden, "frame \(count)")
      if indices.contains(count) { picked += try frame.pixels.scalars(UInt8.self) }
      count += 1
    }
    #expect(count == index.frameCount)
    #expect(picked == expected, "frames \(indices) differ from decord's get_batch")
  }

  @Test func selectionsPickTheRightFrames() throws {
    let path = try VideoFiles.fixture("h264_160x120_30fps.mp4")
    let index = try VideoFile.index(path)
    let fingerprints = try VideoFiles.npy("h264_160x120_30fps_fingerprints.npy").scalars(Int64.self)
    func check(_ selection: FrameSelection, _ expected: [Int]) throws {
      let frames = try VideoFrameReader(index: index, selection: selection).readAll()
      #expect(frames.map(\.index) == expected, "\(selection)")
      for frame in frames {
        let golden = Array(fingerprints[(2 * frame.index)..<(2 * frame.index + 2)])
        #expect(videoFingerprint(frame.pixels) == golden, "\(selection) frame \(frame.index)")
      }
    }
    try check(.indices([40, 12, 12, 13, 14, 149]), [12, 13, 14, 40, 149])
    try check(.every(37, start: 5), [5, 42, 79, 116])
    // 30 fps from 0 s: frame k starts at k/30 s; the frame on screen at t is ⌊30t⌋.
    try check(.timestamps([0, 1.0, 1.01, 4.999]), [0, 30, 149])
    try check(.indices([]), [])
  }

  @Test func planarFloatIsBytesOver255() throws {
    let path = try VideoFiles.fixture("mpeg4_96x128_12.5fps.mp4")
    let index = try VideoFile.index(path)
    let rgb = try VideoFile.frames(index, at: [31])[0].pixels
    let planar = try VideoFile.frames(index, at: [31], format: .planarFloat)[0].pixels
    #expect(planar.shape == [3, 128, 96] && planar.dtype == .f32)
    let bytes = try rgb.scalars(UInt8.self)
    let values = planar.floats()
    var same = true
    for c in 0..<3 {
      for p in 0..<(128 * 96) where values[c * 128 * 96 + p] != Float(bytes[3 * p + c]) / 255 {
        same = false
      }
    }
    #expect(same)
  }

  /// A display matrix of 90° (counterclockwise): ffmpeg autorotates, so frames are the unrotated
  /// clip's frames turned a quarter counterclockwise, 48×64. (decord 0.6.0 fails on this file.)
  @Test func rotatedVideoFramesComeOutUpright() throws {
    let info = try VideoFile.probe(VideoFiles.fixture("h264_64x48_rot90.mp4"))
    #expect(info.rotation == 90 && info.width == 64 && info.height == 48)
    #expect(info.displayWidth == 48 && info.displayHeight == 64)
    let turned = try VideoFile.frames(VideoFiles.fixture("h264_64x48_rot90.mp4"), at: [7])[0].pixels
    let plain = try VideoFile.frames(VideoFiles.fixture("h264_64x48_10fps_short.mp4"), at: [7])[0].pixels
    #expect(turned.shape == [64, 48, 3])
    let a = try turned.scalars(UInt8.self)
    let b = try plain.scalars(UInt8.self)
    var same = true
    // Counterclockwise quarter turn: turned[y][x] = plain[x][W − 1 − y] with W = 64.
    for y in 0..<64 {
      for x in 0..<48 {
        for c in 0..<3 where a[(y * 48 + x) * 3 + c] != b[(x * 64 + (63 - y)) * 3 + c] { same = false }
      }
    }
    #expect(same)
  }

  @Test func earlyStopEndsTheChild() throws {
    let path = try VideoFiles.fixture("h264_160x120_30fps.mp4")
    let reader = try VideoFrameReader(contentsOf: path)
    _ = try reader.next()
    _ = try reader.next()
    let pid = try #require(reader.childProcessID)
    #expect(!processIsGone(pid))
    reader.close()
    #expect(processIsGone(pid), "ffmpeg \(pid) is still there after close()")
    #expect(try reader.next() == nil)

    // Dropping a reader mid-stream ends its child too.
    var pidOfDropped: Int32 = 0
    do {
      let dropped = try VideoFrameReader(contentsOf: path, selection: .every(2))
      _ = try dropped.next()
      pidOfDropped = try #require(dropped.childProcessID)
    }
    #expect(processIsGone(pidOfDropped), "ffmpeg \(pidOfDropped) outlived its reader")
  }

  @Test func cancellationEndsTheChild() async throws {
    let path = try VideoFiles.fixture("h264_160x120_30fps.mp4")
    let outcome = await Task { () -> (Int32?, VideoFileError?) in
      var pid: Int32?
      do {
        let reader = try VideoFrameReader(contentsOf: path)
        _ = try reader.next()
        pid = reader.childProcessID
        withUnsafeCurrentTask { $0?.cancel() }
        _ = try reader.next()
        return (pid, nil)
      } catch {
        return (pid, error as? VideoFileError)
      }
    }.value
    #expect(outcome.1?.kind == .cancelled, "\(String(describing: outcome.1))")
    let pid = try #require(outcome.0)
    #expect(processIsGone(pid), "ffmpeg \(pid) outlived the cancelled task")
  }
}

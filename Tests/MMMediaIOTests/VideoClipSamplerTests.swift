import Foundation
import MMCore
import MMMediaIO
import MMTestSupport
import Testing

/// ImageBind's video preprocessing against `imagebind.data.load_and_transform_video_data` (decord
/// 0.6.0, pytorchvideo at ImageBind's pinned commit; Scripts/goldens/video.py).
/// Tolerance: ≤ 1e-5 max abs on the normalized values; clip times and frame indices exactly.
@Suite("Video clip sampling") struct VideoClipSamplerTests {
  static let tolerance: Float = 1e-5

  /// The golden script's small preset.
  static var small: VideoClipOptions {
    var o = VideoClipOptions()
    o.clipDuration = 1.5
    o.clipsPerVideo = 2
    o.framesPerClip = 3
    o.shortSide = 20
    o.cropSize = 14
    o.mean = [0.5, 0.25, 0.125].map { Float($0 as Double) }
    o.std = [0.2, 0.3, 0.4].map { Float($0 as Double) }
    return o
  }

  static var smallOneCrop: VideoClipOptions {
    var o = small
    o.spatialCrops = 1
    o.clipsPerVideo = 3
    o.clipDuration = 1
    return o
  }

  static func options(_ key: String) -> VideoClipOptions {
    switch key {
    case "small": return small
    case "small_one_crop": return smallOneCrop
    default: return .imageBind
    }
  }

  /// (stem, golden key) for every recorded preset.
  static let presets: [String] = [
    "h264_160x120_30fps/default", "h264_160x120_30fps/small", "mpeg4_96x128_12.5fps/default",
    "mpeg4_96x128_12.5fps/small", "mpeg4_96x128_12.5fps/small_one_crop", "h264_128x96_29.97fps/default",
    "h264_128x96_29.97fps/small", "h264_64x48_10fps_short/default", "h264_64x48_10fps_short/small",
  ]

  /// Clip windows (the Fractions rounded to Double) and frame indices, exactly — no video needed.
  @Test(arguments: presets) func clipsMatchImageBind(_ preset: String) throws {
    let parts = preset.split(separator: "/").map(String.init)
    let golden = try VideoFiles.json("\(parts[0]).json")
    let clips = try VideoClipSampler.clips(
      frameCount: try #require(golden["frame_count"]?.int),
      framesPerSecond: try #require(golden["fps"]?.double),
      options: Self.options(parts[1]))
    let expected = golden[parts[1]]?.elements ?? []
    #expect(clips.count == expected.count)
    for (clip, want) in zip(clips, expected) {
      #expect(
        clip.start == want["start"]?.double, "\(preset) start \(clip.start) vs \(want["start_fraction"]!)")
      #expect(clip.end == want["end"]?.double, "\(preset) end \(clip.end) vs \(want["end_fraction"]!)")
      #expect(clip.frameIndices == want["frames"]?.ints, "\(preset)")
    }
  }

  /// Windows where naive Double arithmetic (x·k/d + clip) rounds differently from pytorchvideo's
  /// Fractions — in the times only, or in the frames they select (e.g. 86 frames at 25 fps, 4 clips:
  /// naive 1.4400000000000002 s → frame 37, exact 1.44 s → frame 36).
  @Test func clipTimesAreExactWhereNaiveArithmeticIsNot() throws {
    let cases = try VideoFiles.json("clip_times.json").elements ?? []
    #expect(cases.count >= 40)
    for c in cases {
      let frames = try #require(c["frames"]?.int)
      let fps = VideoRational(try #require(c["fps_num"]?.int), try #require(c["fps_den"]?.int)).value
      var options = VideoClipOptions.imageBind
      options.clipsPerVideo = try #require(c["clips"]?.int)
      options.spacing = c["spacing"]?.string == "pytorchvideo015" ? .pytorchvideo015 : .lastClipAtEnd
      let clips = try VideoClipSampler.clips(frameCount: frames, framesPerSecond: fps, options: options)
      let label = "\(frames) frames at \(fps) fps, \(options.clipsPerVideo) clips, \(options.spacing)"
      #expect(clips.map(\.start) == c["starts"]?.doubles, "\(label)")
      #expect(clips.map(\.end) == c["ends"]?.doubles, "\(label)")
      let ranges = (c["ranges"]?.elements ?? []).map { $0.ints }
      #expect(clips.map { [$0.frameRange.lowerBound, $0.frameRange.upperBound] } == ranges, "\(label)")
    }
  }

  /// pytorchvideo 0.1.5 from PyPI spaces clips by max_start / clips (no end-aligned last clip).
  @Test(arguments: VideoFiles.decodable.map(\.0)) func legacySpacingMatchesPytorchvideo015(_ stem: String)
    throws
  {
    let golden = try VideoFiles.json("\(stem).json")
    var options = VideoClipOptions.imageBind
    options.spacing = .pytorchvideo015
    let clips = try VideoClipSampler.clips(
      frameCount: try #require(golden["frame_count"]?.int),
      framesPerSecond: try #require(golden["fps"]?.double),
      options: options)
    let expected = golden["legacy_default"]?.elements ?? []
    #expect(clips.map(\.start) == expected.compactMap { $0["start"]?.double })
    #expect(clips.map(\.end) == expected.compactMap { $0["end"]?.double })
  }

  @Test func temporalSubsampleMatchesTorchLinspace() throws {
    let cases = try VideoFiles.json("linspace.json").elements ?? []
    #expect(cases.count > 400)
    for c in cases {
      let (t, n) = (c["t"]!.int!, c["n"]!.int!)
      #expect(VideoClipSampler.temporalSubsample(count: t, samples: n) == c["indices"]?.ints, "T \(t) n \(n)")
    }
  }

  /// The default preset on three fixtures: rows/columns 0, 20, …, 220, 223 of every crop.
  @Test(arguments: ["h264_160x120_30fps.mp4", "mpeg4_96x128_12.5fps.mp4", "h264_128x96_29.97fps.mkv"])
  func imageBindPresetMatches(_ name: String) throws {
    let stem = String(name[..<name.lastIndex(of: ".")!])
    let output = try VideoClipSampler.sample(contentsOf: VideoFiles.fixture(name))
    #expect(output.shape == [15, 3, 2, 224, 224])
    let golden = try VideoFiles.json("\(stem).json")
    let stride = golden["stride"]?.ints ?? []
    let expected = try VideoFiles.npy("\(stem)_imagebind_strided.npy")
    #expect(expected.shape == [15, 3, 2, stride.count, stride.count])
    let all = output.floats()
    var picked: [Float] = []
    for plane in 0..<(15 * 3 * 2) {
      for y in stride { for x in stride { picked.append(all[plane * 224 * 224 + y * 224 + x]) } }
    }
    let difference = maxAbsDifference(picked, expected.floats())
    #expect(difference.value <= Self.tolerance, "\(name): \(differenceReport(picked, expected.floats()))")
  }

  /// The small presets in full (crop 14 of short side 20; one-crop and three-crop).
  @Test(arguments: [
    "h264_160x120_30fps/small", "mpeg4_96x128_12.5fps/small_one_crop", "h264_64x48_10fps_short/small",
  ])
  func smallPresetMatches(_ preset: String) throws {
    let parts = preset.split(separator: "/").map(String.init)
    let name = VideoFiles.decodable.first { $0.0 == parts[0] }.map { "\($0.0).\($0.1)" }!
    let output = try VideoClipSampler.sample(
      contentsOf: VideoFiles.fixture(name), options: Self.options(parts[1]))
    let expected = try VideoFiles.npy("\(parts[0])_\(parts[1]).npy")
    #expect(output.shape == expected.shape)
    guard output.shape == expected.shape else { return }
    let difference = maxAbsDifference(output.floats(), expected.floats())
    #expect(
      difference.value <= Self.tolerance, "\(preset): \(differenceReport(output.floats(), expected.floats()))"
    )
  }

  /// A 1.5 s video and 2 s clips: ImageBind repeats the whole video in every clip (matched above);
  /// `requireWholeClips` refuses it instead.
  @Test func shortVideoCanBeRefused() throws {
    let path = try VideoFiles.fixture("h264_64x48_10fps_short.mp4")
    let clips = try VideoClipSampler.clips(frameCount: 15, framesPerSecond: 10)
    #expect(clips.allSatisfy { $0.frameRange == 0..<15 && $0.frameIndices == [0, 14] })
    var strict = VideoClipOptions.imageBind
    strict.requireWholeClips = true
    let error = #expect(throws: VideoFileError.self) {
      _ = try VideoClipSampler.sample(contentsOf: path, options: strict)
    }
    #expect(error?.kind == .tooShort)
    #expect(error?.message.contains("shorter than one 2.0 s clip") == true, "\(String(describing: error))")
  }

  @Test func invalidOptionsAreRefused() throws {
    var options = VideoClipOptions.imageBind
    options.spatialCrops = 2
    options.framesPerClip = 0
    let error = #expect(throws: VideoFileError.self) {
      _ = try VideoClipSampler.clips(frameCount: 10, framesPerSecond: 10, options: options)
    }
    #expect(error?.kind == .invalidRequest)
    #expect(
      error?.message.contains("framesPerClip ≥ 1") == true && error?.message.contains("spatialCrops") == true)
    var huge = VideoClipOptions.imageBind
    huge.clipDuration = 1e300
    // As in Python: every clip starts at 0 and covers the whole video (no overflow, no trap).
    let whole = try VideoClipSampler.clips(frameCount: 10, framesPerSecond: 10, options: huge)
    #expect(whole.allSatisfy { $0.start == 0 && $0.end == 1e300 && $0.frameRange == 0..<10 })
    var big = VideoClipOptions.imageBind
    big.cropSize = 300
    let crop = #expect(throws: VideoFileError.self) {
      _ = try VideoClipSampler.sample(
        contentsOf: VideoFiles.fixture("h264_64x48_10fps_short.mp4"), options: big)
    }
    #expect(crop?.kind == .invalidRequest)
  }
}

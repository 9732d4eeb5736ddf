import Foundation
import MMCore
import MMWeights
import Testing

/// The media graphs in Graphs/ run through the `mmgraph` binary on real files and give the
/// reference implementations' tensors (goldens made by Scripts/goldens/*.py).
@Suite struct MediaGraphTests {
  /// Max |a − b| over two equally long arrays.
  static func maxError(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
  }

  /// A JSON golden of Tests/Goldens as a dictionary.
  static func jsonGolden(_ relative: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: CLI.path("Tests/Goldens/" + relative)))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
  }

  static func floats(_ value: Any?) -> [Float] { (value as? [Double] ?? []).map(Float.init) }

  /// Point-BERT grouping of the PLY fixture (6 float properties + colours) matches the numpy
  /// reference of Scripts/goldens/pointcloud.py: the same FPS centres and kNN indices, and
  /// neighbourhoods within 1e-6 (f32 rounding of the normalization).
  @Test func pointCloudGroupsMatchReference() throws {
    let golden = try Self.jsonGolden("pointcloud/sampling_normalized.json")
    let (groups, k) = (golden["groups"] as! Int, golden["k"] as! Int)
    for file in ["cloud_le.ply", "cloud_binary.pcd", "cloud.xyz"] {
      let out = CLI.temporaryFolder("pcgroups")
      let result = try CLI.run([
        "run", "Graphs/pointcloud-groups.json", "--input", "Tests/Fixtures/pointcloud/\(file)",
        "--set", "groups=\(groups)", "--set", "k=\(k)", "--out", out, "--no-cache",
      ])
      #expect(result.code == 0, "\(file): \(result.stderr)")
      let points = Self.floats(golden["points"])
      let centres = try CLI.npy(out + "/centres.npy")
      let fps = golden["fps"] as! [Int]
      #expect(centres.shape == [groups, 3])
      let expectedCentres = fps.flatMap { points[($0 * 3)..<($0 * 3 + 3)] }
      #expect(Self.maxError(centres.floats(), expectedCentres) <= 1e-6, "\(file)")
      let indices = try CLI.npy(out + "/indices.npy")
      #expect(try indices.scalars(Int32.self).map(Int.init) == golden["knn_indices"] as! [Int], "\(file)")
      let neighbourhoods = try CLI.npy(out + "/neighbourhoods.npy")
      #expect(neighbourhoods.shape == [groups, k, 3])
      #expect(
        Self.maxError(neighbourhoods.floats(), Self.floats(golden["neighbourhoods"])) <= 1e-6, "\(file)")
    }
  }

  /// More groups than points, and NaN coordinates: clear errors, non-zero exits, no outputs.
  @Test func pointCloudBadInput() throws {
    let out = CLI.temporaryFolder("pcbad")
    let tooMany = try CLI.run([
      "run", "Graphs/pointcloud-groups.json", "--input", "Tests/Fixtures/pointcloud/cloud.xyz", "--out", out,
      "--no-cache",
    ])
    #expect(tooMany.code == 1 && tooMany.stderr.contains("must not exceed"), "\(tooMany.stderr)")
    let nan = CLI.temporaryFolder("pcnan") + "/bad.xyz"
    _ = FileManager.default.createFile(atPath: nan, contents: Data("0 0 0\n1 nan 2\n".utf8))
    let bad = try CLI.run([
      "run", "Graphs/pointcloud-groups.json", "--input", nan, "--out", out, "--no-cache",
    ])
    #expect(bad.code == 2 && bad.stderr.contains("bad.xyz"), "\(bad.stderr)")
    #expect(CLI.files(in: out).isEmpty)
  }

  /// A file of ../shared/testdata (real recordings and photos); a missing one fails by name.
  static func shared(_ name: String) -> String {
    let path = CLI.path("../shared/testdata/" + name)
    if !FileManager.default.fileExists(atPath: path) { Issue.record("test file missing: \(path)") }
    return path
  }

  /// `--input car_audio.wav` → ImageBind's audio input [3, 1, 128, 204]; every 31st value within
  /// 1e-4 of ImageBind's `load_and_transform_audio_data` (Scripts/goldens/imagebind_audio.py).
  @Test(arguments: [("car_audio.wav", "car"), ("dog_audio.wav", "dog")])
  func imageBindAudioInput(_ file: String, _ golden: String) throws {
    let out = CLI.temporaryFolder("ibaudio")
    let result = try CLI.run([
      "run", "Graphs/imagebind-audio-input.json", "--input", Self.shared(file), "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let spectrograms = try CLI.npy(out + "/spectrograms.npy")
    #expect(spectrograms.shape == [3, 1, 128, 204])
    let values = spectrograms.floats()
    let got = stride(from: 0, to: values.count, by: 31).map { values[$0] }
    let expected = try CLI.npy(CLI.path("Tests/Goldens/audio/imagebind_\(golden)_sub.npy")).floats()
    #expect(got.count == expected.count)
    #expect(Self.maxError(got, expected) <= 1e-4, "\(file)")
  }

  /// `--input dog_image.jpg` → [3, 224, 224] bit-identical to torchvision on PIL (the CRC-32 and
  /// count of Scripts/goldens/image.py's digest), plus the cropped image as a PNG.
  @Test(arguments: ["car", "dog"]) func imageBindImageInput(_ name: String) throws {
    let out = CLI.temporaryFolder("ibimage")
    let result = try CLI.run([
      "run", "Graphs/imagebind-image-input.json", "--input", Self.shared("\(name)_image.jpg"), "--out", out,
      "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let pixels = try CLI.npy(out + "/pixels.npy")
    #expect(pixels.shape == [3, 224, 224] && pixels.dtype == .f32)
    let digest = try CLI.npy(CLI.path("Tests/Goldens/image/\(name)_imagebind_digest.npy")).scalars(Int64.self)
    let crc = pixels.floats().withUnsafeBytes { Self.crc32($0) }
    #expect(
      Int64(crc) == digest[0] && Int64(pixels.count) == digest[1], "\(name): tensor differs from torchvision")
    #expect(CLI.files(in: out) == ["cropped.png", "pixels.npy"])
  }

  /// zlib's CRC-32.
  static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return crc ^ 0xFFFF_FFFF
  }

  /// `--input clip.mp4` → ImageBind's video input [15, 3, 2, 224, 224]; a 20-pixel-strided sample
  /// within 1e-5 of ImageBind's `load_and_transform_video_data` (Scripts/goldens/video.py).
  @Test func imageBindVideoInput() throws {
    let out = CLI.temporaryFolder("ibvideo")
    let result = try CLI.run([
      "run", "Graphs/imagebind-video-input.json", "--input", "Tests/Fixtures/video/h264_160x120_30fps.mp4",
      "--out", out, "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    let clips = try CLI.npy(out + "/clips.npy")
    #expect(clips.shape == [15, 3, 2, 224, 224])
    let golden = try Self.jsonGolden("video/h264_160x120_30fps.json")
    let stride = golden["stride"] as! [Int]
    let expected = try CLI.npy(CLI.path("Tests/Goldens/video/h264_160x120_30fps_imagebind_strided.npy"))
      .floats()
    let values = clips.floats()
    var got: [Float] = []
    for outer in 0..<(15 * 3 * 2) {
      for y in stride { for x in stride { got.append(values[(outer * 224 + y) * 224 + x]) } }
    }
    #expect(got.count == expected.count)
    #expect(Self.maxError(got, expected) <= 1e-5)
    let info = try CLI.json(
      String(decoding: try Data(contentsOf: URL(fileURLWithPath: out + "/info.json")), as: UTF8.self))
    #expect(info["frames"]?.int == 150 && info["width"]?.int == 160 && info["codec"]?.string == "h264")
  }

  /// Frames stream through `video.frames` one packet at a time: every 10th of 150 frames.
  @Test func videoFramesStream() throws {
    let out = CLI.temporaryFolder("frames")
    let result = try CLI.run([
      "run", "Graphs/video-frames.json", "--input", "Tests/Fixtures/video/h264_160x120_30fps.mp4", "--out",
      out,
      "--no-cache",
    ])
    #expect(result.code == 0, "\(result.stderr)")
    #expect(try CLI.npy(out + "/count.npy").scalars(Int64.self) == [15])
    #expect(try CLI.npy(out + "/sum.npy").shape == [120, 160, 3])
  }

  /// Broken media fail before anything runs, naming the input and the file; nothing is written.
  @Test func brokenMediaAreRefused() throws {
    let folder = CLI.temporaryFolder("broken")
    let out = folder + "/out"
    func write(_ name: String, _ bytes: [UInt8]) -> String {
      let path = folder + "/" + name
      _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
      return path
    }
    let jpeg = try Data(contentsOf: URL(fileURLWithPath: Self.shared("car_image.jpg")))
    let cases: [(graph: String, path: String, says: String)] = [
      ("imagebind-audio-input", write("empty.wav", []), "empty.wav"),
      ("imagebind-audio-input", write("text.wav", Array("not audio".utf8)), "text.wav"),
      ("imagebind-image-input", write("cut.jpg", Array(jpeg.prefix(jpeg.count / 2))), "cut.jpg"),
      ("imagebind-image-input", write("png.jpg", Array("\u{89}PNG\r\n".utf8)), "png.jpg"),
      ("imagebind-video-input", write("text.mp4", Array("not a video".utf8)), "text.mp4"),
      (
        "imagebind-video-input",
        write(
          "sound.mp4",
          Array(try Data(contentsOf: URL(fileURLWithPath: CLI.path("Tests/Fixtures/video/audio_only.m4a"))))),
        "sound.mp4"
      ),
      (
        "pointcloud-groups", write("bad.ply", Array("ply\nformat ascii 1.0\nelement vertex 99999999\n".utf8)),
        "bad.ply"
      ),
    ]
    for (graph, path, says) in cases {
      let result = try CLI.run(["run", "Graphs/\(graph).json", "--input", path, "--out", out, "--no-cache"])
      #expect(result.code == 2 && result.stderr.contains(says), "\(graph) \(path): \(result.stderr)")
      #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
    }
    #expect(CLI.files(in: out).isEmpty)
  }
}

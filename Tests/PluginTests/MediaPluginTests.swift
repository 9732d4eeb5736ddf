import MMCore
import MMGraph
import Testing

@testable import AudioPlugin
@testable import PointCloudPlugin
@testable import TensorPlugin
@testable import TextPlugin
@testable import VideoPlugin
@testable import VisionPlugin

/// The modality plugins together: one registry without clashes, readers chosen by the declared
/// input type, and load-time type rules that refuse wrong inputs and options.
@Suite struct MediaPluginTests {
  static func registry() throws -> NodeRegistry {
    var registry = NodeRegistry()
    for plugin: any NodePlugin.Type in [
      TensorPlugin.self, TextPlugin.self, AudioPlugin.self, VisionPlugin.self, VideoPlugin.self,
      PointCloudPlugin.self,
    ] {
      try plugin.register(into: &registry)
    }
    return registry
  }

  static func rule(_ d: NodeDescriptor, _ inputs: [String: PortType], _ options: [String: JSONValue] = [:])
    throws(TypeRuleError) -> [String: PortType]
  {
    var values = options
    for option in d.options where values[option.name] == nil { values[option.name] = option.defaultValue }
    return try d.typeRule!(inputs, NodeOptions(values))
  }

  @Test func pluginsRegisterTogetherInTheirNamespaces() throws {
    let registry = try Self.registry()
    for (prefix, count) in [
      ("audio.", AudioPlugin.descriptors.count), ("image.", VisionPlugin.descriptors.count),
      ("video.", VideoPlugin.descriptors.count), ("pointcloud.", PointCloudPlugin.descriptors.count),
      ("text.", TextPlugin.descriptors.count),
    ] {
      #expect(registry.typeNames.filter { $0.hasPrefix(prefix) }.count == count, "\(prefix)")
    }
    var again = registry
    #expect(throws: RegistryError.self) { try AudioPlugin.register(into: &again) }
  }

  @Test func declaredTypePicksAmongSharedExtensions() throws {
    let registry = try Self.registry()
    #expect(registry.reader(forPath: "x.npy")?.name == "tensor")
    #expect(registry.reader(forPath: "x.npy", declared: .pointCloud)?.name == "pointcloud")
    #expect(registry.reader(forPath: "notes.TXT")?.name == "text")
    #expect(registry.reader(forPath: "scan.txt", declared: .pointCloud)?.name == "pointcloud")
    #expect(registry.reader(forPath: "dir.v2/clip.WAV")?.name == "audio")
    #expect(registry.reader(forPath: "photo.jpeg", declared: .image)?.name == "image")
    #expect(registry.reader(forPath: "movie.mkv")?.name == "video")
    #expect(registry.reader(forPath: "archive.tar.xyzzy") == nil)
    #expect(registry.reader(forPath: "dir.d/noextension") == nil)
    // One extension and kind twice is refused, naming both plugins.
    var copy = registry
    do {
      try copy.register(reader: PointCloudPlugin.fileReader, from: "other")
      Issue.record("a second pointcloud reader for .ply was accepted")
    } catch {
      #expect(error.message.contains("'other'") && error.message.contains("'pointcloud'"), "\(error)")
    }
  }

  @Test func typeRulesRefuseWrongInputs() throws {
    #expect(throws: TypeRuleError.self) {
      try Self.rule(AudioPlugin.descriptors.first { $0.type == "audio.fbank" }!, ["in": .image])
    }
    let fbank = try Self.rule(
      AudioPlugin.descriptors.first { $0.type == "audio.fbank" }!,
      ["in": .audio(sampleRate: 16000, channels: 1)],
      ["num_mel_bins": .number("128"), "use_energy": .bool(true)])
    #expect(fbank["out"] == .tensor(dtype: .f32, shape: [.symbol("_"), .fixed(129)]))
    let resample = try Self.rule(
      AudioPlugin.descriptors.first { $0.type == "audio.resample" }!,
      ["in": .audio(sampleRate: 44100, channels: 2)], ["rate": .number("16000")])
    #expect(resample["out"] == .audio(sampleRate: 16000, channels: 2))
    let clips = try Self.rule(
      AudioPlugin.descriptors.first { $0.type == "audio.imagebind_clips" }!,
      ["in": .audio(sampleRate: nil, channels: nil)])
    #expect(clips["out"] == .tensor(dtype: .f32, shape: [.fixed(3), .fixed(1), .fixed(128), .fixed(204)]))

    let resize = VisionPlugin.descriptors.first { $0.type == "image.resize" }!
    #expect(throws: TypeRuleError.self) { try Self.rule(resize, ["in": .image], ["size": .number("0")]) }
    #expect(throws: TypeRuleError.self) { try Self.rule(resize, ["in": .image], ["size": .string("big")]) }
    #expect(throws: TypeRuleError.self) {
      try Self.rule(
        resize, ["in": .image], ["size": .array([.number("2"), .number("3")]), "max_size": .number("9")])
    }
    #expect(throws: TypeRuleError.self) { try Self.rule(resize, ["in": .text], ["size": .number("4")]) }
    let toTensor = VisionPlugin.descriptors.first { $0.type == "image.to_tensor" }!
    #expect(throws: TypeRuleError.self) {
      try Self.rule(toTensor, ["in": .image], ["mean": .array([.number("0.5")]), "std": .array([])])
    }

    let video = VideoPlugin.descriptors.first { $0.type == "video.imagebind_clips" }!
    #expect(throws: TypeRuleError.self) {
      try Self.rule(video, ["in": .video], ["short_side": .number("100"), "crop": .number("224")])
    }
    let out = try Self.rule(video, ["in": .video], ["crops": .string("1")])
    #expect(
      out["out"] == .tensor(dtype: .f32, shape: [.fixed(5), .fixed(3), .fixed(2), .fixed(224), .fixed(224)]))

    let group = PointCloudPlugin.descriptors.first { $0.type == "pointcloud.group" }!
    #expect(throws: TypeRuleError.self) {
      try Self.rule(
        group, ["in": .tensor(dtype: .f32, shape: [.fixed(4)])], ["groups": .number("2"), "k": .number("2")])
    }
  }
}

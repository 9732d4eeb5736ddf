import Foundation
import Testing

/// Holds the module map of Documentation/Architecture.md: which project module may import which,
/// and a size cap per source file. Kernels never see models; the graph core never sees modalities.
@Suite("Architecture") struct ArchitectureTests {
  /// Project modules each target may import (toolchain modules are always allowed).
  static let allowedImports: [String: Set<String>] = [
    "MMCore": [],
    "MMKernels": ["MMCore", "CKernels"],
    "MMWeights": ["MMCore"],
    "MMMediaIO": ["MMCore", "MMKernels", "MMWeights", "CSndFile", "CImageCodecs"],
    "MMGraph": ["MMCore"],
    "MMRuntime": ["MMCore", "MMGraph"],
    "MMLLM": ["MMCore", "MMKernels", "MMWeights"],
    "MMChat": ["MMCore"],
    "MMTokenizers": ["MMCore", "CZlib"],
    "MMNN": ["MMCore", "MMKernels", "MMWeights"],
    "MMModels": ["MMCore", "MMKernels", "MMWeights", "MMNN", "MMTokenizers"],
    // Plugins are keyed by their folder under Plugins/; no plugin imports another.
    "Tensor": ["MMCore", "MMGraph", "MMKernels", "MMWeights"],
    "Audio": ["MMCore", "MMGraph", "MMMediaIO"],
    "PointCloud": ["MMCore", "MMGraph", "MMMediaIO"],
    "Text": ["MMCore", "MMGraph", "MMMediaIO"],
    "Video": ["MMCore", "MMGraph", "MMMediaIO"],
    "Vision": ["MMCore", "MMGraph", "MMMediaIO"],
    "LLM": ["MMCore", "MMGraph", "MMWeights", "MMLLM", "MMTokenizers", "MMChat"],
    "Speech": ["MMCore", "MMGraph", "MMMediaIO", "MMModels"],
    "Sentence": ["MMCore", "MMGraph", "MMModels", "MMNN", "MMTokenizers"],
    "Space": ["MMCore", "MMGraph", "MMWeights"],
    "ImageBind": ["MMCore", "MMGraph", "MMModels", "MMNN"],
    "CLIP": ["MMCore", "MMGraph", "MMModels", "MMTokenizers"],
    // New modalities on the public model API only: MMModels, MMNN, MMGraph (+ core, weights).
    "Depth": ["MMCore", "MMGraph", "MMModels", "MMNN", "MMWeights"],
    "Thermal": ["MMCore", "MMGraph", "MMModels", "MMNN", "MMWeights"],
    "IMU": ["MMCore", "MMGraph", "MMModels", "MMNN", "MMWeights"],
    "NExTGPT": ["MMCore", "MMGraph", "MMModels", "MMWeights"],
    "BLIP2": ["MMCore", "MMGraph", "MMModels", "MMMediaIO"],
    "LLaVA": ["MMCore", "MMGraph", "MMMediaIO", "MMModels"],
    "Idefics": ["MMCore", "MMGraph", "MMMediaIO", "MMModels"],
    "MMBuiltins": [
      "MMGraph", "TensorPlugin", "TextPlugin", "AudioPlugin", "VisionPlugin", "VideoPlugin",
      "PointCloudPlugin", "LLMPlugin", "SpeechPlugin", "SentencePlugin", "SpacePlugin", "ImageBindPlugin",
      "CLIPPlugin", "DepthPlugin", "ThermalPlugin", "IMUPlugin", "NExTGPTPlugin", "BLIP2Plugin",
      "LLaVAPlugin", "IdeficsPlugin",
    ],
    "mmgraph": [
      "MMCore", "MMKernels", "MMWeights", "MMMediaIO", "MMGraph", "MMRuntime", "MMBuiltins", "MMLLM",
      "MMModels",
    ],
  ]
  static let toolchainModules: Set<String> = [
    "Foundation", "FoundationEssentials", "Dispatch", "Synchronization", "Glibc", "Darwin", "Musl",
  ]
  static let maximumLines = 800

  static var root: URL {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
    }
    return url
  }

  /// (target, file URL) for every Swift file under Sources/ and Plugins/.
  static func sourceFiles() -> [(target: String, url: URL)] {
    var files: [(String, URL)] = []
    for folder in ["Sources", "Plugins"] {
      let base = root.appendingPathComponent(folder)
      guard let targets = try? FileManager.default.contentsOfDirectory(atPath: base.path) else { continue }
      for target in targets {
        let targetURL = base.appendingPathComponent(target)
        let enumerator = FileManager.default.enumerator(at: targetURL, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
          if url.pathExtension == "swift" { files.append((target, url)) }
        }
      }
    }
    return files
  }

  @Test func everyTargetIsInTheMap() {
    let targets = Set(Self.sourceFiles().map(\.target))
    #expect(!targets.isEmpty, "no sources found under \(Self.root.path)")
    for target in targets {
      #expect(Self.allowedImports[target] != nil, "target \(target) is missing from the architecture map")
    }
  }

  @Test func importsFollowTheModuleMap() throws {
    for (target, url) in Self.sourceFiles() {
      let allowed = Self.allowedImports[target, default: []]
      let text = try String(contentsOf: url, encoding: .utf8)
      for line in text.split(separator: "\n") {
        let words = line.split(separator: " ").map(String.init)
        guard let index = words.firstIndex(of: "import"), index <= 1, index + 1 < words.count,
          index == 0 || words[0].hasPrefix("@")
        else { continue }
        let module = words[index + 1]
        #expect(
          Self.toolchainModules.contains(module) || allowed.contains(module),
          "\(url.lastPathComponent) in \(target) imports \(module); allowed: \(allowed.sorted())")
      }
    }
  }

  @Test func filesStaySmall() throws {
    for (_, url) in Self.sourceFiles() {
      let lines = try String(contentsOf: url, encoding: .utf8).split(
        separator: "\n", omittingEmptySubsequences: false
      ).count
      #expect(
        lines <= Self.maximumLines, "\(url.path) has \(lines) lines (cap \(Self.maximumLines)): split it")
    }
  }
}

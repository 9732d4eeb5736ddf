// swift-tools-version: 6.0
// mmgraph — an any-to-any multimodal graph toolkit. No third-party Swift packages: toolchain only.
import Foundation
import PackageDescription

// MARK: - CPU target for the kernels
//
// Swift's SIMD types only become vector FMA instructions when the C importer is told the target
// CPU; without it every `addingProduct` lane is a scalar `fmaf` call (~100× slower GEMM).
// Default: x86-64-v3 (AVX2 + FMA + F16C: Intel Haswell 2013+, AMD Zen 1+). Override with
// `MMGRAPH_MARCH=x86-64-v4 swift build …` (AVX-512) or `MMGRAPH_MARCH=native`, or
// `MMGRAPH_MARCH=none` for a portable (slow) build. On arm64 NEON is baseline and no flag is needed.
let march: String? = {
  let requested = ProcessInfo.processInfo.environment["MMGRAPH_MARCH"]
  if requested == "none" { return nil }
  #if arch(x86_64)
    return requested ?? "x86-64-v3"
  #else
    return requested
  #endif
}()
let kernelFlags: [SwiftSetting] =
  march.map { [.unsafeFlags(["-Xcc", "-march=\($0)"]), .define("MMGRAPH_MARCH_SET")] } ?? []
let kernelCFlags: [CSetting] = march.map { [.unsafeFlags(["-march=\($0)"])] } ?? []

let package = Package(
  name: "mmgraph",
  products: [
    .executable(name: "mmgraph", targets: ["mmgraph"]),
    .library(name: "MMCore", targets: ["MMCore"]),
    .library(name: "MMKernels", targets: ["MMKernels"]),
    .library(name: "MMWeights", targets: ["MMWeights"]),
    .library(name: "MMMediaIO", targets: ["MMMediaIO"]),
    .library(name: "MMGraph", targets: ["MMGraph"]),
    .library(name: "MMRuntime", targets: ["MMRuntime"]),
    .library(name: "MMLLM", targets: ["MMLLM"]),
    .library(name: "MMChat", targets: ["MMChat"]),
    .library(name: "MMTokenizers", targets: ["MMTokenizers"]),
    .library(name: "MMNN", targets: ["MMNN"]),
    .library(name: "MMModels", targets: ["MMModels"]),
  ],
  targets: [
    // MARK: Libraries (one-way: MMCore ← MMKernels ← MMWeights)
    .target(name: "MMCore", swiftSettings: kernelFlags),
    // Integer dot products for decoding (AVX2 byte multiply-adds Swift cannot reach); C, with a
    // scalar fallback when built without AVX2. Only MMKernels imports it.
    .target(name: "CKernels", cSettings: kernelCFlags),
    .target(name: "MMKernels", dependencies: ["MMCore", "CKernels"], swiftSettings: kernelFlags),
    .target(name: "MMWeights", dependencies: ["MMCore"], swiftSettings: kernelFlags),
    .systemLibrary(
      name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
    // libpng and libjpeg-turbo report errors by longjmp, which Swift cannot catch: a small C shim
    // decodes into caller buffers and returns an error code and message instead.
    .target(
      name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
    .target(
      name: "MMMediaIO", dependencies: ["MMCore", "MMKernels", "MMWeights", "CSndFile", "CImageCodecs"],
      swiftSettings: kernelFlags),
    .target(name: "MMGraph", dependencies: ["MMCore"]),
    .target(name: "MMRuntime", dependencies: ["MMCore", "MMGraph"]),
    .target(name: "MMChat", dependencies: ["MMCore"]),
    // zlib reads CLIP's gzipped BPE vocabulary (bpe_simple_vocab_16e6.txt.gz).
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .target(name: "MMTokenizers", dependencies: ["MMCore", "CZlib"]),
    .target(name: "MMLLM", dependencies: ["MMCore", "MMKernels", "MMWeights"], swiftSettings: kernelFlags),
    // Layers on the kernels (Linear, LayerNorm, attention, blocks) and the models built of them.
    .target(name: "MMNN", dependencies: ["MMCore", "MMKernels", "MMWeights"], swiftSettings: kernelFlags),
    .target(
      name: "MMModels", dependencies: ["MMCore", "MMKernels", "MMWeights", "MMNN", "MMTokenizers"],
      swiftSettings: kernelFlags),

    // MARK: Plugins (in-tree; one folder each under Plugins/, listed once in MMBuiltins)
    .target(
      name: "TensorPlugin", dependencies: ["MMCore", "MMGraph", "MMKernels", "MMWeights"],
      path: "Plugins/Tensor", swiftSettings: kernelFlags),
    .target(
      name: "AudioPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO"], path: "Plugins/Audio",
      swiftSettings: kernelFlags),
    .target(name: "TextPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO"], path: "Plugins/Text"),
    .target(
      name: "PointCloudPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO"], path: "Plugins/PointCloud",
      swiftSettings: kernelFlags),
    .target(
      name: "VisionPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO"], path: "Plugins/Vision",
      swiftSettings: kernelFlags),
    .target(
      name: "VideoPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO"], path: "Plugins/Video",
      swiftSettings: kernelFlags),
    .target(
      name: "LLMPlugin", dependencies: ["MMCore", "MMGraph", "MMWeights", "MMLLM", "MMTokenizers", "MMChat"],
      path: "Plugins/LLM", swiftSettings: kernelFlags),
    .target(
      name: "SpeechPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO", "MMModels"],
      path: "Plugins/Speech", swiftSettings: kernelFlags),
    .target(
      name: "CLIPPlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMTokenizers"],
      path: "Plugins/CLIP",
      swiftSettings: kernelFlags),
    .target(
      name: "SentencePlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMNN", "MMTokenizers"],
      path: "Plugins/Sentence", swiftSettings: kernelFlags),
    .target(name: "SpacePlugin", dependencies: ["MMCore", "MMGraph", "MMWeights"], path: "Plugins/Space"),
    .target(
      name: "ImageBindPlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMNN"],
      path: "Plugins/ImageBind",
      swiftSettings: kernelFlags),
    // Depth, thermal and IMU: modalities added on the public model API only (MMModels, MMNN).
    .target(
      name: "DepthPlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMNN", "MMWeights"],
      path: "Plugins/Depth", swiftSettings: kernelFlags),
    .target(
      name: "ThermalPlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMNN", "MMWeights"],
      path: "Plugins/Thermal", swiftSettings: kernelFlags),
    .target(
      name: "IMUPlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMNN", "MMWeights"],
      path: "Plugins/IMU", swiftSettings: kernelFlags),
    .target(
      name: "BLIP2Plugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMMediaIO"],
      path: "Plugins/BLIP2", swiftSettings: kernelFlags),
    .target(
      name: "LLaVAPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO", "MMModels"],
      path: "Plugins/LLaVA",
      swiftSettings: kernelFlags),
    .target(
      name: "IdeficsPlugin", dependencies: ["MMCore", "MMGraph", "MMMediaIO", "MMModels"],
      path: "Plugins/Idefics", swiftSettings: kernelFlags),
    .target(
      name: "NExTGPTPlugin", dependencies: ["MMCore", "MMGraph", "MMModels", "MMWeights"],
      path: "Plugins/NExTGPT", swiftSettings: kernelFlags),
    .target(
      name: "MMBuiltins",
      dependencies: [
        "MMGraph", "TensorPlugin", "TextPlugin", "AudioPlugin", "VisionPlugin", "VideoPlugin",
        "PointCloudPlugin", "LLMPlugin", "SpeechPlugin", "SentencePlugin", "SpacePlugin", "ImageBindPlugin",
        "CLIPPlugin", "DepthPlugin", "ThermalPlugin", "IMUPlugin", "NExTGPTPlugin", "BLIP2Plugin",
        "LLaVAPlugin", "IdeficsPlugin",
      ]),

    // MARK: The CLI
    // `--export-dynamic`: out-of-tree plugins (shared libraries loaded with --plugin) resolve
    // MMGraph's symbols from the executable, so both sides share one copy of every type.
    .executableTarget(
      name: "mmgraph",
      dependencies: [
        "MMCore", "MMKernels", "MMWeights", "MMMediaIO", "MMGraph", "MMRuntime", "MMBuiltins", "MMLLM",
        "MMModels",
      ],
      swiftSettings: kernelFlags,
      linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"], .when(platforms: [.linux]))]),

    // MARK: Tests
    .target(
      name: "MMTestSupport", dependencies: ["MMCore"], path: "Tests/MMTestSupport"),
    .testTarget(name: "MMCoreTests", dependencies: ["MMCore", "MMTestSupport"]),
    .testTarget(
      name: "MMKernelsTests", dependencies: ["MMCore", "MMKernels", "CKernels", "MMTestSupport"],
      swiftSettings: kernelFlags),
    .testTarget(
      name: "MMWeightsTests", dependencies: ["MMCore", "MMWeights", "MMTestSupport"]),
    .testTarget(
      name: "MMMediaIOTests",
      dependencies: ["MMMediaIO", "MMCore", "MMKernels", "MMWeights", "MMTestSupport"],
      swiftSettings: kernelFlags),
    .testTarget(
      name: "MMGraphTests", dependencies: ["MMGraph", "MMCore", "MMTestSupport"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "MMRuntimeTests", dependencies: ["MMRuntime", "MMGraph", "MMCore", "MMKernels", "MMTestSupport"],
      swiftSettings: kernelFlags),
    .testTarget(
      name: "CLITests", dependencies: ["mmgraph", "MMCore", "MMWeights", "MMRuntime", "MMGraph"]),
    .testTarget(
      name: "PluginTests",
      dependencies: [
        "TensorPlugin", "TextPlugin", "AudioPlugin", "VisionPlugin", "VideoPlugin", "PointCloudPlugin",
        "SpeechPlugin", "SentencePlugin", "SpacePlugin", "ImageBindPlugin", "DepthPlugin", "ThermalPlugin",
        "IMUPlugin", "BLIP2Plugin", "LLaVAPlugin", "IdeficsPlugin", "MMModels", "MMNN", "MMGraph",
        "MMMediaIO", "MMWeights",
        "MMCore", "MMTestSupport",
      ]),
    .testTarget(name: "MMChatTests", dependencies: ["MMChat", "MMCore"]),
    .testTarget(name: "MMTokenizersTests", dependencies: ["MMTokenizers", "MMCore"]),
    .testTarget(
      name: "MMLLMTests", dependencies: ["MMLLM", "MMCore", "MMKernels", "MMWeights", "MMTestSupport"],
      swiftSettings: kernelFlags),
    .testTarget(
      name: "MMNNTests", dependencies: ["MMNN", "MMCore", "MMWeights", "MMTestSupport"],
      swiftSettings: kernelFlags),
    .testTarget(
      name: "MMModelsTests",
      dependencies: [
        "MMModels", "MMLLM", "MMNN", "MMCore", "MMKernels", "MMWeights", "MMTokenizers", "MMMediaIO",
        "MMTestSupport",
      ],
      swiftSettings: kernelFlags),
    .testTarget(
      name: "ArchitectureTests", dependencies: [], path: "Tests/ArchitectureTests"),
  ]
)

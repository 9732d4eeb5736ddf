// swift-tools-version: 6.0
// An out-of-tree mmgraph plugin: a shared library that the stock `mmgraph` loads with
// `--plugin .build/debug/libExamplePlugin.so` (or from a folder in MMGRAPH_PLUGIN_PATH).
//
// It is compiled against the .swiftmodule files of an mmgraph build and does NOT link MMGraph,
// MMCore or MMKernels: their symbols stay undefined and bind to the host executable's own copies
// when it is loaded, so both sides share one `NodeRegistry`, `Value` and `Tensor`. Build it with
// the same toolchain and configuration as mmgraph:
//
//     MMGRAPH_BUILD=$(cd ../.. && swift build --show-bin-path) swift build
//
// See Documentation/Plugins.md.
import Foundation
import PackageDescription

let environment = ProcessInfo.processInfo.environment
let mmgraphBuild: String = {
  if let path = environment["MMGRAPH_BUILD"], !path.isEmpty { return path }
  // Default: the debug build of the mmgraph checkout this example lives in.
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
  return root.appendingPathComponent(".build/debug").path
}()

let package = Package(
  name: "ExamplePlugin",
  products: [
    .library(name: "ExamplePlugin", type: .dynamic, targets: ["ExamplePlugin"])
  ],
  targets: [
    .target(
      name: "ExamplePlugin",
      swiftSettings: [.unsafeFlags(["-I", mmgraphBuild + "/Modules"])],
      // The host's symbols are resolved at dlopen time.
      linkerSettings: [.unsafeFlags(["-Xlinker", "--allow-shlib-undefined"])])
  ]
)

import Foundation
import MMCore
import Testing

/// The out-of-tree plugin: Examples/ExamplePlugin is built with `swift build` against this build's
/// modules, and the stock `mmgraph` loads it with `--plugin` or `MMGRAPH_PLUGIN_PATH`.
@Suite(.serialized) struct PluginTests {
  /// Builds the example plugin once; returns the .so path.
  static let built: Result<String, Error> = Result {
    // One build folder per mmgraph build folder: a plugin is only valid for the build it saw.
    let tag = String(
      CLI.binFolder.path.unicodeScalars.map { $0.properties.isAlphabetic ? Character($0) : "-" })
    let scratch = NSTemporaryDirectory() + "mmgraph-example-plugin" + tag
    let configuration = CLI.binFolder.lastPathComponent == "release" ? "release" : "debug"
    // SwiftPM does not see the mmgraph modules change under it: a plugin left from an earlier
    // build of them would load with the old layouts and crash, so it is always built afresh.
    try? FileManager.default.removeItem(atPath: scratch)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "swift", "build", "--package-path", CLI.path("Examples/ExamplePlugin"), "--scratch-path", scratch, "-c",
      configuration,
    ]
    var environment = ProcessInfo.processInfo.environment
    environment["MMGRAPH_BUILD"] = CLI.binFolder.path
    process.environment = environment
    let log = Pipe()
    process.standardOutput = log
    process.standardError = log
    try process.run()
    let output = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let library = "\(scratch)/\(configuration)/libExamplePlugin.so"
    guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: library) else {
      throw PluginBuildError(description: "building Examples/ExamplePlugin failed:\n\(output)")
    }
    return library
  }

  struct PluginBuildError: Error, CustomStringConvertible { let description: String }

  static let doubleGraph = """
    {"mmgraph": 1, "inputs": {"x": "tensor<f32>[2, 3]"},
     "nodes": {"twice": {"type": "example.double", "inputs": {"x": "$x"}}},
     "outputs": {"y": "twice.out"}}
    """

  @Test func loadsAndRunsTheExamplePlugin() throws {
    let library = try Self.built.get()
    let catalog = try CLI.run(["nodes", "--json", "--plugin", library])
    #expect(catalog.code == 0, "\(catalog.stderr)")
    let entry = try CLI.json(catalog.stdout)["nodes"]?.elements?.first {
      $0["type"]?.string == "example.double"
    }
    #expect(entry?["plugin"]?.string == "example", "\(catalog.stdout.prefix(300))")

    let graph = CLI.writeGraph(Self.doubleGraph)
    let out = CLI.temporaryFolder("plugin")
    let run = try CLI.run([
      "run", graph, "--input", "x=\(CLI.path("Tests/Fixtures/a.npy"))", "--out", out, "--plugin", library,
      "--no-cache",
    ])
    #expect(run.code == 0, "\(run.stderr)")
    let x = try CLI.npy(CLI.path("Tests/Fixtures/a.npy")).scalars(Float.self)
    #expect(try CLI.npy(out + "/y.npy").scalars(Float.self) == x.map { $0 * 2 })

    // From a plugin folder in the environment.
    let folder = CLI.temporaryFolder("plugin-dir")
    try FileManager.default.copyItem(atPath: library, toPath: folder + "/libExamplePlugin.so")
    let fromEnvironment = try CLI.run(
      ["nodes", "example.double"], environment: ["MMGRAPH_PLUGIN_PATH": folder])
    #expect(
      fromEnvironment.code == 0 && fromEnvironment.stdout.contains("example.double"),
      "\(fromEnvironment.stderr)")

    // Without the plugin the node type is unknown (exit 2).
    let without = try CLI.run(["check", graph])
    #expect(without.code == 2 && without.stderr.contains("example.double"), "\(without.stderr)")
  }

  @Test func duplicateRegistrationFails() throws {
    let library = try Self.built.get()
    let copy = CLI.temporaryFolder("plugin-copy") + "/libCopy.so"
    try FileManager.default.copyItem(atPath: library, toPath: copy)
    let result = try CLI.run(["nodes", "--plugin", library, "--plugin", copy])
    #expect(result.code == 2)
    #expect(result.stderr.contains("already registered"), "\(result.stderr)")
  }

  @Test func brokenPluginsFailClearly() throws {
    let missing = try CLI.run(["nodes", "--plugin", "/nonexistent/libNope.so"])
    #expect(missing.code == 2 && missing.stderr.contains("no such file"), "\(missing.stderr)")

    let text = CLI.temporaryFolder("not-a-library") + "/libText.so"
    _ = FileManager.default.createFile(atPath: text, contents: Data("not an ELF file\n".utf8))
    let notLibrary = try CLI.run(["nodes", "--plugin", text])
    #expect(
      notLibrary.code == 2 && notLibrary.stderr.contains("cannot load the shared library"),
      "\(notLibrary.stderr)")

    // A real shared library without the entry point: one this test process has loaded, else the
    // C math library at its usual places.
    let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
    let mapped = maps.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
      .first { $0.hasPrefix("/") && ($0.hasSuffix(".so") || $0.contains(".so.")) }
    let wellKnown = [
      "/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
      "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6", "/lib64/libm.so.6",
    ].first { FileManager.default.fileExists(atPath: $0) }
    let system = mapped ?? wellKnown
    if let system {
      let noEntry = try CLI.run(["nodes", "--plugin", system])
      #expect(
        noEntry.code == 2 && noEntry.stderr.contains("does not export mmgraph_register_plugin"),
        "\(noEntry.stderr)")
    } else {
      Issue.record("no shared library found in /proc/self/maps")
    }

    let noFolder = try CLI.run(["nodes"], environment: ["MMGRAPH_PLUGIN_PATH": "/nonexistent-plugins"])
    #expect(noFolder.code == 2 && noFolder.stderr.contains("MMGRAPH_PLUGIN_PATH"), "\(noFolder.stderr)")
  }
}

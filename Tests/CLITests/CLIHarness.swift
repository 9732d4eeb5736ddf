import Foundation
import MMCore
import MMWeights
import Testing

/// Runs the built `mmgraph` binary (next to the test bundle, or `MMGRAPH_BIN`) as a child
/// process and captures its exit code, stdout and stderr.
enum CLI {
  struct Result {
    var code: Int32
    var stdout: String
    var stderr: String
  }

  /// The package root (the folder holding Package.swift).
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
    }
    return url
  }()

  /// The build folder this test bundle runs from (`.build/debug`), holding `mmgraph` and `Modules/`.
  static let binFolder: URL = {
    if let bin = ProcessInfo.processInfo.environment["MMGRAPH_BIN"] {
      return URL(fileURLWithPath: bin).deletingLastPathComponent()
    }
    var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("mmgraph").path) {
        return url
      }
    }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  }()

  static var binary: String { binFolder.appendingPathComponent("mmgraph").path }

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// Runs `mmgraph arguments…` from the package root with a private cache folder; `environment`
  /// adds variables. `onStart` gets the process (to send signals).
  static func run(
    _ arguments: [String], environment: [String: String] = [:], timeout: Double = 120,
    onStart: ((Process, FileHandle) -> Void)? = nil
  ) throws -> Result {
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      Issue.record("mmgraph binary not found at \(binary); build it (swift build) or set MMGRAPH_BIN")
      return Result(code: -1, stdout: "", stderr: "")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.currentDirectoryURL = root
    var env = ProcessInfo.processInfo.environment
    env["XDG_CACHE_HOME"] = NSTemporaryDirectory() + "mmgraph-cli-tests-xdg"
    env["MMGRAPH_PLUGIN_PATH"] = nil
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so a full pipe never blocks the child.
    let stdoutBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
      stdoutBox.data = out.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    var stderrData = Data()
    if let onStart {
      onStart(process, err.fileHandleForReading)
    }
    stderrData.append(err.fileHandleForReading.readDataToEndOfFile())
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
      process.terminate()
      Issue.record("mmgraph \(arguments.joined(separator: " ")) timed out after \(timeout) s")
    }
    process.waitUntilExit()
    group.wait()
    return Result(
      code: process.terminationStatus, stdout: String(decoding: stdoutBox.data, as: UTF8.self),
      stderr: String(decoding: stderrData, as: UTF8.self))
  }

  final class Box: @unchecked Sendable {
    var data = Data()
  }

  /// A fresh empty folder.
  static func temporaryFolder(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "mmgraph-cli-\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Writes `text` to a new file in a fresh folder and returns its path.
  static func writeGraph(_ text: String, name: String = "graph.json") -> String {
    let path = temporaryFolder("graph") + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  static func npy(_ path: String) throws -> Tensor { try NPY.read(contentsOf: path) }

  static func files(in folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  static func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text, file: "stdout").root }
}

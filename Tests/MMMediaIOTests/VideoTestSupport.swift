import Foundation
import MMCore
import MMMediaIO
import MMWeights

/// Fixtures (Tests/Fixtures/video) and goldens (Tests/Goldens/video) of the video tests, both
/// written by Scripts/goldens/video.py.
enum VideoFiles {
  static let root: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url = url.deletingLastPathComponent()
    }
    return url
  }()

  /// The four decodable fixtures the goldens cover: (stem, extension).
  static let decodable: [(String, String)] = [
    ("h264_160x120_30fps", "mp4"), ("mpeg4_96x128_12.5fps", "mp4"), ("h264_128x96_29.97fps", "mkv"),
    ("h264_64x48_10fps_short", "mp4"),
  ]

  static func fixture(_ name: String) throws -> String {
    let path = root.appendingPathComponent("Tests/Fixtures/video/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else { throw VideoTestFileMissing(path: path) }
    return path
  }

  static func goldenPath(_ name: String) throws -> String {
    let path = root.appendingPathComponent("Tests/Goldens/video/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else { throw VideoTestFileMissing(path: path) }
    return path
  }

  /// A `.npy` golden as a tensor.
  static func npy(_ name: String) throws -> Tensor {
    try NPY.read(contentsOf: goldenPath(name))
  }

  /// A JSON golden's root value.
  static func json(_ name: String) throws -> JSONValue {
    let path = try goldenPath(name)
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try JSONParser.parse([UInt8](data), file: path, recordLocations: false).root
  }

  /// A scratch path unique to this process and `name`.
  static func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("mmgraph-video-\(getpid())-\(name)").path
  }

  /// Writes the first `fraction` of `source` to a scratch file.
  static func truncatedCopy(of source: String, fraction: Double, name: String) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: source))
    let path = temporaryPath(name)
    try data.prefix(Int(Double(data.count) * fraction)).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// Runs ffmpeg with `arguments` (for fixtures derived at test time); throws on failure.
  static func ffmpeg(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ffmpeg", "-nostdin", "-v", "error", "-y"] + arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw VideoTestFileMissing(path: "ffmpeg \(arguments)") }
  }
}

struct VideoTestFileMissing: Error, CustomStringConvertible {
  var path: String
  var description: String { "missing or unmade test file \(path); run Scripts/goldens/video.py" }
}

/// Per frame: the byte sum and the sum of byte·(i mod 251 + 1) (Scripts/goldens/video.py).
func videoFingerprint(_ frame: Tensor) -> [Int64] {
  let bytes = (try? frame.scalars(UInt8.self)) ?? []
  var (sum, weighted): (Int64, Int64) = (0, 0)
  for (i, b) in bytes.enumerated() {
    sum += Int64(b)
    weighted += Int64(b) * Int64(i % 251 + 1)
  }
  return [sum, weighted]
}

/// True when the process `pid` no longer exists (exited and reaped: not even a zombie).
func processIsGone(_ pid: Int32) -> Bool {
  kill(pid, 0) == -1 && errno == ESRCH
}

extension JSONValue {
  /// Numbers of an array as Doubles / Ints.
  var doubles: [Double] { (elements ?? []).compactMap(\.double) }
  var ints: [Int] { (elements ?? []).compactMap(\.int) }
}

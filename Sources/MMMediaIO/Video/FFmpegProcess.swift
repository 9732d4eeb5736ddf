import Foundation
import Glibc
import Synchronization

/// Where `ffmpeg` and `ffprobe` live. A bare name is looked up in `PATH` when a command starts; a
/// name with a `/` is used as given. Tests point these at a missing program to check the message.
public struct FFmpegTools: Sendable, Equatable {
  public var ffmpeg: String
  public var ffprobe: String

  public init(ffmpeg: String = "ffmpeg", ffprobe: String = "ffprobe") {
    self.ffmpeg = ffmpeg
    self.ffprobe = ffprobe
  }

  /// `ffmpeg` and `ffprobe` from `PATH` (Debian: `apt-get install ffmpeg`).
  public static let system = FFmpegTools()

  /// The executable for `name` (a path, or the first executable match in `PATH`), else nil.
  static func resolve(_ name: String) -> String? {
    if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
      let candidate = "\(directory)/\(name)"
      var status = stat()
      if stat(candidate, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
        return candidate
      }
    }
    return nil
  }
}

/// One ffmpeg or ffprobe child: stdout is read by the caller through `read(into:count:)`; stderr is
/// drained on its own thread (a chatty decoder can never fill the pipe and stall the child) and its
/// last 16 KiB kept for error messages. `kill()` ends the child and reaps it; `deinit` does too,
/// so no child outlives its owner and none is left a zombie.
final class ChildProcess: @unchecked Sendable {
  private let process: Process
  private let stdoutHandle: FileHandle
  private let stderrThread: Thread
  private let stderrDone = DispatchSemaphore(value: 0)
  private let stderrTail = TailBuffer()
  private let state = Mutex<(reaped: Bool, status: Int32?)>((false, nil))
  private static let tailLimit = 16 << 10

  /// The child's process id.
  let pid: Int32

  /// Starts `executable` (already resolved) with `arguments`; stdin is /dev/null.
  init(executable: String, arguments: [String]) throws {
    process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    pid = process.processIdentifier
    stdoutHandle = out.fileHandleForReading
    let errHandle = err.fileHandleForReading
    let tail = stderrTail
    let done = stderrDone
    stderrThread = Thread {
      var chunk = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(errHandle.fileDescriptor, $0.baseAddress, 4096) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        tail.append(chunk[0..<n], keeping: ChildProcess.tailLimit)
      }
      try? errHandle.close()
      done.signal()
    }
    stderrThread.start()
  }

  deinit {
    kill()
    try? stdoutHandle.close()
  }

  /// Reads until `count` bytes arrived or stdout ended; returns the number read.
  func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Int {
    var got = 0
    while got < count {
      let n = Glibc.read(stdoutHandle.fileDescriptor, buffer + got, count - got)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      got += n
    }
    return got
  }

  /// Everything left on stdout.
  func readToEnd() -> [UInt8] {
    var all = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(into: $0.baseAddress!, count: $0.count) }
      all.append(contentsOf: chunk[0..<n])
      if n < chunk.count { break }
    }
    return all
  }

  /// Waits for the child to exit on its own; returns its exit status (128 + signal when killed).
  @discardableResult
  func wait() -> Int32 {
    if let status = state.withLock({ $0.status }) { return status }
    process.waitUntilExit()
    stderrDone.wait()
    stderrDone.signal()  // later waiters pass too
    let status =
      process.terminationReason == .uncaughtSignal
      ? 128 + process.terminationStatus : process.terminationStatus
    state.withLock { $0 = (true, status) }
    return status
  }

  /// Ends the child now (SIGKILL) if it is still running, and reaps it.
  func kill() {
    let reaped = state.withLock { $0.reaped }
    if reaped { return }
    if process.isRunning { Glibc.kill(pid, SIGKILL) }
    wait()
  }

  /// The tail of stderr as text: the child's last messages, one line each, trimmed.
  var errorText: String {
    let bytes = stderrTail.bytes(last: ChildProcess.tailLimit)
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    return lines.filter { !$0.isEmpty }.suffix(4).joined(separator: "; ")
  }
}

/// The end of a child's stderr, written by the draining thread and read by the owner.
private final class TailBuffer: Sendable {
  private let buffer = Mutex<[UInt8]>([])

  func append(_ bytes: ArraySlice<UInt8>, keeping limit: Int) {
    buffer.withLock { buffer in
      buffer.append(contentsOf: bytes)
      if buffer.count > 2 * limit { buffer.removeFirst(buffer.count - limit) }
    }
  }

  func bytes(last count: Int) -> [UInt8] { buffer.withLock { Array($0.suffix(count)) } }
}

import Foundation

/// Where a writer sends bytes: a temporary file that becomes the target only when complete.
struct FileSink {
  let path: String
  fileprivate let descriptor: Int32
  /// Bytes written so far.
  private(set) var offset = 0

  fileprivate init(path: String, descriptor: Int32) {
    self.path = path
    self.descriptor = descriptor
  }

  mutating func write(_ bytes: UnsafeRawBufferPointer) throws(WeightFileError) {
    guard var next = bytes.baseAddress, bytes.count > 0 else { return }
    var remaining = bytes.count
    while remaining > 0 {
      let written = Foundation.write(descriptor, next, min(remaining, 1 << 30))
      if written < 0 {
        if errno == EINTR { continue }
        throw WeightFileError(
          path: path, kind: .io, problem: "write failed: \(String(cString: strerror(errno)))")
      }
      next += written
      remaining -= written
      offset += written
    }
  }

  mutating func write(_ bytes: [UInt8]) throws(WeightFileError) {
    let result: Result<Void, WeightFileError> = bytes.withUnsafeBytes { raw in
      do throws(WeightFileError) { return .success(try write(raw)) } catch { return .failure(error) }
    }
    try result.get()
  }
}

/// Writes `path` atomically: `body` fills a temporary file in the same directory (so the final
/// rename stays on one file system), which is flushed to disk and renamed over `path`. If
/// anything fails, the temporary file is removed and `path` is untouched: a reader never sees
/// a partial file under the target name. The file gets mode 0644.
func writeAtomically(
  to path: String, _ body: (inout FileSink) throws(WeightFileError) -> Void
) throws(WeightFileError) {
  let target = URL(fileURLWithPath: path)
  let directory = target.deletingLastPathComponent().path
  var template = Array("\(directory)/.\(target.lastPathComponent).tmp-XXXXXX".utf8CString)
  let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
  guard descriptor >= 0 else {
    throw WeightFileError(
      path: path, kind: .io,
      problem: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
  }
  let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  var closed = false
  do throws(WeightFileError) {
    var sink = FileSink(path: path, descriptor: descriptor)
    try body(&sink)
    guard fchmod(descriptor, 0o644) == 0, fsync(descriptor) == 0 else {
      throw WeightFileError(
        path: path, kind: .io, problem: "cannot flush: \(String(cString: strerror(errno)))")
    }
    closed = true
    guard close(descriptor) == 0 else {
      throw WeightFileError(
        path: path, kind: .io, problem: "cannot close: \(String(cString: strerror(errno)))")
    }
    guard rename(temporary, path) == 0 else {
      throw WeightFileError(
        path: path, kind: .io,
        problem: "cannot rename the finished file into place: \(String(cString: strerror(errno)))")
    }
  } catch {
    if !closed { close(descriptor) }
    unlink(temporary)
    throw error
  }
}

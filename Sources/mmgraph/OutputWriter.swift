import Foundation
import MMCore
import MMGraph
import MMMediaIO
import MMWeights
import Synchronization

/// Writes a run's graph outputs into the output folder, all or nothing: every output is first
/// written to a hidden temporary file in that folder (`.NAME.EXT.tmp-XXXXXX`, flushed to disk),
/// and only when all are complete are they renamed into place. A failure — or Ctrl-C, through
/// `TemporaryFiles.removeAll()` — removes the temporaries, so no partial file is ever left
/// under an output's name.
///
/// tensor, point cloud, embedding vectors → `.npy`; text → `.txt`; json and tokens → `.json`;
/// images → `.png` (8-bit); audio → `.wav` (16-bit PCM). A video handle is not an output.
struct OutputWriter {
  let directory: String

  struct Written {
    var name: String
    var path: String
    var kind: String
    var dtype: DType?
    var shape: [Int]?
    var bytes: Int
  }

  /// The file extension and content for one value, or an error naming the output.
  static func encode(_ name: String, _ value: Value) throws(RunFailure) -> (
    ext: String, bytes: [UInt8], dtype: DType?, shape: [Int]?
  ) {
    func npy(_ tensor: Tensor) throws(RunFailure) -> (String, [UInt8], DType?, [Int]?) {
      let widened = [.bf16, .f8e4m3, .f8e5m2].contains(tensor.dtype) ? tensor.converted(to: .f32) : tensor
      do { return ("npy", try NPY.encode(widened), widened.dtype, widened.shape) } catch {
        throw RunFailure("output '\(name)': \(error)")
      }
    }
    switch value {
    case .tensor(let t), .pointCloud(let t): return try npy(t)
    case .embedding(let e): return try npy(e.vectors)
    case .text(let text): return ("txt", Array(text.utf8), nil, nil)
    case .json(let json): return ("json", Array((json.encoded(pretty: true) + "\n").utf8), nil, nil)
    case .tokens(let ids):
      return (
        "json", Array((JSONValue.array(ids.map { JSONValue(Int($0)) }).encoded() + "\n").utf8), nil, nil
      )
    case .image(let pixels):
      do { return ("png", try PNGEncoder.encode(pixels), pixels.dtype, pixels.shape) } catch {
        throw RunFailure("output '\(name)': \(error)")
      }
    case .audio(let audio):
      do {
        let bytes = try WAVEncoder.encode(samples: audio.samples, sampleRate: audio.sampleRate)
        return ("wav", bytes, audio.samples.dtype, audio.samples.shape)
      } catch { throw RunFailure("output '\(name)': \(error)") }
    case .video(let path):
      throw RunFailure(
        "output '\(name)' is a video handle (\(path)), not data: decode its frames into a stream<image> first"
      )
    }
  }

  /// Writes every output, or none (also none when `isCancelled` turns true before the renames).
  func write(_ outputs: [(name: String, value: Value)], isCancelled: () -> Bool = { false }) throws
    -> [Written]
  {
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw RunFailure("cannot create the output folder \(directory): \(error.localizedDescription)")
    }
    var staged: [(temporary: String, written: Written)] = []
    do {
      for (name, value) in outputs {
        let (ext, bytes, dtype, shape) = try OutputWriter.encode(name, value)
        let path = directory + "/" + name + "." + ext
        let temporary = try TemporaryFiles.write(bytes, besides: path)
        staged.append(
          (
            temporary,
            Written(name: name, path: path, kind: ext, dtype: dtype, shape: shape, bytes: bytes.count)
          ))
      }
      if isCancelled() { throw Interrupted() }
      for (temporary, written) in staged {
        guard rename(temporary, written.path) == 0 else {
          throw RunFailure("cannot move \(written.path) into place: \(String(cString: strerror(errno)))")
        }
        TemporaryFiles.forget(temporary)
      }
    } catch {
      for (temporary, _) in staged { TemporaryFiles.remove(temporary) }
      throw error
    }
    return staged.map(\.written)
  }
}

/// Temporary files not yet renamed into place; the Ctrl-C handler removes them.
enum TemporaryFiles {
  private static let live = Mutex<Set<String>>([])

  /// Writes `bytes` to a fresh hidden temporary file next to `path` (mode 0644, flushed).
  static func write(_ bytes: [UInt8], besides path: String) throws(RunFailure) -> String {
    let url = URL(fileURLWithPath: path)
    var template = Array(
      "\(url.deletingLastPathComponent().path)/.\(url.lastPathComponent).tmp-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else {
      throw RunFailure("cannot create a file next to \(path): \(String(cString: strerror(errno)))")
    }
    let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    live.withLock { _ = $0.insert(temporary) }
    var offset = 0
    let ok = bytes.withUnsafeBytes { raw -> Bool in
      while offset < raw.count {
        let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        offset += n
      }
      return fchmod(fd, 0o644) == 0 && fsync(fd) == 0
    }
    let problem = String(cString: strerror(errno))
    close(fd)
    guard ok else {
      remove(temporary)
      throw RunFailure("cannot write \(path): \(problem)")
    }
    return temporary
  }

  static func forget(_ path: String) { live.withLock { _ = $0.remove(path) } }

  static func remove(_ path: String) {
    unlink(path)
    forget(path)
  }

  /// Removes every live temporary file (Ctrl-C, fatal errors).
  static func removeAll() {
    for path in live.withLock({ $0 }) { remove(path) }
  }
}

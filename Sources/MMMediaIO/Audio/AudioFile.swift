import CSndFile
import Glibc
import MMCore
import Synchronization

/// An audio file could not be read. The description names the file and the problem.
public struct AudioFileError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable, Equatable {
    /// Missing, a directory, or unreadable.
    case io
    /// Not audio, or a format/codec libsndfile cannot decode.
    case format
    /// The file holds no audio frames.
    case empty
    /// The declared size is beyond what we will allocate.
    case tooLarge
    /// The file holds less audio than its header declares.
    case truncated
  }

  public var file: String
  public var kind: Kind
  public var message: String

  public init(file: String, kind: Kind, message: String) {
    self.file = file
    self.kind = kind
    self.message = message
  }

  public var description: String { "\(file): \(message)" }
}

/// Decodes audio files through libsndfile: WAV (8/16/24/32-bit int, 32/64-bit float), FLAC,
/// OGG/Vorbis, AIFF and whatever else the installed libsndfile reads; any channel count.
///
/// Integer samples are scaled as libsndfile does: divided by 2^(bits-1) (int16 / 32768), which is
/// what `torchaudio.load` and Python's `wave` + `/ 32768` produce.
public enum AudioFile {
  /// The most samples (frames × channels) a file may declare: 2^31 floats = 8 GiB.
  public static let maxSamples: Int64 = 1 << 31

  /// Reads the whole file. samples: `[channels, frames]` f32.
  public static func read(contentsOf path: String) throws(AudioFileError) -> (
    samples: Tensor, sampleRate: Int
  ) {
    try checkReadable(path)
    try checkRIFFDataSize(path)
    var info = SF_INFO()
    let handle: OpaquePointer? = sndfileLock.withLock { _ -> OpaquePointer? in
      sf_open(path, Int32(SFM_READ), &info)
    }
    guard let handle else {
      let reason = sndfileLock.withLock { _ in String(cString: sf_strerror(nil)) }
      throw AudioFileError(
        file: path, kind: .format, message: "not a readable audio file (libsndfile: \(reason))")
    }
    defer { sf_close(handle) }

    let channels = Int64(info.channels)
    let declared = Int64(info.frames)
    guard channels >= 1, channels <= 65_535 else {
      throw AudioFileError(file: path, kind: .format, message: "header declares \(channels) channels")
    }
    guard info.samplerate > 0 else {
      throw AudioFileError(
        file: path, kind: .format, message: "header declares sample rate \(info.samplerate) Hz")
    }
    guard declared > 0 else {
      throw AudioFileError(file: path, kind: .empty, message: "zero-length audio (no frames)")
    }
    guard declared <= maxSamples / channels else {
      throw AudioFileError(
        file: path, kind: .tooLarge,
        message: "header declares \(declared) frames × \(channels) channels, over the limit of "
          + "\(maxSamples) samples")
    }

    let frames = Int(declared)
    let width = Int(channels)
    // Grow with the data actually decoded, so a compressed file whose header lies about its
    // length cannot make us allocate gigabytes up front.
    var interleaved: [Float] = []
    interleaved.reserveCapacity(min(frames, 1 << 22) * width)
    var chunkBuffer = [Float](repeating: 0, count: (1 << 16) * width)
    var got = 0
    while got < frames {
      let chunk = min(frames - got, 1 << 16)
      let n = chunkBuffer.withUnsafeMutableBufferPointer {
        Int(sf_readf_float(handle, $0.baseAddress!, sf_count_t(chunk)))
      }
      if n <= 0 { break }
      interleaved.append(contentsOf: chunkBuffer[0..<(n * width)])
      got += n
    }
    if got < frames {
      let reason = String(cString: sf_strerror(handle))
      throw AudioFileError(
        file: path, kind: .truncated,
        message: "truncated: header declares \(frames) frames but only \(got) could be read "
          + "(libsndfile: \(reason))")
    }

    var planar = [Float](repeating: 0, count: frames * width)
    for f in 0..<frames {
      for c in 0..<width { planar[c * frames + f] = interleaved[f * width + c] }
    }
    let tensor = Tensor(planar, shape: [width, frames])
    if let bad = planar.firstIndex(where: { !$0.isFinite }) {
      throw AudioFileError(
        file: path, kind: .format,
        message: "sample \(bad % frames) of channel \(bad / frames) is \(planar[bad])")
    }
    return (tensor, Int(info.samplerate))
  }

  /// Mono mix-down, the mean of the channels. samples: `[channels, frames]` → `[1, frames]` f32.
  public static func mixDown(_ samples: Tensor) throws(TensorError) -> Tensor {
    guard samples.rank == 2, samples.shape[0] >= 1 else {
      throw .shapeMismatch(
        op: "mixDown", expected: "[channels, frames] with ≥ 1 channel", found: shapeText(samples.shape))
    }
    let (channels, frames) = (samples.shape[0], samples.shape[1])
    let values = samples.floats()
    if channels == 1 { return Tensor(values, shape: [1, frames]) }
    var out = [Float](repeating: 0, count: frames)
    for f in 0..<frames {
      var sum: Float = 0
      for c in 0..<channels { sum += values[c * frames + f] }
      out[f] = sum / Float(channels)
    }
    return Tensor(out, shape: [1, frames])
  }

  // MARK: - Checks before libsndfile

  /// Missing files, directories and unreadable files get their own messages.
  static func checkReadable(_ path: String) throws(AudioFileError) {
    var status = stat()
    guard stat(path, &status) == 0 else {
      let reason = String(cString: strerror(errno))
      throw AudioFileError(file: path, kind: .io, message: "cannot open: \(reason)")
    }
    if (status.st_mode & S_IFMT) == S_IFDIR {
      throw AudioFileError(file: path, kind: .io, message: "is a directory, not an audio file")
    }
    if status.st_size == 0 {
      throw AudioFileError(file: path, kind: .empty, message: "empty file (0 bytes)")
    }
    guard access(path, R_OK) == 0 else {
      throw AudioFileError(file: path, kind: .io, message: "not readable (permission denied)")
    }
  }

  /// libsndfile silently shortens a RIFF WAVE `data` chunk that declares more bytes than the file
  /// holds; we report that as truncation instead. Non-RIFF files and streaming placeholder sizes
  /// (0 and 0xFFFFFFFF) are left to libsndfile.
  static func checkRIFFDataSize(_ path: String) throws(AudioFileError) {
    guard let file = fopen(path, "rb") else { return }
    defer { fclose(file) }
    var header = [UInt8](repeating: 0, count: 12)
    guard fread(&header, 1, 12, file) == 12, header[0..<4] == Array("RIFF".utf8)[...],
      header[8..<12] == Array("WAVE".utf8)[...]
    else { return }
    guard fseeko(file, 0, SEEK_END) == 0 else { return }
    let fileSize = Int64(ftello(file))
    var position: Int64 = 12
    // Walk the chunks: 4-byte id, 4-byte little-endian size, payload padded to even length.
    while position + 8 <= fileSize {
      guard fseeko(file, off_t(position), SEEK_SET) == 0 else { return }
      var chunk = [UInt8](repeating: 0, count: 8)
      guard fread(&chunk, 1, 8, file) == 8 else { return }
      let size = Int64(chunk[4]) | Int64(chunk[5]) << 8 | Int64(chunk[6]) << 16 | Int64(chunk[7]) << 24
      if chunk[0..<4] == Array("data".utf8)[...] {
        let available = fileSize - position - 8
        if size != 0, size != 0xFFFF_FFFF, size > available {
          throw AudioFileError(
            file: path, kind: .truncated,
            message: "truncated: the data chunk declares \(size) bytes but the file holds \(available)")
        }
        return
      }
      position += 8 + size + (size & 1)
    }
  }
}

/// libsndfile keeps the error of a failed `sf_open` in a global; opens are serialized so each
/// caller reads its own message.
private let sndfileLock = Mutex(())

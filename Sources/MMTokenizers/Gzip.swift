import CZlib

/// Decompression of gzip (and zlib) data with the system zlib: CLIP's vocabulary ships as
/// `bpe_simple_vocab_16e6.txt.gz`.
public enum Gzip {
  /// The decompressed bytes of `data` (one or more concatenated gzip members, as `gzip.open`
  /// reads them). `file` names the data in errors.
  /// - Throws: `TokenizerError` of kind `.syntax` for data that is not gzip, or truncated or
  ///   corrupt, with zlib's message; `.io` when the output would exceed `limit` bytes.
  public static func decompress(
    _ data: [UInt8], file: String, limit: Int = 1 << 30
  ) throws(TokenizerError) -> [UInt8] {
    guard !data.isEmpty else {
      throw TokenizerError(file: file, kind: .syntax, problem: "expected gzip data, found an empty file")
    }
    var output: [UInt8] = []
    output.reserveCapacity(min(limit, data.count * 4))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var consumed = 0
    var problem: String?
    data.withUnsafeBufferPointer { input in
      while consumed < input.count && problem == nil {
        var stream = z_stream()
        guard mm_inflate_init_auto(&stream) == Z_OK else {
          problem = "zlib could not start a decompression stream"
          return
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + consumed)
        stream.avail_in = UInt32(clamping: input.count - consumed)
        var status: Int32 = Z_OK
        while status == Z_OK {
          status = chunk.withUnsafeMutableBufferPointer { buffer in
            stream.next_out = buffer.baseAddress
            stream.avail_out = UInt32(buffer.count)
            let result = inflate(&stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.avail_out)
            output.append(contentsOf: buffer[0..<produced])
            return result
          }
          if output.count > limit {
            problem = "the decompressed data exceeds \(limit) bytes"
            return
          }
          if status == Z_BUF_ERROR && stream.avail_in == 0 {
            problem = "the gzip data is truncated (after \(consumed + Int(stream.total_in)) bytes)"
            return
          }
        }
        guard status == Z_STREAM_END else {
          let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
          problem =
            consumed == 0 && stream.total_out == 0
            ? "expected gzip data (magic 1f 8b), found bytes that are not: \(message)"
            : "corrupt gzip data at byte \(consumed + Int(stream.total_in)): \(message)"
          return
        }
        consumed += Int(stream.total_in)
        // Trailing zero padding after the last member is ignored, as gzip(1) does.
        if input[consumed...].allSatisfy({ $0 == 0 }) { break }
      }
    }
    if let problem {
      throw TokenizerError(file: file, kind: output.count > limit ? .io : .syntax, problem: problem)
    }
    return output
  }
}

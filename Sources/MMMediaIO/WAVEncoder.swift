import MMCore

/// Writes audio as RIFF WAVE: 16-bit PCM (clipped to [-1, 1], rounded) or 32-bit IEEE float.
/// (Reading, and the other formats of libsndfile, arrive with the media decoders.)
public enum WAVEncoder {
  public enum SampleFormat: Sendable {
    case pcm16
    case float32
  }

  /// samples: `[channels, frames]`, any float dtype, values nominally in [-1, 1].
  public static func encode(samples: Tensor, sampleRate: Int, format: SampleFormat = .pcm16)
    throws(TensorError) -> [UInt8]
  {
    guard samples.rank == 2, samples.shape[0] >= 1, samples.shape[0] <= 65_535 else {
      throw .shapeMismatch(
        op: "WAV", expected: "[channels, frames] with 1–65535 channels", found: shapeText(samples.shape))
    }
    guard sampleRate > 0, sampleRate <= Int(UInt32.max) else {
      throw .invalidArgument(op: "WAV", message: "sample rate \(sampleRate) Hz cannot be written")
    }
    let (channels, frames) = (samples.shape[0], samples.shape[1])
    let bytesPerSample = format == .pcm16 ? 2 : 4
    let dataBytes = channels * frames * bytesPerSample
    guard dataBytes <= Int(UInt32.max) - 44 else {
      throw .invalidArgument(op: "WAV", message: "\(dataBytes) bytes of samples exceed the 4 GiB RIFF limit")
    }
    let values = samples.floats()
    var out = [UInt8]()
    out.reserveCapacity(44 + dataBytes)
    out.append(contentsOf: Array("RIFF".utf8))
    out.appendLittleEndian(UInt32(36 + dataBytes))
    out.append(contentsOf: Array("WAVEfmt ".utf8))
    out.appendLittleEndian(UInt32(16))
    out.appendLittleEndian(UInt16(format == .pcm16 ? 1 : 3))  // PCM, IEEE float
    out.appendLittleEndian(UInt16(channels))
    out.appendLittleEndian(UInt32(sampleRate))
    out.appendLittleEndian(UInt32(sampleRate * channels * bytesPerSample))
    out.appendLittleEndian(UInt16(channels * bytesPerSample))
    out.appendLittleEndian(UInt16(bytesPerSample * 8))
    out.append(contentsOf: Array("data".utf8))
    out.appendLittleEndian(UInt32(dataBytes))
    // Interleaved frames: channel c of frame f is values[c * frames + f].
    for f in 0..<frames {
      for c in 0..<channels {
        let x = values[c * frames + f]
        switch format {
        case .pcm16:
          let clipped = x.isNaN ? 0 : min(max(x, -1), 1)
          out.appendLittleEndian(Int16((clipped * 32767).rounded()))
        case .float32:
          out.appendLittleEndian(x.bitPattern)
        }
      }
    }
    return out
  }
}

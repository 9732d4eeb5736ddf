/// GPT-2's byte-level alphabet: every byte as a printable character. The printable Latin-1
/// bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand for themselves; the other 68 bytes (controls, space,
/// soft hyphen…) become U+0100, U+0101, … in byte order, so a space is `Ġ` (U+0120) and a line
/// feed `Ċ` (U+010A).
public enum ByteLevel {
  /// The character for each byte.
  public static let scalarForByte: [Unicode.Scalar] = {
    var table = [Unicode.Scalar](repeating: " ", count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
      if isPrintable(b) {
        table[b] = Unicode.Scalar(UInt32(b))!
      } else {
        table[b] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return table
  }()

  /// The byte a character stands for, or nil for characters outside the alphabet.
  @inline(__always) public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
    let v = scalar.value
    if v < 256 { return isPrintable(Int(v)) ? UInt8(v) : nil }
    guard v < 256 + 68 else { return nil }
    return byteForExtended[Int(v - 256)]
  }

  private static let byteForExtended: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 68)
    for b in 0..<256 where !isPrintable(b) {
      table[Int(scalarForByte[b].value) - 256] = UInt8(b)
    }
    return table
  }()

  @inline(__always) private static func isPrintable(_ b: Int) -> Bool {
    (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
  }

  /// The bytes a token's text stands for, or nil when a character is outside the alphabet
  /// (an added token such as `<|endoftext|>` is written as itself).
  static func bytes(of token: [Unicode.Scalar]) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(token.count)
    for scalar in token {
      guard let b = byte(for: scalar) else { return nil }
      out.append(b)
    }
    return out
  }

  /// The byte-level characters of `s`'s UTF-8 bytes.
  static func encode(_ s: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(s.count)
    var buffer: [UInt8] = []
    for scalar in s {
      if scalar.value < 0x80 {
        out.append(scalarForByte[Int(scalar.value)])
      } else {
        buffer.removeAll(keepingCapacity: true)
        appendUTF8(scalar, to: &buffer)
        for b in buffer { out.append(scalarForByte[Int(b)]) }
      }
    }
    return out
  }
}

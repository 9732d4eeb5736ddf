/// The two checksums PNG needs: CRC-32 (ISO 3309, per chunk) and Adler-32 (zlib stream trailer).
enum Checksum {
  private static let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func crc32<C: Collection>(_ bytes: C, initial: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
    var c = ~initial
    for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
    return ~c
  }

  static func adler32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var a: UInt32 = 1
    var b: UInt32 = 0
    var pending = 0
    for byte in bytes {
      a += UInt32(byte)
      b += a
      pending += 1
      if pending == 5552 {  // the largest run before b can overflow (zlib's NMAX)
        a %= 65521
        b %= 65521
        pending = 0
      }
    }
    return (b % 65521) << 16 | (a % 65521)
  }
}

extension Array where Element == UInt8 {
  mutating func appendBigEndian(_ value: UInt32) {
    append(contentsOf: [
      UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
    ])
  }

  mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }
}

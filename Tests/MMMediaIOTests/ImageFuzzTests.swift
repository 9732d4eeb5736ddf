import MMCore
import MMMediaIO
import Testing

/// Rewrites every PNG chunk CRC that can be located, so that mutations reach libpng's parsers
/// instead of stopping at the CRC check.
private func fixCRCs(_ bytes: inout [UInt8]) {
  var at = 8
  while at + 12 <= bytes.count {
    let length = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
    guard length <= bytes.count - at - 12 else { return }
    let crc = bytes[(at + 4)..<(at + 8 + length)].withUnsafeBytes { imageCRC32($0) }
    for k in 0..<4 { bytes[at + 8 + length + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
    at += 12 + length
  }
}

/// Seeded property test: truncations and byte mutations of the small fixtures either decode to
/// a well-formed image or throw ImageFileError naming the file — never crash, never hang.
@Suite("Image fuzz") struct ImageFuzzTests {
  @Test(arguments: [
    "rgb8.png", "grey2_interlaced.png", "palette2_trns.png", "rgb16_interlaced.png", "orient6.png",
    "baseline420.jpg", "progressive.jpg", "cmyk.jpg", "exif6.jpg", "grey.jpg",
  ])
  func truncationsAndMutations(name: String) throws {
    let original = try ImageFiles.bytes(ImageFiles.fixture(name))
    var random = SeededRandom(seed: 0x1234_5678 &+ UInt64(original.count))
    var decoded = 0
    var rejected = 0
    let trials = 30
    for trial in 0..<trials {
      var bytes = original
      if trial % 3 == 0 {
        bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count + 1))))
      } else {
        for _ in 0..<(1 + Int(random.next() % 4)) {
          // Headers (sizes, tables, chunk lengths) live in the first few hundred bytes.
          let span = random.next() % 2 == 0 ? min(300, bytes.count) : bytes.count
          let at = Int(random.next() % UInt64(span))
          switch random.next() % 5 {
          case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
          case 1: bytes[at] ^= UInt8(1 << (random.next() % 8))
          case 2: bytes[at] = [0x00, 0xFF, 0x7F, 0x80][Int(random.next() % 4)]
          case 3: bytes.insert(contentsOf: [0xFF, UInt8(truncatingIfNeeded: random.next())], at: at)
          default: bytes.remove(at: at)
          }
        }
        if name.hasSuffix(".png"), trial % 3 == 1 { fixCRCs(&bytes) }
      }
      do {
        let image = try ImageFile.decode(bytes: bytes, file: name)
        #expect(image.samples.count == image.width * image.height * image.channels, "\(name) trial \(trial)")
        decoded += 1
      } catch {
        #expect(error.description.hasPrefix(name + ": "), "\(error)")
        rejected += 1
      }
    }
    #expect(decoded + rejected == trials)
    #expect(rejected > 0, "\(name): no mutation was rejected")
  }
}

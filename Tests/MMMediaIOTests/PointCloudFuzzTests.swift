import MMCore
import MMMediaIO
import Testing

/// Seeded property tests: random truncations and byte mutations of every valid fixture either
/// decode to a well-formed cloud or throw PointCloudError — never crash, never yield NaN.
@Suite("Point cloud fuzz")
struct PointCloudFuzzTests {
  @Test(arguments: [
    ("cloud_le.ply", PointCloudFormat.ply), ("cloud_be.ply", .ply), ("cloud_ascii.ply", .ply),
    ("cloud_binary.pcd", .pcd), ("cloud_ascii.pcd", .pcd), ("cloud.xyz", .xyz), ("cloud.npy", .npy),
  ])
  func truncationsAndMutations(name: String, format: PointCloudFormat) throws {
    let original = try PointCloudFiles.bytes(name)
    var random = SeededRandom(seed: 0x9E37_79B9 &+ UInt64(original.count))
    var decoded = 0, rejected = 0
    for trial in 0..<240 {
      var bytes = original
      if trial % 3 == 0 {
        bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count + 1))))
      } else {
        // Mutations weighted to the header (first 400 bytes), where counts and types live.
        for _ in 0..<(1 + Int(random.next() % 4)) {
          let span = random.next() % 2 == 0 ? min(400, bytes.count) : bytes.count
          let at = Int(random.next() % UInt64(span))
          switch random.next() % 4 {
          case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
          case 1: bytes[at] = Array("0123456789-.e nN\n".utf8)[Int(random.next() % 17)]
          case 2: bytes.insert(contentsOf: Array("99999999999".utf8), at: at)
          default: bytes.remove(at: at)
          }
        }
      }
      do {
        let cloud = try PointCloud.decode(bytes, format: format, file: name)
        expectWellFormed(cloud, "\(name) trial \(trial)")
        decoded += 1
      } catch {
        #expect(error.description.hasPrefix(name + ": "))
        rejected += 1
      }
    }
    #expect(decoded + rejected == 240)
    #expect(rejected > 0, "\(name): no mutation was rejected")
  }
}

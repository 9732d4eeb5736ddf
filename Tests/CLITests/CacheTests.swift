import Foundation
import MMCore
import MMGraph
import Testing

@testable import MMRuntime

/// The cache's pieces without the CLI: SHA-256 against FIPS 180-4 vectors, the value codec,
/// corrupt entries, keys, and least-recently-used eviction.
@Suite struct CacheTests {
  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
  ])
  func sha256KnownVectors(text: String, digest: String) {
    #expect(SHA256.hex(Array(text.utf8)) == digest)
  }

  @Test func sha256MillionAsInPieces() {
    // FIPS 180-4: one million 'a'; fed in uneven pieces to cross block boundaries.
    var hasher = SHA256()
    var remaining = 1_000_000
    var piece = 1
    while remaining > 0 {
      let n = min(piece, remaining)
      hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
      remaining -= n
      piece = piece * 3 % 997 + 1
    }
    #expect(
      SHA256.hexText(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  static let values: [Value] = [
    .tensor(Tensor([1, -2.5, 3, 4, 5, 6], shape: [2, 3])),
    .tensor(try! Tensor(shape: [2], values: [Int64.max, -1])),
    .tensor(Tensor([7], shape: [])),
    .audio(Audio(samples: Tensor([0.5, -0.5, 0.25, 0], shape: [2, 2]), sampleRate: 16000)),
    .image(try! Tensor(shape: [1, 2, 3], values: [UInt8](1...6))),
    .video(path: "/videos/clip.mp4"),
    .pointCloud(Tensor([1, 2, 3], shape: [1, 3])),
    .text("héllo\n\u{0}"),
    .tokens([1, -2, Int32.max]),
    .embedding(Embedding(vectors: Tensor([0.6, 0.8], shape: [1, 2]), space: "clip-vit-b32", form: .unit)),
    .json(
      .object([JSONMember("b", .array([.number("1e3"), .null, .bool(true)])), JSONMember("a", .string("x"))])),
  ]

  @Test func codecRoundTripsEveryKind() throws {
    for value in Self.values {
      var reader = ByteReader(ValueCodec.encoded(value))
      let decoded = try ValueCodec.decode(&reader)
      #expect(reader.remaining == 0)
      #expect(ValueCodec.encoded(decoded) == ValueCodec.encoded(value), "\(value.portType)")
      #expect(decoded.portType == value.portType)
    }
    // Equal values hash equal whatever their layout; different ones differ.
    let t = Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2])
    let transposedTwice = try t.transposed().contiguous().transposed()
    #expect(ValueCodec.hash(.tensor(t)) == ValueCodec.hash(.tensor(transposedTwice)))
    #expect(ValueCodec.hash(.tensor(t)) != ValueCodec.hash(.tensor(try t.reshaped([2, 3]))))
    #expect(ValueCodec.hash(.text("a")) != ValueCodec.hash(.json(.string("a"))))
  }

  @Test func truncatedOrFlippedEntriesAreMisses() throws {
    let folder = NSTemporaryDirectory() + "mmgraph-cache-unit-\(UUID().uuidString.prefix(8))"
    let cache = try NodeCache(directory: folder)
    let key = try cache.key(type: "t.x", options: NodeOptions([:]), inputHashes: [:], files: [])
    try cache.store(key, outputs: [(port: "out", value: Self.values[0])])
    let path = cache.entryPath(key)
    let good = try #require(FileManager.default.contents(atPath: path))
    #expect(cache.lookup(key)?.first?.port == "out")
    var rng = SeededRandom(seed: 7)
    for trial in 0..<200 {
      var bytes = [UInt8](good)
      if trial % 2 == 0 {
        bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
      } else {
        bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(1 << (rng.next() % 8))
      }
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      // Either a miss (the entry is removed) or, never, a different value.
      if let outputs = cache.lookup(key) {
        #expect(ValueCodec.encoded(outputs[0].value) == ValueCodec.encoded(Self.values[0]), "trial \(trial)")
      } else {
        #expect(!FileManager.default.fileExists(atPath: path), "trial \(trial): a corrupt entry stays")
      }
    }
  }

  @Test func keysFollowOptionsInputsAndFiles() throws {
    let folder = NSTemporaryDirectory() + "mmgraph-cache-keys-\(UUID().uuidString.prefix(8))"
    let cache = try NodeCache(directory: folder)
    let file = folder + "/weights.bin"
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
    func key(_ options: [String: JSONValue], _ input: Value, files: [String] = []) throws -> CacheKey {
      try cache.key(
        type: "t.x", options: NodeOptions(options), inputHashes: ["x": ValueCodec.hash(input)], files: files)
    }
    let base = try key(["f": .number("2")], .text("a"))
    #expect(try key(["f": .number("2.0")], .text("a")) == base, "2 and 2.0 are one option value")
    #expect(try key(["f": .number("3")], .text("a")) != base)
    #expect(try key(["f": .number("2")], .text("b")) != base)
    let withFile = try key(["f": .number("2")], .text("a"), files: [file])
    #expect(withFile != base)
    Thread.sleep(forTimeInterval: 0.01)
    try Data([1, 2, 4]).write(to: URL(fileURLWithPath: file))
    #expect(
      try key(["f": .number("2")], .text("a"), files: [file]) != withFile, "a changed file changes the key")
  }

  @Test func evictsLeastRecentlyUsed() throws {
    let folder = NSTemporaryDirectory() + "mmgraph-cache-lru-\(UUID().uuidString.prefix(8))"
    let value = Value.tensor(Tensor(zeros: [64]))
    let entrySize = Int64(CacheEntry.encode([(port: "out", value: value)]).count)
    let cache = try NodeCache(directory: folder, sizeLimit: entrySize * 3)
    var keys: [CacheKey] = []
    for i in 0..<3 {
      let key = try cache.key(type: "t.\(i)", options: NodeOptions([:]), inputHashes: [:], files: [])
      try cache.store(key, outputs: [(port: "out", value: value)])
      keys.append(key)
      Thread.sleep(forTimeInterval: 0.02)
    }
    #expect(cache.lookup(keys[0]) != nil)  // now the most recently used
    Thread.sleep(forTimeInterval: 0.02)
    let fourth = try cache.key(type: "t.3", options: NodeOptions([:]), inputHashes: [:], files: [])
    try cache.store(fourth, outputs: [(port: "out", value: value)])
    #expect(cache.lookup(keys[1]) == nil, "the least recently used entry is evicted")
    #expect(cache.lookup(keys[0]) != nil && cache.lookup(keys[2]) != nil && cache.lookup(fourth) != nil)
    #expect(cache.totalSize() <= entrySize * 3)
  }
}

import Foundation
import MMCore
import MMGraph
import Synchronization

/// The on-disk, content-addressed cache of node outputs, shared by runs and processes.
///
/// An entry's key is the SHA-256 of the node type, its options as canonical JSON, the content
/// hashes of its input values and of the files it reads (`NodeDescriptor.filesRead`, e.g. model
/// weights). Entries live in `DIR/v1/entries/ab/<key>.entry`, each written atomically (temporary
/// file, then rename), so concurrent processes see a whole entry or none. Every hit refreshes
/// the entry's time; past the size limit the least recently used entries are removed.
/// Only pure nodes with batch ports are cached (`NodeCache.isCacheable`).
public final class NodeCache: Sendable {
  public let directory: String
  /// Bytes the entries may take before the least recently used are removed.
  public let sizeLimit: Int64
  private let outcomes = Mutex<[String: CacheOutcome]>([:])

  public static let defaultSizeLimit: Int64 = 4 << 30

  /// Opens (creating if needed) the cache under `directory`.
  public init(directory: String, sizeLimit: Int64 = NodeCache.defaultSizeLimit) throws(CacheError) {
    self.directory = directory
    self.sizeLimit = sizeLimit
    for sub in ["v1/entries", "v1/files"] {
      let path = directory + "/" + sub
      do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
        throw .io(path: path, problem: "cannot create the cache folder: \(error.localizedDescription)")
      }
    }
  }

  /// `$XDG_CACHE_HOME/mmgraph`, else `~/.cache/mmgraph`.
  public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment)
    -> String
  {
    if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/mmgraph" }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return home + "/.cache/mmgraph"
  }

  /// Whether outputs of nodes of this type can be cached: pure, and no stream port.
  public static func isCacheable(_ descriptor: NodeDescriptor) -> Bool {
    descriptor.isPure && !descriptor.inputs.contains { $0.type.isStream }
      && !descriptor.outputs.contains { $0.type.isStream } && !descriptor.outputs.isEmpty
  }

  // MARK: Keys

  /// The key of a node run: type, canonical options, input hashes by port, read files' hashes.
  public func key(
    type: String, options: NodeOptions, inputHashes: [String: [UInt8]], files: [String]
  ) throws(CacheError) -> CacheKey {
    var hasher = SHA256()
    hasher.field("mmgraph-cache-v1")
    hasher.field(type)
    hasher.field(canonicalJSON(.object(options.values.map { JSONMember($0.key, $0.value) })))
    for (port, hash) in inputHashes.sorted(by: { $0.key < $1.key }) {
      hasher.field(port)
      hasher.field(SHA256.hexText(hash))
    }
    for file in files.sorted() { hasher.field(try fileHash(file)) }
    return CacheKey(digest: hasher.finalize())
  }

  /// SHA-256 of a file's content as hex; memoized on disk by path, size and modification time
  /// so that large model files are hashed once.
  public func fileHash(_ path: String) throws(CacheError) -> String {
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw .io(path: path, problem: "cannot read: \(String(cString: strerror(errno)))")
    }
    let stamp = "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
    let memo = directory + "/v1/files/" + SHA256.hex(Array(path.utf8))
    if let text = try? String(contentsOfFile: memo, encoding: .utf8) {
      let parts = text.split(separator: "\n")
      if parts.count == 2, parts[0] == stamp { return String(parts[1]) }
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw .io(path: path, problem: "cannot open for reading")
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    while true {
      let chunk: Data
      do { chunk = try handle.read(upToCount: 1 << 22) ?? Data() } catch {
        throw .io(path: path, problem: "read failed: \(error.localizedDescription)")
      }
      if chunk.isEmpty { break }
      chunk.withUnsafeBytes { hasher.update($0) }
    }
    let hex = SHA256.hexText(hasher.finalize())
    try? Data((stamp + "\n" + hex).utf8).write(to: URL(fileURLWithPath: memo), options: .atomic)
    return hex
  }

  // MARK: Entries

  func entryPath(_ key: CacheKey) -> String {
    let hex = key.hex
    return "\(directory)/v1/entries/\(hex.prefix(2))/\(hex).entry"
  }

  /// The output hashes stored for `key`, without loading the values (for `mmgraph plan`).
  public func storedHashes(_ key: CacheKey) -> [String: [UInt8]]? {
    guard let bytes = FileManager.default.contents(atPath: entryPath(key)) else { return nil }
    var reader = ByteReader(Array(bytes))
    guard let header = try? CacheEntry.readHeader(&reader) else { return nil }
    return Dictionary(header.map { ($0.name, $0.hash) }, uniquingKeysWith: { a, _ in a })
  }

  /// The stored outputs for `key`, or nil (a corrupt entry is removed and counts as a miss).
  public func lookup(_ key: CacheKey) -> [(port: String, value: Value)]? {
    let path = entryPath(key)
    guard let bytes = FileManager.default.contents(atPath: path) else { return nil }
    do {
      let outputs = try CacheEntry.decode(Array(bytes))
      _ = utimensat(AT_FDCWD, path, nil, 0)  // now: most recently used
      return outputs
    } catch {
      try? FileManager.default.removeItem(atPath: path)
      return nil
    }
  }

  /// Stores the outputs under `key` atomically, then evicts past the size limit.
  public func store(_ key: CacheKey, outputs: [(port: String, value: Value)]) throws(CacheError) {
    let bytes = CacheEntry.encode(outputs)
    guard Int64(bytes.count) <= sizeLimit else { return }
    let path = entryPath(key)
    let folder = (path as NSString).deletingLastPathComponent
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw .io(path: path, problem: "cannot write: \(error.localizedDescription)")
    }
    evict()
  }

  /// Removes least recently used entries until the total is within the size limit; returns the
  /// bytes removed.
  @discardableResult public func evict() -> Int64 {
    let root = directory + "/v1/entries"
    var entries: [(path: String, size: Int64, time: Double)] = []
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    for folder in folders {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []
      for name in names where name.hasSuffix(".entry") {
        let path = root + "/" + folder + "/" + name
        var info = stat()
        guard stat(path, &info) == 0 else { continue }
        let time = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) * 1e-9
        entries.append((path, Int64(info.st_size), time))
      }
    }
    var total = entries.reduce(Int64(0)) { $0 + $1.size }
    var removed: Int64 = 0
    for entry in entries.sorted(by: { $0.time < $1.time }) where total > sizeLimit {
      if (try? FileManager.default.removeItem(atPath: entry.path)) != nil {
        total -= entry.size
        removed += entry.size
      }
    }
    return removed
  }

  /// Bytes taken by the entries.
  public func totalSize() -> Int64 {
    let root = directory + "/v1/entries"
    var total: Int64 = 0
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let name = enumerator?.nextObject() as? String {
      guard name.hasSuffix(".entry") else { continue }
      var info = stat()
      if stat(root + "/" + name, &info) == 0 { total += Int64(info.st_size) }
    }
    return total
  }

  // MARK: Outcomes (for summaries)

  public func record(node: String, _ outcome: CacheOutcome) { outcomes.withLock { $0[node] = outcome } }
  public func recordedOutcomes() -> [String: CacheOutcome] { outcomes.withLock { $0 } }

  /// Parses a size: `1048576`, `512K`, `64M`, `4G` (binary units).
  public static func parseSize(_ text: String) -> Int64? {
    let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
    var digits = text.uppercased()
    if digits.hasSuffix("B") { digits.removeLast() }
    var scale: Int64 = 1
    if let last = digits.last, let unit = units[last] {
      scale = unit
      digits.removeLast()
    }
    guard let value = Int64(digits), value >= 0 else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: scale)
    return overflow ? nil : product
  }
}

/// A cache address: 32 bytes of SHA-256.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
  public let digest: [UInt8]
  public var hex: String { SHA256.hexText(digest) }
  public var description: String { String(hex.prefix(16)) }
}

/// What the cache did for one node in a run.
public enum CacheOutcome: String, Sendable {
  /// Served from the cache; the node did not run.
  case hit
  /// Ran, and its outputs were stored.
  case stored
  /// Ran; storing failed (the run goes on).
  case storeFailed = "store-failed"
}

/// JSON with object members sorted by key and numbers in one spelling (`2.0` and `2` agree), so
/// equal options give equal keys.
public func canonicalJSON(_ value: JSONValue) -> String {
  switch value {
  case .object(let members):
    let sorted = members.sorted { $0.key < $1.key }
    return "{"
      + sorted.map { JSONValue.quoted($0.key) + ":" + canonicalJSON($0.value) }.joined(separator: ",") + "}"
  case .array(let items): return "[" + items.map(canonicalJSON).joined(separator: ",") + "]"
  case .number(let text):
    if let int = Int(text) { return String(int) }
    guard let double = Double(text) else { return text }
    if double == double.rounded(), abs(double) < 9e15 { return String(Int(double)) }
    return "\(double)"
  default: return value.encoded()
  }
}

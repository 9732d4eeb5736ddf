import Foundation
import MMCore

/// A checkpoint split over several safetensors files, found through its index
/// (`model.safetensors.index.json`):
/// `{"metadata": {"total_size": 123}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors", …}}`.
///
/// Shard paths are relative to the index's directory and may not escape it (no absolute paths,
/// no `..`). Shards open lazily on first use (`.lazy`, the default) or all at once (`.eager`,
/// which also checks that every indexed name is really in its shard). Either way a shard is
/// opened once and shared; lookups are thread-safe.
public final class ShardedSafetensors: WeightStore, @unchecked Sendable {
  public enum Loading: Sendable {
    case lazy
    case eager
  }

  /// The index file's path.
  public let path: String
  /// Tensor name → shard file name, as the index says.
  public let weightMap: [String: String]
  /// Tensor names in the order the index lists them.
  public let names: [String]
  /// Distinct shard file names, in order of first appearance.
  public let shardNames: [String]
  /// The index's `metadata` entries, numbers and booleans as text (e.g. `total_size`).
  public let metadata: [String: String]

  private let directory: URL
  private let lock = NSLock()
  private var openShards: [String: SafetensorsFile] = [:]  // guarded by lock

  /// Largest index file accepted.
  public static let maxIndexLength = 100_000_000

  public init(indexPath: String, loading: Loading = .lazy) throws(WeightFileError) {
    path = indexPath
    directory = URL(fileURLWithPath: indexPath).deletingLastPathComponent()
    let fail = Fail(path: indexPath)
    let file: MappedFile
    do { file = try MappedFile(path: indexPath) } catch { throw WeightFileError(error) }
    guard file.size <= Self.maxIndexLength else {
      throw fail(.header, "index is \(file.size) bytes, over the \(Self.maxIndexLength)-byte limit")
    }
    let bytes = file.buffer(0..<file.size)
    guard String(validating: bytes, as: UTF8.self) != nil else {
      throw fail(.header, "index is not valid UTF-8")
    }
    let json: JSONValue
    do {
      json = try JSONParser.parse(bytes, file: indexPath, maxDepth: 64, recordLocations: false).root
    } catch {
      throw fail(
        error.isDuplicateKey ? .duplicate : .header, "index JSON at byte \(error.offset): \(error.message)")
    }
    guard case .object(let map)? = json["weight_map"] else {
      throw fail(.header, "expected a 'weight_map' object mapping tensor names to shard files")
    }
    var weightMap: [String: String] = [:]
    var names: [String] = []
    var shards: [String] = []
    for member in map {
      guard case .string(let shard) = member.value else {
        throw fail(
          .header, member.key, "weight_map value must be a file name, found \(member.value.describedType)")
      }
      let components = shard.split(separator: "/", omittingEmptySubsequences: false)
      guard !shard.isEmpty, !shard.hasPrefix("/"), !components.contains(".."),
        !components.contains("")
      else {
        throw fail(
          .header, member.key,
          "shard '\(shard)' must be a relative path inside the index's directory")
      }
      if !shards.contains(shard) { shards.append(shard) }
      weightMap[member.key] = shard
      names.append(member.key)
    }
    var metadata: [String: String] = [:]
    if case .object(let entries)? = json["metadata"] {
      for entry in entries {
        switch entry.value {
        case .string(let text): metadata[entry.key] = text
        case .number(let text): metadata[entry.key] = text
        case .bool(let flag): metadata[entry.key] = String(flag)
        default: continue
        }
      }
    }
    self.weightMap = weightMap
    self.names = names
    self.shardNames = shards
    self.metadata = metadata
    if loading == .eager {
      for shard in shards { _ = try self.shard(shard) }
    }
  }

  public func contains(_ name: String) -> Bool { weightMap[name] != nil }

  /// The opened shard `file` (a name from `shardNames`), opening and checking it on first use.
  public func shard(_ file: String) throws(WeightFileError) -> SafetensorsFile {
    lock.lock()
    defer { lock.unlock() }
    if let open = openShards[file] { return open }
    guard shardNames.contains(file) else {
      throw WeightFileError(
        path: path, kind: .missingTensor,
        problem: "no shard '\(file)' in the index; it lists \(shardNames)")
    }
    let opened = try SafetensorsFile(path: directory.appendingPathComponent(file).path)
    for name in names where weightMap[name] == file && !opened.contains(name) {
      throw WeightFileError(
        path: path, tensor: name, kind: .missingTensor,
        problem: "the index maps it to shard '\(file)', which has no such tensor")
    }
    openShards[file] = opened
    return opened
  }

  private func shard(holding name: String) throws(WeightFileError) -> SafetensorsFile {
    guard let file = weightMap[name] else { throw missingTensorError(name) }
    return try shard(file)
  }

  public func info(named name: String) throws(WeightFileError) -> TensorInfo {
    try shard(holding: name).info(named: name)
  }

  public func tensor(named name: String) throws(WeightFileError) -> Tensor {
    try shard(holding: name).tensor(named: name)
  }
}

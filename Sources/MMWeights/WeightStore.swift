import Foundation
import MMCore

/// The dtype and shape of a stored tensor, known without touching its data.
public struct TensorInfo: Equatable, Sendable, CustomStringConvertible {
  public let dtype: DType
  public let shape: [Int]

  public init(dtype: DType, shape: [Int]) {
    self.dtype = dtype
    self.shape = shape
  }

  /// Number of elements (the stores validated that it does not overflow).
  public var count: Int { shape.reduce(1, *) }
  public var byteCount: Int { count * dtype.byteSize }
  public var description: String { "\(dtype.rawValue) \(shapeText(shape))" }
}

/// Name → tensor lookup over a checkpoint, whatever its file layout: one safetensors file
/// (`SafetensorsFile`), a sharded safetensors index (`ShardedSafetensors`), or GGUF.
///
/// Tensors returned are views of the mapped files (no copy). A missing name throws a
/// `WeightFileError` of kind `.missingTensor` that names the key and the nearest existing ones.
///
/// ```swift
/// let store = try openWeightStore(path: "checkpoints/llama")   // dir, file or index.json
/// let wte = try store.tensor(named: "model.embed_tokens.weight")
/// ```
public protocol WeightStore: Sendable {
  /// What the store was opened from (a file or index path), for messages.
  var path: String { get }
  /// Every tensor name, in the store's natural order (file order for one file).
  var names: [String] { get }
  /// Whether a tensor called `name` exists.
  func contains(_ name: String) -> Bool
  /// The dtype and shape of `name`, without reading its data.
  func info(named name: String) throws(WeightFileError) -> TensorInfo
  /// The tensor `name`, a view of the file's bytes.
  func tensor(named name: String) throws(WeightFileError) -> Tensor
}

extension WeightStore {
  /// Every tensor name, sorted (the order Python's `safe_open(...).keys()` gives).
  public var sortedNames: [String] { names.sorted() }

  public func dtype(of name: String) throws(WeightFileError) -> DType {
    try info(named: name).dtype
  }

  public func shape(of name: String) throws(WeightFileError) -> [Int] {
    try info(named: name).shape
  }

  /// The error for a name that is not in this store: it names the key and suggests the
  /// nearest existing names.
  public func missingTensorError(_ name: String) -> WeightFileError {
    let nearest = nearestNames(to: name, in: names)
    let hint =
      nearest.isEmpty
      ? "the store holds no tensors"
      : "nearest names: " + nearest.map { "'\($0)'" }.joined(separator: ", ")
    return WeightFileError(
      path: path, tensor: name, kind: .missingTensor,
      problem: "no such tensor among \(names.count); \(hint)")
  }
}

/// Up to `limit` names from `candidates` closest to `name` by edit distance (ties: shorter
/// first, then alphabetical), for "did you mean" messages.
public func nearestNames(to name: String, in candidates: [String], limit: Int = 3) -> [String] {
  let target = Array(name.utf8)
  let scored = candidates.map { ($0, editDistance(target, Array($0.utf8))) }
  return scored.sorted {
    ($0.1, $0.0.utf8.count, $0.0) < ($1.1, $1.0.utf8.count, $1.0)
  }.prefix(limit).map(\.0)
}

/// Levenshtein distance over bytes (two rows of memory).
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
      current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}

/// Opens a checkpoint by path: a `.safetensors` file, a `*.safetensors.index.json` sharded
/// index, or a directory holding `model.safetensors.index.json` or `model.safetensors`.
public func openWeightStore(path: String) throws(WeightFileError) -> any WeightStore {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
    throw WeightFileError(path: path, kind: .io, problem: "no such file or directory")
  }
  if isDirectory.boolValue {
    let directory = URL(fileURLWithPath: path)
    for candidate in ["model.safetensors.index.json", "model.safetensors"] {
      let file = directory.appendingPathComponent(candidate).path
      if FileManager.default.fileExists(atPath: file) {
        return try openWeightStore(path: file)
      }
    }
    throw WeightFileError(
      path: path, kind: .io,
      problem: "directory holds neither model.safetensors.index.json nor model.safetensors")
  }
  if path.hasSuffix(".json") { return try ShardedSafetensors(indexPath: path) }
  if path.hasSuffix(".safetensors") { return try SafetensorsFile(path: path) }
  if path.hasSuffix(".gguf") { return try GGUFFile(path: path) }
  throw WeightFileError(
    path: path, kind: .unsupported,
    problem: "expected a .safetensors file, a .index.json shard index, a .gguf file or a directory")
}

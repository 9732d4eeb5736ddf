import Foundation
import Synchronization

/// Models loaded once per process and key (a checkpoint path, plus whatever changes what is
/// loaded): the first node that asks loads it, every later node — in this run or the next run of
/// the same process — gets the same instance. Different keys load in parallel; two first asks
/// for one key at once may both load, and the first stored wins.
///
/// ```swift
/// private let checkpoints = LoadedModels<MyCheckpoint>()
/// let checkpoint = try checkpoints(path) { try MyCheckpoint(directory: path) }
/// ```
public final class LoadedModels<Model: Sendable>: Sendable {
  private let models = Mutex<[String: Model]>([:])

  public init() {}

  /// The model under `key`, made by `load` the first time.
  public func callAsFunction(_ key: String, load: () throws -> Model) throws -> Model {
    if let model = models.withLock({ $0[key] }) { return model }
    let model = try load()
    return models.withLock { cache in
      if let existing = cache[key] { return existing }
      cache[key] = model
      return model
    }
  }
}

/// Whether `path` names an existing folder (a checkpoint directory a node is about to load).
public func isDirectory(_ path: String) -> Bool {
  var directory: ObjCBool = false
  return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
}

/// Fails with "<path>: expected <what>" unless `path` is an existing folder — the check a node
/// makes before loading a checkpoint directory (`what`: "a Hugging Face CLIP checkpoint folder
/// (config.json, …)").
public func requireFolder(_ path: String, expected what: String) throws {
  guard isDirectory(path) else { throw NodeFailure("\(path): expected \(what)") }
}

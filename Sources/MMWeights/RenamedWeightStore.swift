import MMCore

/// A view of a store under other names: each `(view, stored)` prefix pair maps a name that
/// starts with `view` to the stored name that starts with `stored` instead. It lets a model read
/// its own key names out of a larger checkpoint — the LLaMA decoder inside a LLaVA or BLIP-2
/// checkpoint (`model.layers.0…` → `language_model.model.layers.0…`) — without copying a
/// tensor. Names outside every pair are hidden; the first matching pair wins.
public struct RenamedWeightStore: WeightStore {
  public let base: any WeightStore
  /// (prefix as the model reads it, prefix as the checkpoint stores it).
  public let prefixes: [(view: String, stored: String)]
  public let names: [String]

  public init(_ base: any WeightStore, prefixes: [(view: String, stored: String)]) {
    self.base = base
    self.prefixes = prefixes
    var seen = Set<String>()
    var names: [String] = []
    for name in base.names {
      for pair in prefixes where name.hasPrefix(pair.stored) {
        let viewed = pair.view + name.dropFirst(pair.stored.count)
        if seen.insert(viewed).inserted { names.append(viewed) }
        break
      }
    }
    self.names = names
  }

  public var path: String { base.path }

  /// The checkpoint's name for `name`, or nil when no pair maps it.
  public func storedName(_ name: String) -> String? {
    for pair in prefixes where name.hasPrefix(pair.view) {
      return pair.stored + name.dropFirst(pair.view.count)
    }
    return nil
  }

  public func contains(_ name: String) -> Bool { storedName(name).map(base.contains) ?? false }

  /// Errors name the checkpoint's own key, the one a user can look up in the file.
  public func info(named name: String) throws(WeightFileError) -> TensorInfo {
    guard let stored = storedName(name) else { throw missingTensorError(name) }
    return try base.info(named: stored)
  }

  public func tensor(named name: String) throws(WeightFileError) -> Tensor {
    guard let stored = storedName(name) else { throw missingTensorError(name) }
    return try base.tensor(named: stored)
  }
}

import MMCore
import MMGraph

/// What the cache will do for one node of a graph, decided before anything runs.
public enum CachePrediction: Sendable, Equatable {
  /// An entry exists: the node will be served from the cache (and its ancestors need not run).
  case hit
  /// The key is known and has no entry: the node runs and its outputs are stored.
  case miss
  /// The key depends on values made during the run (an upstream node runs first).
  case unknown
  /// Not cached: impure, or a stream port.
  case notCacheable

  public var label: String {
    switch self {
    case .hit: return "hit"
    case .miss: return "miss"
    case .unknown: return "after upstream"
    case .notCacheable: return "not cached"
    }
  }
}

extension NodeCache {
  /// Predicts each node's cache outcome (indexed like `graph.nodes`) from the graph inputs'
  /// content hashes and the output hashes stored in entries' headers: a chain of hits is found
  /// without loading any value. Inputs not given make their dependents `unknown`.
  public func predict(_ graph: Graph, inputs: [String: Value]) -> [CachePrediction] {
    predictWithKeys(graph, inputs: inputs).map(\.prediction)
  }

  func predictWithKeys(_ graph: Graph, inputs: [String: Value]) -> [(
    prediction: CachePrediction, key: CacheKey?
  )] {
    var hashes: [PortReference: [UInt8]] = [:]
    for (name, value) in inputs { hashes[.graphInput(name)] = ValueCodec.hash(value) }
    var result: [(prediction: CachePrediction, key: CacheKey?)] = []
    for (index, node) in graph.nodes.enumerated() {
      guard NodeCache.isCacheable(node.descriptor) else {
        result.append((.notCacheable, nil))
        continue
      }
      var inputHashes: [String: [UInt8]] = [:]
      for (port, reference) in node.inputs { inputHashes[port] = hashes[reference] }
      guard inputHashes.count == node.inputs.count,
        let key = try? key(
          type: node.descriptor.type, options: node.options, inputHashes: inputHashes,
          files: node.descriptor.filesRead(node.options))
      else {
        result.append((.unknown, nil))
        continue
      }
      guard let stored = storedHashes(key), node.descriptor.outputs.allSatisfy({ stored[$0.name] != nil })
      else {
        result.append((.miss, key))
        continue
      }
      for (port, hash) in stored { hashes[.node(index, port: port)] = hash }
      result.append((.hit, key))
    }
    return result
  }

  /// The graph to execute with this cache: nodes predicted as hits that the outputs need are
  /// replaced by constants holding their stored outputs (so their ancestors do not run), and
  /// every other cacheable node is wrapped to look up and store its outputs as it runs.
  /// Returns the predictions too (a hit whose entry vanished meanwhile becomes a miss).
  public func prepare(_ graph: Graph, inputs: [String: Value], outputs: [String]? = nil)
    -> (graph: Graph, predictions: [CachePrediction])
  {
    var predicted = predictWithKeys(graph, inputs: inputs)
    var served: [Int: [(port: String, value: Value)]] = [:]
    while true {
      var pruned = graph
      for (index, entry) in predicted.enumerated() where entry.prediction == .hit {
        pruned.nodes[index].inputs = [:]
      }
      var vanished = false
      for index in pruned.neededNodes(for: outputs)
      where predicted[index].prediction == .hit && served[index] == nil {
        if let key = predicted[index].key, let values = lookup(key) {
          served[index] = values
        } else {
          predicted[index].prediction = .miss
          vanished = true
        }
      }
      guard vanished else { break }
    }
    var prepared = wrapping(graph)
    for (index, values) in served {
      let cache = self
      prepared.nodes[index].inputs = [:]
      prepared.nodes[index].descriptor.inputs = []
      prepared.nodes[index].descriptor.make = { _ in CachedConstant(cache: cache, values: values) }
    }
    return (prepared, predicted.map(\.prediction))
  }
}

/// Emits a node's stored outputs (a cache hit found before the run).
final class CachedConstant: Node {
  let cache: NodeCache
  let values: [(port: String, value: Value)]

  init(cache: NodeCache, values: [(port: String, value: Value)]) {
    self.cache = cache
    self.values = values
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    for (port, value) in values { context.emit(port, value, at: .none) }
    cache.record(node: context.nodeName, .hit)
    return .done
  }
}

import MMCore
import MMGraph

extension NodeCache {
  /// `graph` with each cacheable node (`isCacheable`) wrapped so that it is served from the cache
  /// when an entry for its key exists, and stores its outputs after it ran. Works with any
  /// executor: the wrapping happens in the nodes' factories. Only the listed node indices are
  /// wrapped when `only` is given.
  public func wrapping(_ graph: Graph, only: Set<Int>? = nil) -> Graph {
    var wrapped = graph
    for index in graph.nodes.indices where only?.contains(index) ?? true {
      let descriptor = graph.nodes[index].descriptor
      guard NodeCache.isCacheable(descriptor) else { continue }
      let cache = self
      wrapped.nodes[index].descriptor.make = { options in
        CachingNode(cache: cache, descriptor: descriptor, options: options)
      }
    }
    return wrapped
  }
}

/// Serves a pure batch node from the cache, or runs it (opened lazily, so a hit never loads the
/// node's model) and stores what it emitted.
final class CachingNode: Node {
  let cache: NodeCache
  let descriptor: NodeDescriptor
  let options: NodeOptions
  private var inner: (any Node)?
  private var recorder: RecordingContext?
  private var key: CacheKey?
  private var served = false

  init(cache: NodeCache, descriptor: NodeDescriptor, options: NodeOptions) {
    self.cache = cache
    self.descriptor = descriptor
    self.options = options
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    if served { return .done }
    if inner == nil {
      var hashes: [String: [UInt8]] = [:]
      for port in descriptor.inputs {
        if let value = context.input(port.name) { hashes[port.name] = ValueCodec.hash(value) }
      }
      // A key that cannot be made (an unreadable file) means: run uncached; the node reports it.
      key = try? cache.key(
        type: descriptor.type, options: options, inputHashes: hashes, files: descriptor.filesRead(options))
      if let key, let outputs = cache.lookup(key),
        Set(outputs.map(\.port)) == Set(descriptor.outputs.map(\.name))
      {
        for output in outputs { context.emit(output.port, output.value, at: .none) }
        cache.record(node: context.nodeName, .hit)
        served = true
        return .done
      }
      let recorder = RecordingContext(context)
      let node = try descriptor.make(options)
      try node.open(recorder)
      inner = node
      self.recorder = recorder
    }
    recorder!.base = context
    return try inner!.process(recorder!)
  }

  func close(_ context: NodeContext) throws {
    guard let inner, let recorder else { return }
    recorder.base = context
    try inner.close(recorder)
    guard let key, !context.isCancelled else { return }
    let emitted = descriptor.outputs.compactMap { port in
      recorder.emitted[port.name].map { (port: port.name, value: $0) }
    }
    guard emitted.count == descriptor.outputs.count else { return }
    do {
      try cache.store(key, outputs: emitted)
      cache.record(node: context.nodeName, .stored)
    } catch {
      cache.record(node: context.nodeName, .storeFailed)
    }
  }
}

/// Passes everything through to the executor's context and keeps the last value emitted on
/// each port.
final class RecordingContext: NodeContext {
  var base: NodeContext
  private(set) var emitted: [String: Value] = [:]

  init(_ base: NodeContext) { self.base = base }

  var nodeName: String { base.nodeName }
  func input(_ port: String) -> Value? { base.input(port) }
  var timestamp: Timestamp { base.timestamp }
  func emit(_ port: String, _ value: Value, at timestamp: Timestamp) {
    emitted[port] = value
    base.emit(port, value, at: timestamp)
  }
  func progress(_ done: Int, of total: Int, unit: String) { base.progress(done, of: total, unit: unit) }
  func partial(_ port: String, text: String) { base.partial(port, text: text) }
  var isCancelled: Bool { base.isCancelled }
}

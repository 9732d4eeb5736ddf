import MMCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a node does next: one `process` call with its inputs, or its `close`.
public enum NodeStep: Sendable {
  case process(inputs: [String: Value], timestamp: Timestamp)
  case close
}

/// How a node is driven, from its connected inputs and declared outputs (see `Node`).
public enum NodeMode: Sendable {
  /// No connected stream input, no stream output: one `process` call.
  case batch
  /// No connected stream input, a stream output: `process` until `.done`.
  case source
  /// Connected stream inputs: one `process` per aligned timestamp.
  case streaming
}

/// One node instance during a run, and the semantics both executors share: input queues,
/// timestamp alignment, the lifecycle calls, output checks, events. It is the `NodeContext` the
/// node sees.
///
/// Not thread-safe: an executor serializes the queue side (`deliver`, `endInput`, `takeStep`,
/// `finish`, `queuedCount`) under its own lock, and runs the call side (`open`, `perform`,
/// `takeEmitted`) on one thread at a time. The two sides share no mutable state.
public final class NodeRun: NodeContext, @unchecked Sendable {
  /// Index in `Graph.nodes`.
  public let index: Int
  public let graphNode: GraphNode
  public let mode: NodeMode
  private let node: any Node
  private let cancellation: CancellationToken
  private let observer: (any RunObserver)?
  private let origin: ContinuousClock.Instant

  // Queue side (executor lock).
  private let batchPorts: [String]
  private let streamPorts: [String]
  private var batchValues: [String: Value] = [:]
  private var queues: [String: PacketQueue] = [:]
  private var ended: Set<String> = []
  private var processDone = false
  /// True once `close` ran (or the node was abandoned).
  public private(set) var isClosed = false

  // Call side (the executing thread).
  public private(set) var isOpen = false
  private var current: [String: Value] = [:]
  private var currentTimestamp = Timestamp.none
  private var outbox: [(port: String, packet: Packet)] = []
  private var lastStreamTimestamp: [String: Timestamp] = [:]
  private var batchEmitted: Set<String> = []
  private var violation: RunError?
  private var calls = 0
  private var busy = Duration.zero

  /// Makes the node instance (its descriptor's factory; a throw is reported as an open failure).
  public init(
    index: Int, node graphNode: GraphNode, cancellation: CancellationToken,
    observer: (any RunObserver)?, origin: ContinuousClock.Instant
  ) throws(RunError) {
    self.index = index
    self.graphNode = graphNode
    self.cancellation = cancellation
    self.observer = observer
    self.origin = origin
    let declared = Dictionary(
      graphNode.descriptor.inputs.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    func isStream(_ port: String) -> Bool {
      (graphNode.inputTypes[port] ?? declared[port])?.isStream ?? false
    }
    let connected = graphNode.inputs.keys.sorted()
    batchPorts = connected.filter { !isStream($0) }
    streamPorts = connected.filter(isStream)
    for port in streamPorts { queues[port] = PacketQueue() }
    if !streamPorts.isEmpty {
      mode = .streaming
    } else if graphNode.descriptor.outputs.contains(where: { $0.type.isStream })
      || graphNode.outputTypes.values.contains(where: { $0.isStream })
    {
      mode = .source
    } else {
      mode = .batch
    }
    do {
      node = try graphNode.descriptor.make(graphNode.options)
    } catch {
      throw .nodeFailed(node: graphNode.name, phase: .open, inputs: "", underlying: error)
    }
  }

  // MARK: Queue side

  /// Hands a packet to an input port; dropped once the node is closed.
  public func deliver(_ port: String, _ packet: Packet) throws(RunError) {
    if isClosed { return }
    if queues[port] != nil {
      queues[port]!.append(packet)
    } else if batchValues[port] != nil {
      throw .contractViolation(
        node: graphNode.name,
        message: "batch input '\(port)' received a second packet (at \(packet.timestamp)); "
          + "a batch port takes one value per run")
    } else {
      batchValues[port] = packet.value
    }
  }

  /// The producer of `port` has finished: no more packets will come.
  public func endInput(_ port: String) { ended.insert(port) }

  /// Packets waiting on a stream input (0 for batch inputs).
  public func queuedCount(_ port: String) -> Int { queues[port]?.count ?? 0 }

  /// The next call, or nil while inputs are missing. Stream inputs are aligned: packets whose
  /// timestamp cannot appear on every stream are dropped; the node closes once a stream has
  /// ended and is empty. Takes the inputs it returns off the queues.
  public func takeStep() throws(RunError) -> NodeStep? {
    if isClosed { return nil }
    if processDone { return .close }
    for port in batchPorts where batchValues[port] == nil {
      if ended.contains(port) {
        throw .contractViolation(
          node: graphNode.name, message: "input '\(port)' received no value: its producer emitted nothing")
      }
      return nil
    }
    if mode != .streaming { return .process(inputs: batchValues, timestamp: .none) }
    while true {
      if streamPorts.contains(where: { queues[$0]!.isEmpty && ended.contains($0) }) {
        processDone = true
        return .close
      }
      if streamPorts.contains(where: { queues[$0]!.isEmpty }) { return nil }
      let latest = streamPorts.map { queues[$0]!.first!.timestamp }.max()!
      var aligned = true
      for port in streamPorts {
        while let head = queues[port]!.first, head.timestamp < latest { _ = queues[port]!.removeFirst() }
        if queues[port]!.isEmpty { aligned = false }
      }
      guard aligned else { continue }
      var inputs = batchValues
      for port in streamPorts { inputs[port] = queues[port]!.removeFirst().value }
      return .process(inputs: inputs, timestamp: latest)
    }
  }

  /// Records the outcome of `step`: a batch node runs once; `.done` ends processing.
  public func finish(_ step: NodeStep, _ result: ProcessResult) {
    switch step {
    case .close:
      isClosed = true
      queues = queues.mapValues { _ in PacketQueue() }
    case .process:
      if mode == .batch || result == .done { processDone = true }
    }
  }

  /// Marks the node closed without calling it (the run is failing); its queues are dropped.
  public func abandon() {
    isClosed = true
    queues = queues.mapValues { _ in PacketQueue() }
  }

  // MARK: Call side

  public func open() throws(RunError) {
    observer?.observe(.nodeStarted(node: graphNode.name, at: .now - origin))
    try call(.open, timestamp: .none) { try node.open(self) }
    isOpen = true
  }

  /// Runs one step; `.close` returns `.done`. Emitted packets wait in `takeEmitted()`.
  public func perform(_ step: NodeStep) throws(RunError) -> ProcessResult {
    switch step {
    case .process(let inputs, let timestamp):
      current = inputs
      currentTimestamp = timestamp
      defer { current = [:] }
      var result = ProcessResult.done
      try call(.process, timestamp: timestamp) { result = try node.process(self) }
      return result
    case .close:
      current = [:]
      currentTimestamp = .none
      try call(.close, timestamp: .none) { try node.close(self) }
      observer?.observe(.nodeFinished(node: graphNode.name, at: .now - origin, calls: calls, busy: busy))
      return .done
    }
  }

  /// Calls `close` on a failing run, ignoring what it throws or emits.
  public func closeQuietly() {
    guard isOpen else { return }
    isOpen = false
    try? node.close(self)
    outbox = []
  }

  /// Packets emitted since the last call, in emission order.
  public func takeEmitted() -> [(port: String, packet: Packet)] {
    defer { outbox = [] }
    return outbox
  }

  private func call(_ phase: NodePhase, timestamp: Timestamp, _ body: () throws -> Void) throws(RunError) {
    let start = ContinuousClock.now
    do {
      try body()
    } catch {
      throw .nodeFailed(
        node: graphNode.name, phase: phase, inputs: describeInputs(current), underlying: error)
    }
    let duration = ContinuousClock.now - start
    calls += 1
    busy += duration
    observer?.observe(
      .call(
        NodeCallSpan(
          node: graphNode.name, phase: phase, timestamp: timestamp, start: start - origin,
          duration: duration, thread: currentThreadID())))
    if let violation {
      self.violation = nil
      throw violation
    }
  }

  // MARK: NodeContext

  public var nodeName: String { graphNode.name }
  public func input(_ port: String) -> Value? { current[port] }
  public var timestamp: Timestamp { currentTimestamp }
  public var isCancelled: Bool { cancellation.isCancelled }

  public func emit(_ port: String, _ value: Value, at timestamp: Timestamp) {
    guard violation == nil else { return }
    let name = graphNode.name
    guard
      let declared = graphNode.outputTypes[port]
        ?? graphNode.descriptor.outputs.first(where: { $0.name == port })?.type
    else {
      let ports = graphNode.descriptor.outputs.map(\.name).joined(separator: ", ")
      violation = .contractViolation(
        node: name, message: "emitted on unknown output '\(port)' (outputs: \(ports))")
      return
    }
    var bindings: [String: Int] = [:]
    guard declared.element.accepts(value.portType, bindings: &bindings) == nil else {
      violation = .outputTypeMismatch(node: name, port: port, expected: declared, found: value.portType)
      return
    }
    if declared.isStream {
      if let last = lastStreamTimestamp[port], timestamp <= last {
        violation = .contractViolation(
          node: name,
          message: "stream output '\(port)' went from timestamp \(last) to \(timestamp); "
            + "timestamps must increase")
        return
      }
      lastStreamTimestamp[port] = timestamp
    } else if !batchEmitted.insert(port).inserted {
      violation = .contractViolation(
        node: name, message: "batch output '\(port)' was emitted twice; a batch port takes one value per run")
      return
    }
    outbox.append((port, Packet(value, at: timestamp)))
    observer?.observe(.emitted(node: name, port: port, timestamp: timestamp))
  }

  public func progress(_ done: Int, of total: Int, unit: String) {
    observer?.observe(.progress(node: graphNode.name, done: done, total: total, unit: unit))
  }

  public func partial(_ port: String, text: String) {
    observer?.observe(.partial(node: graphNode.name, port: port, text: text))
  }
}

/// A FIFO of packets with O(1) removal at the front.
struct PacketQueue {
  private var items: [Packet] = []
  private var head = 0

  var count: Int { items.count - head }
  var isEmpty: Bool { head == items.count }
  var first: Packet? { isEmpty ? nil : items[head] }

  mutating func append(_ packet: Packet) { items.append(packet) }

  mutating func removeFirst() -> Packet {
    let packet = items[head]
    head += 1
    if head >= 32 && head * 2 >= items.count {
      items.removeFirst(head)
      head = 0
    }
    return packet
  }
}

/// `a: tensor<f32>[2, 3], b: text` — the inputs of a failing call, for its message.
func describeInputs(_ inputs: [String: Value]) -> String {
  inputs.keys.sorted().map { "\($0): \(inputs[$0]!.portType)" }.joined(separator: ", ")
}

func currentThreadID() -> UInt64 {
  #if canImport(Glibc)
    return UInt64(pthread_self())
  #else
    return UInt64(UInt(bitPattern: pthread_self()))
  #endif
}

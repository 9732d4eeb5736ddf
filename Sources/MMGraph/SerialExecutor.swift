import MMCore
import Synchronization

/// Runs a loaded graph. Both executors implement it: `SerialExecutor` (deterministic, one
/// thread, the reference) and MMRuntime's parallel `Scheduler`; for the same graph and inputs
/// they return the same outputs.
public protocol GraphExecutor {
  /// Runs the nodes that `outputs` need (all graph outputs when nil) on `inputs` (one packet per
  /// batch input, any number in increasing timestamps per stream input) and returns every
  /// packet of each requested output, in emission order.
  func run(
    _ graph: Graph, inputs: [String: [Packet]], outputs: [String]?, observer: (any RunObserver)?
  ) throws(RunError) -> [String: [Packet]]
}

extension GraphExecutor {
  public func run(_ graph: Graph, inputs: [String: [Packet]]) throws(RunError) -> [String: [Packet]] {
    try run(graph, inputs: inputs, outputs: nil, observer: nil)
  }
}

/// Why a run stopped.
public enum RunError: Error, CustomStringConvertible, Sendable {
  /// The run's `CancellationToken` was set (Ctrl-C).
  case cancelled
  /// A node's factory, `open`, `process` or `close` threw. `inputs` lists the call's inputs
  /// with their types and shapes.
  case nodeFailed(node: String, phase: NodePhase, inputs: String, underlying: any Error)
  /// A node emitted a value that does not fit its declared output port.
  case outputTypeMismatch(node: String, port: String, expected: PortType, found: PortType)
  /// A node broke the lifecycle contract (unknown port, batch port emitted twice, timestamps not
  /// increasing, a required input that never came).
  case contractViolation(node: String, message: String)
  /// The graph inputs or requested outputs do not fit the graph.
  case invalidInput(name: String, message: String)

  /// The node the error is about, if any.
  public var node: String? {
    switch self {
    case .nodeFailed(let node, _, _, _), .outputTypeMismatch(let node, _, _, _),
      .contractViolation(let node, _):
      return node
    case .cancelled, .invalidInput: return nil
    }
  }

  public var underlying: (any Error)? {
    if case .nodeFailed(_, _, _, let error) = self { return error }
    return nil
  }

  public var message: String { description }

  public var description: String {
    switch self {
    case .cancelled: return "the run was cancelled"
    case .nodeFailed(let node, let phase, let inputs, let error):
      let with = inputs.isEmpty ? "" : " (inputs: \(inputs))"
      return "node '\(node)' failed in \(phase.rawValue)\(with): \(error)"
    case .outputTypeMismatch(let node, let port, let expected, let found):
      var bindings: [String: Int] = [:]
      // The reason adds detail (which dimension) only when the kinds agree.
      let why =
        found.kindName != expected.element.kindName
        ? "" : expected.element.accepts(found, bindings: &bindings).map { " (\($0))" } ?? ""
      return "node '\(node)' emitted \(found) on output '\(port)', which is declared \(expected)\(why)"
    case .contractViolation(let node, let message): return "node '\(node)': \(message)"
    case .invalidInput(let name, let message): return "graph input/output '\(name)': \(message)"
    }
  }
}

/// A node lifecycle call.
public enum NodePhase: String, Sendable {
  /// The check before the run (`NodeDescriptor.preflight`).
  case preflight
  case open, process, close
}

/// One timed call of a node, for traces. Times are measured from the start of the run.
public struct NodeCallSpan: Sendable {
  public var node: String
  public var phase: NodePhase
  /// The packet timestamp of a stream call (`.none` otherwise).
  public var timestamp: Timestamp
  public var start: Duration
  public var duration: Duration
  /// The OS thread that ran the call.
  public var thread: UInt64
}

/// What an executor reports while it runs (for progress bars, JSON-lines events and traces).
public enum RunEvent: Sendable {
  /// The nodes that will run, in topological order.
  case runStarted(nodes: [String])
  /// A node is being opened.
  case nodeStarted(node: String, at: Duration)
  /// Any open/process/close call finished.
  case call(NodeCallSpan)
  /// A node reported progress through its context.
  case progress(node: String, done: Int, total: Int, unit: String)
  case emitted(node: String, port: String, timestamp: Timestamp)
  /// A piece of text output `port` is still producing (see `NodeContext.partial`).
  case partial(node: String, port: String, text: String)
  /// A node closed; `busy` is the time spent in its calls.
  case nodeFinished(node: String, at: Duration, calls: Int, busy: Duration)
  case runFinished(elapsed: Duration, error: RunError?)
}

/// Receives run events. The parallel scheduler calls it from several threads at once.
public protocol RunObserver: AnyObject, Sendable {
  func observe(_ event: RunEvent)
}

/// Set once to cancel a run: nodes see `isCancelled`, executors stop scheduling, close what they
/// opened and throw `RunError.cancelled`. From a signal, call `cancel()` in a dispatch signal
/// source (not in a raw signal handler).
public final class CancellationToken: Sendable {
  private let flag = Atomic<Bool>(false)
  private let handlers = Mutex<(next: Int, byID: [Int: @Sendable () -> Void])>((0, [:]))

  public init() {}

  public var isCancelled: Bool { flag.load(ordering: .acquiring) }

  /// Sets the token and runs the registered handlers (once).
  public func cancel() {
    guard !flag.exchange(true, ordering: .acquiringAndReleasing) else { return }
    let all = handlers.withLock { state in
      defer { state.byID = [:] }
      return state.byID.sorted { $0.key < $1.key }.map(\.value)
    }
    for handler in all { handler() }
  }

  /// Runs `handler` on cancellation (now, if already cancelled); returns an id for `remove`.
  @discardableResult
  public func onCancel(_ handler: @escaping @Sendable () -> Void) -> Int {
    let id = handlers.withLock { state in
      state.next += 1
      state.byID[state.next] = handler
      return state.next
    }
    if isCancelled, handlers.withLock({ $0.byID.removeValue(forKey: id) }) != nil { handler() }
    return id
  }

  public func remove(_ id: Int) { _ = handlers.withLock { $0.byID.removeValue(forKey: id) } }
}

/// The deterministic reference executor: runs the needed nodes on the calling thread in
/// topological order. Every node is opened first; then each node in turn gets its inputs (whole
/// streams, already complete), processes them to the end and closes before the next one starts.
/// Streams are held in memory whole, so this is for tests and small graphs; `Scheduler` runs the
/// same semantics with bounded queues.
public struct SerialExecutor: GraphExecutor, Sendable {
  public var cancellation: CancellationToken

  public init(cancellation: CancellationToken = CancellationToken()) {
    self.cancellation = cancellation
  }

  public func run(
    _ graph: Graph, inputs: [String: [Packet]], outputs: [String]?, observer: (any RunObserver)?
  ) throws(RunError) -> [String: [Packet]] {
    let origin = ContinuousClock.now
    let plan = try RunPlan(graph: graph, outputs: outputs)
    try plan.validate(inputs: inputs)
    observer?.observe(.runStarted(nodes: plan.order.map { graph.nodes[$0].name }))
    var runners: [NodeRun] = []
    var collected = plan.emptyOutputs(inputs: inputs)
    do throws(RunError) {
      for position in plan.order.indices {
        runners.append(
          try NodeRun(
            index: plan.order[position], node: graph.nodes[plan.order[position]],
            cancellation: cancellation, observer: observer, origin: origin))
      }
      for (position, runner) in runners.enumerated() {
        try runner.open()
        try plan.route(runner.takeEmitted(), from: position, to: runners, outputs: &collected)
      }
      try plan.deliverInputs(inputs, to: runners)
      for (position, runner) in runners.enumerated() {
        while true {
          if cancellation.isCancelled { throw .cancelled }
          guard let step = try runner.takeStep() else {
            throw .contractViolation(
              node: runner.nodeName, message: "waits for input that can no longer come (executor bug)")
          }
          let result = try runner.perform(step)
          runner.finish(step, result)
          try plan.route(runner.takeEmitted(), from: position, to: runners, outputs: &collected)
          if case .close = step { break }
        }
        plan.endOutputs(of: position, in: runners)
      }
    } catch {
      for runner in runners where !runner.isClosed { runner.closeQuietly() }
      observer?.observe(.runFinished(elapsed: .now - origin, error: error))
      throw error
    }
    observer?.observe(.runFinished(elapsed: .now - origin, error: nil))
    return collected
  }
}

/// The part of a graph one run needs, wired by position (index into `order`): who consumes each
/// output port, which graph outputs tap it, and the checks on graph inputs. Shared by both
/// executors so they route packets the same way.
public struct RunPlan: Sendable {
  public struct Consumer: Sendable {
    public var node: Int
    public var port: String
  }

  public let graph: Graph
  /// Indices in `graph.nodes` of the nodes that run, in topological order.
  public let order: [Int]
  /// `consumers[position][outputPort]`: the inputs fed by that port.
  public let consumers: [[String: [Consumer]]]
  /// The positions feeding each position (distinct).
  public let producers: [[Int]]
  /// The inputs fed by each graph input.
  public let inputConsumers: [String: [Consumer]]
  /// The requested graph outputs.
  public let requested: [GraphOutput]
  /// `taps[position][outputPort]`: the requested graph outputs that port feeds.
  private let taps: [[String: [String]]]

  public init(graph: Graph, outputs names: [String]?) throws(RunError) {
    for name in names ?? [] where !graph.outputs.contains(where: { $0.name == name }) {
      let known = graph.outputs.map(\.name).joined(separator: ", ")
      throw .invalidInput(name: name, message: "the graph has no such output (outputs: \(known))")
    }
    self.graph = graph
    order = graph.neededNodes(for: names)
    requested = graph.outputs.filter { names?.contains($0.name) ?? true }
    var position: [Int: Int] = [:]
    for (p, index) in order.enumerated() { position[index] = p }
    var consumers = [[String: [Consumer]]](repeating: [:], count: order.count)
    var producers = [[Int]](repeating: [], count: order.count)
    var inputConsumers: [String: [Consumer]] = [:]
    for (p, index) in order.enumerated() {
      for port in graph.nodes[index].inputs.keys.sorted() {
        switch graph.nodes[index].inputs[port]! {
        case .graphInput(let name): inputConsumers[name, default: []].append(Consumer(node: p, port: port))
        case .node(let source, let sourcePort):
          let s = position[source]!
          consumers[s][sourcePort, default: []].append(Consumer(node: p, port: port))
          if !producers[p].contains(s) { producers[p].append(s) }
        }
      }
    }
    var taps = [[String: [String]]](repeating: [:], count: order.count)
    for output in requested {
      if case .node(let index, let port) = output.source {
        taps[position[index]!][port, default: []].append(output.name)
      }
    }
    self.consumers = consumers
    self.producers = producers
    self.inputConsumers = inputConsumers
    self.taps = taps
  }

  /// Every needed graph input is given, fits its declared type, has one packet if it is a batch
  /// input and increasing timestamps if it is a stream; no unknown input is given; then every
  /// needed node's preflight check passes (`Graph.preflight`).
  public func validate(inputs: [String: [Packet]]) throws(RunError) {
    let declared = Dictionary(graph.inputs.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    for name in inputs.keys.sorted() where declared[name] == nil {
      let known = graph.inputs.map(\.name).joined(separator: ", ")
      throw .invalidInput(name: name, message: "the graph has no such input (inputs: \(known))")
    }
    var needed = Set(inputConsumers.keys)
    for output in requested {
      if case .graphInput(let name) = output.source { needed.insert(name) }
    }
    for name in needed.sorted() {
      guard let type = declared[name] else {
        throw .invalidInput(name: name, message: "used by a node but not declared as a graph input")
      }
      guard let packets = inputs[name] else {
        throw .invalidInput(name: name, message: "missing: expected \(type)")
      }
      if !type.isStream && packets.count != 1 {
        throw .invalidInput(name: name, message: "a batch input takes one value, found \(packets.count)")
      }
      for (i, packet) in packets.enumerated() {
        var bindings: [String: Int] = [:]
        if let why = type.element.accepts(packet.value.portType, bindings: &bindings) {
          throw .invalidInput(
            name: name,
            message: "expected \(type), found \(packet.value.portType)"
              + (packet.value.portType.kindName == type.element.kindName ? " (\(why))" : ""))
        }
        if i > 0 && packet.timestamp <= packets[i - 1].timestamp {
          throw .invalidInput(
            name: name,
            message: "stream timestamps must increase: packet \(i) is at \(packet.timestamp), "
              + "after \(packets[i - 1].timestamp)")
        }
      }
    }
    var known: [String: Value] = [:]
    for (name, packets) in inputs where declared[name]?.isStream == false && packets.count == 1 {
      known[name] = packets[0].value
    }
    _ = try graph.preflight(nodes: order, inputs: known)
  }

  /// The result dictionary before the run: empty for node outputs, filled for outputs that
  /// pass a graph input straight through.
  public func emptyOutputs(inputs: [String: [Packet]]) -> [String: [Packet]] {
    var result: [String: [Packet]] = [:]
    for output in requested {
      if case .graphInput(let name) = output.source {
        result[output.name] = inputs[name] ?? []
      } else {
        result[output.name] = []
      }
    }
    return result
  }

  /// Hands every graph input to its consumers and ends those inputs.
  public func deliverInputs(_ inputs: [String: [Packet]], to runners: [NodeRun]) throws(RunError) {
    for name in inputConsumers.keys.sorted() {
      for consumer in inputConsumers[name]! {
        for packet in inputs[name] ?? [] { try runners[consumer.node].deliver(consumer.port, packet) }
        runners[consumer.node].endInput(consumer.port)
      }
    }
  }

  /// Hands packets emitted by the node at `position` to its consumers and the graph outputs.
  public func route(
    _ emitted: [(port: String, packet: Packet)], from position: Int, to runners: [NodeRun],
    outputs: inout [String: [Packet]]
  ) throws(RunError) {
    for (port, packet) in emitted {
      for consumer in consumers[position][port] ?? [] {
        try runners[consumer.node].deliver(consumer.port, packet)
      }
      for name in taps[position][port] ?? [] { outputs[name]!.append(packet) }
    }
  }

  /// The node at `position` has closed: every input it feeds ends.
  public func endOutputs(of position: Int, in runners: [NodeRun]) {
    for list in consumers[position].values {
      for consumer in list { runners[consumer.node].endInput(consumer.port) }
    }
  }
}

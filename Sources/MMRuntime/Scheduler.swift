import Foundation
import MMCore
import MMGraph
import Synchronization

/// The parallel dataflow executor: runs the nodes a run needs as tasks on a `ThreadPool` (the
/// shared one by default, so kernels called by nodes and the nodes themselves share one thread
/// budget), with the semantics of `SerialExecutor` and the same outputs for any thread count.
///
/// - All needed nodes are opened first (in parallel); then every node whose inputs are ready
///   runs; independent branches run at once.
/// - Each stream edge is a FIFO queue of `queueCapacity` packets. Back-pressure: a node is not
///   scheduled while any queue it feeds is full (a call may still emit a few packets past the
///   limit; none are dropped). A source is re-scheduled as soon as its consumers take packets.
///   If every node is blocked (alignment waiting on one input while another's queue is full),
///   the first blocked node in topological order runs past its limit, so nothing deadlocks.
/// - A node instance runs on one thread at a time; packets of a stream keep their order.
/// - The first node failure cancels the run; cancellation (the token, e.g. Ctrl-C) stops
///   scheduling, waits for running calls, closes every opened node and throws the failure or
///   `RunError.cancelled`.
public struct Scheduler: GraphExecutor, Sendable {
  /// The pool to run on; nil: `ThreadPool.shared` at the time of the run.
  public var pool: ThreadPool?
  /// Packets per stream edge before its producer is held back.
  public var queueCapacity: Int
  public var cancellation: CancellationToken

  public init(
    pool: ThreadPool? = nil, queueCapacity: Int = 8, cancellation: CancellationToken = CancellationToken()
  ) {
    self.pool = pool
    self.queueCapacity = max(1, queueCapacity)
    self.cancellation = cancellation
  }

  public func run(
    _ graph: Graph, inputs: [String: [Packet]], outputs: [String]?, observer: (any RunObserver)?
  ) throws(RunError) -> [String: [Packet]] {
    let origin = ContinuousClock.now
    let plan = try RunPlan(graph: graph, outputs: outputs)
    try plan.validate(inputs: inputs)
    observer?.observe(.runStarted(nodes: plan.order.map { graph.nodes[$0].name }))
    let runToken = CancellationToken()
    let link = cancellation.onCancel { runToken.cancel() }
    defer { cancellation.remove(link) }
    var runners: [NodeRun] = []
    do throws(RunError) {
      for index in plan.order {
        runners.append(
          try NodeRun(
            index: index, node: graph.nodes[index], cancellation: runToken, observer: observer,
            origin: origin))
      }
    } catch {
      observer?.observe(.runFinished(elapsed: .now - origin, error: error))
      throw error
    }
    let run = SchedulerRun(
      plan: plan, runners: runners, inputs: inputs, pool: pool ?? .shared, capacity: queueCapacity,
      token: runToken)
    let result = run.execute()
    switch result {
    case .success(let outputs):
      observer?.observe(.runFinished(elapsed: .now - origin, error: nil))
      return outputs
    case .failure(let error):
      observer?.observe(.runFinished(elapsed: .now - origin, error: error))
      throw error
    }
  }
}

/// The state of one parallel run. Scheduling state lives under `lock`; node calls run outside
/// it on the task that owns the node (`running[p]`).
final class SchedulerRun: @unchecked Sendable {
  let plan: RunPlan
  let runners: [NodeRun]
  let inputs: [String: [Packet]]
  let pool: ThreadPool
  let capacity: Int
  let token: CancellationToken
  /// Steps a task runs back to back before it yields its thread to other queued nodes.
  let stepsPerTask = 32

  private let lock = NSLock()
  private let finished = Atomic<Bool>(false)
  // Guarded by `lock`:
  private var running: [Bool]
  private var outputs: [String: [Packet]]
  private var inFlight = 0
  private var pendingOpens: Int
  private var closedCount = 0
  private var failure: RunError?
  private var worklist: [Int] = []

  init(
    plan: RunPlan, runners: [NodeRun], inputs: [String: [Packet]], pool: ThreadPool, capacity: Int,
    token: CancellationToken
  ) {
    self.plan = plan
    self.runners = runners
    self.inputs = inputs
    self.pool = pool
    self.capacity = capacity
    self.token = token
    running = Array(repeating: false, count: runners.count)
    outputs = plan.emptyOutputs(inputs: inputs)
    pendingOpens = runners.count
  }

  func execute() -> Result<[String: [Packet]], RunError> {
    lock.lock()
    if runners.isEmpty {
      finished.store(true, ordering: .releasing)
    } else {
      inFlight = runners.count
      for p in runners.indices { pool.submit { self.open(p) } }
    }
    lock.unlock()
    pool.help { finished.load(ordering: .acquiring) }
    // Every task has ended: this thread owns all nodes now.
    lock.lock()
    defer { lock.unlock() }
    if failure == nil && token.isCancelled { failure = .cancelled }
    if let failure {
      for runner in runners where !runner.isClosed { runner.closeQuietly() }
      return .failure(failure)
    }
    return .success(outputs)
  }

  // MARK: Tasks (run on the pool, without the lock)

  private func open(_ p: Int) {
    var error: RunError?
    if !token.isCancelled {
      do throws(RunError) { try runners[p].open() } catch let e { error = e }
    }
    let emitted = runners[p].takeEmitted()
    lock.lock()
    defer { lock.unlock() }
    if let error { fail(error) }
    route(emitted, from: p)
    pendingOpens -= 1
    if pendingOpens == 0 && !token.isCancelled {
      do throws(RunError) { try plan.deliverInputs(inputs, to: runners) } catch { fail(error) }
      worklist.append(contentsOf: runners.indices)
      drain()
    }
    taskEnded()
  }

  private func step(_ p: Int, _ first: NodeStep) {
    var step = first
    var budget = stepsPerTask
    while true {
      var result = ProcessResult.done
      var error: RunError?
      if token.isCancelled {
        error = .cancelled
      } else {
        do throws(RunError) { result = try runners[p].perform(step) } catch let e { error = e }
      }
      let emitted = runners[p].takeEmitted()
      lock.lock()
      if let error {
        // An error while cancelling is a consequence of the cancellation: keep the cause.
        if !token.isCancelled { fail(error) }
        running[p] = false
        taskEnded()
        lock.unlock()
        return
      }
      runners[p].finish(step, result)
      route(emitted, from: p)
      worklist.append(contentsOf: plan.consumers[p].values.joined().map(\.node))
      if case .close = step {
        closedCount += 1
        plan.endOutputs(of: p, in: runners)
        worklist.append(contentsOf: plan.producers[p])  // its queues were dropped: room upstream
      }
      budget -= 1
      var next: NodeStep?
      if budget > 0 && !token.isCancelled && !outputsFull(p) { next = takeStep(p) }
      if next == nil {
        running[p] = false
        worklist.append(p)
      }
      drain()
      if next == nil {
        taskEnded()
        lock.unlock()
        return
      }
      lock.unlock()
      step = next!
    }
  }

  // MARK: Scheduling (called with the lock held)

  /// Runs `consider` on every queued position, including those it adds.
  private func drain() {
    while let p = worklist.popLast() { consider(p) }
  }

  /// Starts a task for node `p` if it is idle, has a step to take and room downstream.
  private func consider(_ p: Int, ignoringBackPressure: Bool = false) {
    guard !token.isCancelled, pendingOpens == 0, !running[p], !runners[p].isClosed else { return }
    guard ignoringBackPressure || !outputsFull(p), let step = takeStep(p) else { return }
    running[p] = true
    inFlight += 1
    pool.submit { self.step(p, step) }
  }

  /// The node's next step; taking it consumed inputs, so its producers may have room again.
  private func takeStep(_ p: Int) -> NodeStep? {
    do throws(RunError) {
      guard let step = try runners[p].takeStep() else { return nil }
      worklist.append(contentsOf: plan.producers[p])
      return step
    } catch {
      fail(error)
      return nil
    }
  }

  private func outputsFull(_ p: Int) -> Bool {
    for list in plan.consumers[p].values {
      for c in list where !runners[c.node].isClosed && runners[c.node].queuedCount(c.port) >= capacity {
        return true
      }
    }
    return false
  }

  private func route(_ emitted: [(port: String, packet: Packet)], from p: Int) {
    guard !emitted.isEmpty else { return }
    do throws(RunError) { try plan.route(emitted, from: p, to: runners, outputs: &outputs) } catch {
      fail(error)
    }
  }

  /// Keeps the first error and cancels the run.
  private func fail(_ error: RunError) {
    if failure == nil { failure = error }
    token.cancel()
  }

  /// A task is over: when none is left, the run is complete, cancelled or blocked; a blocked run
  /// lets its first runnable node past back-pressure.
  private func taskEnded() {
    inFlight -= 1
    guard inFlight == 0 else { return }
    if !token.isCancelled && closedCount < runners.count {
      for p in runners.indices where !runners[p].isClosed {
        consider(p, ignoringBackPressure: true)
        drain()
        if inFlight > 0 { return }
      }
      let waiting = runners.first { !$0.isClosed }!
      if !token.isCancelled {
        fail(
          .contractViolation(
            node: waiting.nodeName, message: "waits for input that can no longer come (scheduler stalled)"))
      }
    }
    finished.store(true, ordering: .releasing)
    pool.wakeHelpers()
  }
}

import Foundation
import MMCore
import MMGraph
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

// Test-only node types, a graph builder and harness helpers for the executor tests.

/// Builds a `Graph` in code (what the loader produces from a file).
struct GraphBuilder {
  var inputs: [(name: String, type: PortType)] = []
  var nodes: [GraphNode] = []
  var outputs: [GraphOutput] = []

  /// Adds a node; `inputs` maps its input ports to sources. Returns its index.
  @discardableResult
  mutating func add(
    _ name: String, _ descriptor: NodeDescriptor, options: [String: JSONValue] = [:],
    inputs: [String: PortReference] = [:]
  ) -> Int {
    var inputTypes: [String: PortType] = [:]
    for port in inputs.keys { inputTypes[port] = descriptor.inputs.first { $0.name == port }!.type }
    nodes.append(
      GraphNode(
        name: name, descriptor: descriptor, options: NodeOptions(options), inputs: inputs,
        inputTypes: inputTypes,
        outputTypes: Dictionary(uniqueKeysWithValues: descriptor.outputs.map { ($0.name, $0.type) })))
    return nodes.count - 1
  }

  mutating func output(_ name: String, _ source: PortReference, _ type: PortType) {
    outputs.append(GraphOutput(name: name, source: source, type: type))
  }

  var graph: Graph { Graph(file: "test.json", inputs: inputs, outputs: outputs, nodes: nodes) }
}

func descriptor(
  _ type: String, inputs: [PortSpec], outputs: [PortSpec],
  make: @escaping @Sendable (NodeOptions) throws -> any Node
) -> NodeDescriptor {
  NodeDescriptor(type: type, doc: "test node", example: "{}", inputs: inputs, outputs: outputs, make: make)
}

let vector = PortType.tensor(dtype: .f32, shape: [.symbol("n")])
let intStream = PortType.stream(.tokens)

struct TestError: Error, CustomStringConvertible {
  var description: String
}

// MARK: - Batch arithmetic (random DAGs)

/// out = tanh(a/2 + b/4 − c/8 + k/1000), alt = a − out, elementwise over f32 vectors, split
/// over `pool` in fixed chunks (a kernel inside a node). Checks it never runs on two threads.
final class MixNode: Node {
  let k: Float
  let pool: ThreadPool
  let meter: BudgetMeter?
  let exclusive = Atomic<Bool>(false)
  let overlaps: Counter

  init(k: Int, pool: ThreadPool, meter: BudgetMeter?, overlaps: Counter) {
    self.k = Float(k)
    self.pool = pool
    self.meter = meter
    self.overlaps = overlaps
  }

  func process(_ context: NodeContext) throws -> ProcessResult {
    if exclusive.exchange(true, ordering: .acquiring) { overlaps.add() }
    defer { exclusive.store(false, ordering: .releasing) }
    meter?.enter()
    defer { meter?.exit() }
    guard case .tensor(let a)? = context.input("a") else { throw TestError(description: "no a") }
    let av = a.floats()
    var bv = [Float](repeating: 0, count: av.count)
    var cv = bv
    if case .tensor(let b)? = context.input("b") { bv = b.floats() }
    if case .tensor(let c)? = context.input("c") { cv = c.floats() }
    var out = [Float](repeating: 0, count: av.count)
    var alt = out
    let chunk = 8
    out.withUnsafeMutableBufferPointer { o in
      alt.withUnsafeMutableBufferPointer { l in
        pool.parallelFor((av.count + chunk - 1) / chunk) { c in
          meter?.enter()
          for i in c * chunk..<min(av.count, (c + 1) * chunk) {
            o[i] = tanh(av[i] * 0.5 + bv[i] * 0.25 - cv[i] * 0.125 + k * 0.001)
            l[i] = av[i] - o[i]
          }
          meter?.exit()
        }
      }
    }
    context.emit("out", .tensor(Tensor(out, shape: [out.count])))
    context.emit("alt", .tensor(Tensor(alt, shape: [alt.count])))
    return .done
  }
}

func mixDescriptor(pool: ThreadPool, meter: BudgetMeter? = nil, overlaps: Counter) -> NodeDescriptor {
  descriptor(
    "test.mix",
    inputs: [
      PortSpec("a", vector, doc: ""), PortSpec("b", vector, doc: "", optional: true),
      PortSpec("c", vector, doc: "", optional: true),
    ],
    outputs: [PortSpec("out", vector, doc: ""), PortSpec("alt", vector, doc: "")]
  ) { options in MixNode(k: options.int("k"), pool: pool, meter: meter, overlaps: overlaps) }
}

// MARK: - Streams of integers

/// Emits `count` packets [i] at timestamps 10·i µs, `burst` per call. Optionally sleeps per
/// call and cancels `token` after `cancelAfter` packets.
final class CounterSource: Node {
  let count: Int
  let burst: Int
  var next = 0
  init(count: Int, burst: Int) {
    self.count = count
    self.burst = max(1, burst)
  }
  func process(_ context: NodeContext) throws -> ProcessResult {
    for _ in 0..<burst where next < count {
      context.emit("out", .tokens([Int32(next)]), at: Timestamp(microseconds: Int64(next) * 10))
      next += 1
    }
    context.progress(next, of: count, unit: "packets")
    return next < count ? .more : .done
  }
}

/// out = in + add; with `keepEvery` > 1 only packets whose value is a multiple pass.
final class MapNode: Node {
  let add: Int32
  let keepEvery: Int32
  init(add: Int, keepEvery: Int) {
    self.add = Int32(add)
    self.keepEvery = Int32(max(1, keepEvery))
  }
  func process(_ context: NodeContext) throws -> ProcessResult {
    guard case .tokens(let t)? = context.input("in") else { throw TestError(description: "no in") }
    if t[0] % keepEvery == 0 { context.emit("out", .tokens(t.map { $0 + add })) }
    return .more
  }
}

/// Joins two aligned streams: out = a ++ b at their common timestamp.
final class ZipNode: Node {
  func process(_ context: NodeContext) throws -> ProcessResult {
    guard case .tokens(let a)? = context.input("a"), case .tokens(let b)? = context.input("b") else {
      throw TestError(description: "missing input")
    }
    context.emit("out", .tokens(a + b))
    return .more
  }
}

/// Sums a stream; emits [packets, sum of first elements] as a batch value at close.
final class SumNode: Node {
  var packets: Int32 = 0
  var sum: Int32 = 0
  func process(_ context: NodeContext) throws -> ProcessResult {
    guard case .tokens(let t)? = context.input("in") else { throw TestError(description: "no in") }
    packets += 1
    sum &+= t[0]
    return .more
  }
  func close(_ context: NodeContext) throws {
    context.emit("total", .tokens([packets, sum]))
  }
}

let counterDescriptor = descriptor(
  "test.counter", inputs: [], outputs: [PortSpec("out", intStream, doc: "")]
) { o in CounterSource(count: o.int("count"), burst: o.int("burst")) }

let mapDescriptor = descriptor(
  "test.map", inputs: [PortSpec("in", intStream, doc: "")], outputs: [PortSpec("out", intStream, doc: "")]
) { o in MapNode(add: o.int("add"), keepEvery: o.int("keep_every")) }

let zipDescriptor = descriptor(
  "test.zip", inputs: [PortSpec("a", intStream, doc: ""), PortSpec("b", intStream, doc: "")],
  outputs: [PortSpec("out", intStream, doc: "")]
) { _ in ZipNode() }

let sumDescriptor = descriptor(
  "test.sum", inputs: [PortSpec("in", intStream, doc: "")], outputs: [PortSpec("total", .tokens, doc: "")]
) { _ in SumNode() }

// MARK: - Harness

final class Counter: Sendable {
  private let value = Atomic<Int>(0)
  func add() { value.add(1, ordering: .relaxed) }
  var count: Int { value.load(ordering: .relaxed) }
}

/// Runs `body` on its own thread; returns nil (and records a failure) if it takes longer than
/// `seconds`, so a deadlock fails the test instead of hanging it.
func withTimeout<T: Sendable>(
  _ seconds: Double, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation,
  _ body: @escaping @Sendable () -> T
) -> T? {
  let result = Mutex<T?>(nil)
  let done = DispatchSemaphore(value: 0)
  let thread = Thread {
    let value = body()
    result.withLock { $0 = value }
    done.signal()
  }
  thread.stackSize = 8 << 20
  thread.start()
  if done.wait(timeout: .now() + seconds) == .timedOut {
    Issue.record("\(what) did not finish within \(seconds) s (deadlock?)", sourceLocation: sourceLocation)
    return nil
  }
  return result.withLock { $0 }
}

/// Counts the threads inside measured work at once (a thread counts once, however deeply its
/// calls nest) and keeps the high-water mark.
final class BudgetMeter: Sendable {
  private let depths = Mutex<[UInt: Int]>([:])
  private let running = Atomic<Int>(0)
  private let high = Atomic<Int>(0)

  func enter() {
    let thread = threadID()
    if depths.withLock({ d in
      d[thread, default: 0] += 1
      return d[thread] == 1
    }) {
      high.max(running.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
    }
  }

  func exit() {
    let thread = threadID()
    if depths.withLock({ d in
      d[thread, default: 0] -= 1
      return d[thread] == 0
    }) {
      running.subtract(1, ordering: .relaxed)
    }
  }

  var peak: Int { high.load(ordering: .relaxed) }

  private func threadID() -> UInt {
    #if canImport(Glibc)
      return UInt(pthread_self())
    #else
      return UInt(bitPattern: pthread_self())
    #endif
  }
}

/// Packets as comparable text: `t=10:[3, 4]`.
func render(_ packets: [Packet]) -> [String] {
  packets.map { p in
    switch p.value {
    case .tokens(let t): return "t=\(p.timestamp.microseconds):\(t)"
    case .tensor(let t): return "t=\(p.timestamp.microseconds):\(t.floats().map(\.bitPattern))"
    default: return "t=\(p.timestamp.microseconds):\(p.value.portType)"
    }
  }
}

/// A run's outcome as a value (to carry it out of the timeout thread).
func attempt<T>(_ body: () throws(RunError) -> T) -> Result<T, RunError> {
  do throws(RunError) { return .success(try body()) } catch { return .failure(error) }
}

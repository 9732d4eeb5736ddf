import Foundation
import MMCore
import MMGraph
import MMRuntime
import Synchronization
import Testing

/// Logs every open and close by node name.
final class Tracker: Sendable {
  private let log = Mutex<[String]>([])
  func record(_ line: String) { log.withLock { $0.append(line) } }
  var lines: [String] { log.withLock { $0 } }
  func count(_ line: String) -> Int { lines.filter { $0 == line }.count }
}

/// Wraps a node to log its lifecycle and optionally throw at its `failAt`-th process call.
final class TrackedNode: Node {
  let inner: any Node
  let tracker: Tracker
  let failAt: Int
  var calls = 0
  init(_ inner: any Node, tracker: Tracker, failAt: Int) {
    self.inner = inner
    self.tracker = tracker
    self.failAt = failAt
  }
  func open(_ context: NodeContext) throws {
    tracker.record("open \(context.nodeName)")
    try inner.open(context)
  }
  func process(_ context: NodeContext) throws -> ProcessResult {
    calls += 1
    if calls == failAt { throw TestError(description: "boom at call \(calls)") }
    return try inner.process(context)
  }
  func close(_ context: NodeContext) throws {
    tracker.record("close \(context.nodeName)")
    try inner.close(context)
  }
}

func tracked(_ d: NodeDescriptor, _ tracker: Tracker) -> NodeDescriptor {
  var copy = d
  let make = d.make
  copy.make = { options in
    TrackedNode(try make(options), tracker: tracker, failAt: options.values["fail_at"]?.int ?? -1)
  }
  return copy
}

/// Cancels a token once a node has emitted `after` packets.
final class CancelAfter: RunObserver {
  let token: CancellationToken
  let after: Int
  let seen = Atomic<Int>(0)
  init(_ token: CancellationToken, after: Int) {
    self.token = token
    self.after = after
  }
  func observe(_ event: RunEvent) {
    if case .emitted = event, seen.add(1, ordering: .relaxed).newValue == after { token.cancel() }
  }
}

@Suite("Executors: failure, cancellation, checks") struct FailureTests {
  /// source → map → boom (throws at call 100) → sum, beside an independent source → sum.
  static func failingGraph(_ tracker: Tracker) -> Graph {
    var b = GraphBuilder()
    let src = b.add(
      "src", tracked(counterDescriptor, tracker), options: ["count": JSONValue(5000), "burst": JSONValue(1)])
    let map = b.add(
      "map", tracked(mapDescriptor, tracker), options: ["add": JSONValue(1), "keep_every": JSONValue(1)],
      inputs: ["in": .node(src, port: "out")])
    let boom = b.add(
      "boom", tracked(mapDescriptor, tracker),
      options: ["add": JSONValue(0), "keep_every": JSONValue(1), "fail_at": JSONValue(100)],
      inputs: ["in": .node(map, port: "out")])
    let sum = b.add("sum", tracked(sumDescriptor, tracker), inputs: ["in": .node(boom, port: "out")])
    let other = b.add(
      "other", tracked(counterDescriptor, tracker),
      options: ["count": JSONValue(5000), "burst": JSONValue(1)])
    let otherSum = b.add(
      "otherSum", tracked(sumDescriptor, tracker), inputs: ["in": .node(other, port: "out")])
    b.output("total", .node(sum, port: "total"), .tokens)
    b.output("other", .node(otherSum, port: "total"), .tokens)
    return b.graph
  }

  static func executors(_ token: CancellationToken, threads: Int) -> [(
    String, any GraphExecutor, ThreadPool?
  )] {
    let pool = ThreadPool(threads: threads)
    return [
      ("serial", SerialExecutor(cancellation: token), nil),
      ("scheduler", Scheduler(pool: pool, queueCapacity: 2, cancellation: token), pool),
    ]
  }

  @Test(arguments: [1, 2, 4])
  func failingNodeStopsTheRunAndClosesOpenedNodes(_ threads: Int) throws {
    for (name, executor, pool) in Self.executors(CancellationToken(), threads: threads) {
      defer { pool?.shutdown() }
      let tracker = Tracker()
      let graph = Self.failingGraph(tracker)
      let box = UncheckedBox(executor)
      let result = withTimeout(30, "\(name) with a failing node") {
        attempt { () throws(RunError) in try box.value.run(graph, inputs: [:]) }
      }
      guard case .failure(let error)? = result else {
        Issue.record("\(name): the run did not fail")
        continue
      }
      #expect(error.node == "boom", "\(name): \(error)")
      guard case .nodeFailed(_, let phase, let inputs, let underlying) = error else {
        Issue.record("\(name): expected nodeFailed, got \(error)")
        continue
      }
      #expect(phase == .process)
      #expect(inputs == "in: tokens", "\(name): \(inputs)")
      #expect("\(underlying)" == "boom at call 100")
      #expect(error.description.contains("node 'boom' failed in process"), "\(error)")
      for node in ["src", "map", "boom", "sum", "other", "otherSum"] {
        #expect(
          tracker.count("open \(node)") == 1, "\(name): \(node) opened \(tracker.count("open \(node)"))×")
        #expect(
          tracker.count("close \(node)") == 1, "\(name): \(node) closed \(tracker.count("close \(node)"))×")
      }
    }
  }

  @Test(arguments: [1, 3])
  func cancellationMidStream(_ threads: Int) throws {
    for name in ["serial", "scheduler"] {
      let pool = ThreadPool(threads: threads)
      defer { pool.shutdown() }
      let tracker = Tracker()
      var b = GraphBuilder()
      let src = b.add(
        "src", tracked(counterDescriptor, tracker),
        options: ["count": JSONValue(1_000_000), "burst": JSONValue(1)])
      let map = b.add(
        "map", tracked(mapDescriptor, tracker), options: ["add": JSONValue(1), "keep_every": JSONValue(1)],
        inputs: ["in": .node(src, port: "out")])
      let sum = b.add("sum", tracked(sumDescriptor, tracker), inputs: ["in": .node(map, port: "out")])
      b.output("total", .node(sum, port: "total"), .tokens)
      let graph = b.graph
      let runToken = CancellationToken()
      let box = UncheckedBox(
        name == "serial"
          ? SerialExecutor(cancellation: runToken) as any GraphExecutor
          : Scheduler(pool: pool, queueCapacity: 2, cancellation: runToken))
      let observer = CancelAfter(runToken, after: 500)
      let result = withTimeout(30, "\(name) cancelled mid-stream") {
        attempt { () throws(RunError) in
          try box.value.run(graph, inputs: [:], outputs: nil, observer: observer)
        }
      }
      guard case .failure(let error)? = result, case .cancelled = error else {
        Issue.record("\(name): expected RunError.cancelled, got \(String(describing: result))")
        continue
      }
      for node in ["src", "map", "sum"] {
        #expect(
          tracker.count("open \(node)") == 1 && tracker.count("close \(node)") == 1,
          "\(name): \(tracker.lines)")
      }
    }
  }

  @Test func emittedValueIsCheckedAgainstThePortType() throws {
    let liar = descriptor(
      "test.liar", inputs: [], outputs: [PortSpec("out", .tensor(dtype: .f32, shape: [.fixed(3)]), doc: "")]
    ) { _ in LiarNode() }
    var b = GraphBuilder()
    let n = b.add("liar", liar)
    b.output("out", .node(n, port: "out"), .tensor(dtype: .f32, shape: [.fixed(3)]))
    let graph = b.graph
    let pool = ThreadPool(threads: 2)
    defer { pool.shutdown() }
    for executor in [SerialExecutor() as any GraphExecutor, Scheduler(pool: pool)] {
      #expect {
        _ = try executor.run(graph, inputs: [:])
      } throws: { error in
        guard let e = error as? RunError, case .outputTypeMismatch(let node, let port, _, _) = e else {
          return false
        }
        return node == "liar" && port == "out"
          && e.description
            == "node 'liar' emitted tensor<f32>[2] on output 'out', which is declared tensor<f32>[3] (dimension 0 is 2, expected 3)"
      }
    }
  }

  @Test func badGraphInputsAndOutputsAreReported() throws {
    var b = GraphBuilder()
    b.inputs = [("x", vector)]
    let overlaps = Counter()
    let n = b.add("n", mixDescriptor(pool: .shared, overlaps: overlaps), inputs: ["a": .graphInput("x")])
    b.output("y", .node(n, port: "out"), vector)
    let graph = b.graph
    let good = Packet(.tensor(Tensor([1, 2], shape: [2])))
    let cases: [([String: [Packet]], [String]?, String)] = [
      ([:], nil, "graph input/output 'x': missing: expected tensor<f32>[n]"),
      (["x": [good, good]], nil, "graph input/output 'x': a batch input takes one value, found 2"),
      (["x": [Packet(.text("hi"))]], nil, "graph input/output 'x': expected tensor<f32>[n], found text"),
      (["x": [good], "z": [good]], nil, "graph input/output 'z': the graph has no such input (inputs: x)"),
      (["x": [good]], ["q"], "graph input/output 'q': the graph has no such output (outputs: y)"),
    ]
    for (inputs, outputs, message) in cases {
      for executor in [SerialExecutor() as any GraphExecutor, Scheduler()] {
        #expect {
          _ = try executor.run(graph, inputs: inputs, outputs: outputs, observer: nil)
        } throws: { error in
          (error as? RunError)?.description == message
        }
      }
    }
  }

  @Test func onlyNeededNodesRunAndFactoryErrorsNameTheNode() throws {
    let tracker = Tracker()
    var b = GraphBuilder()
    let a = b.add(
      "a", tracked(counterDescriptor, tracker), options: ["count": JSONValue(3), "burst": JSONValue(1)])
    let s = b.add("s", tracked(sumDescriptor, tracker), inputs: ["in": .node(a, port: "out")])
    let unused = b.add(
      "unused", tracked(counterDescriptor, tracker), options: ["count": JSONValue(3), "burst": JSONValue(1)])
    b.output("total", .node(s, port: "total"), .tokens)
    b.output("other", .node(unused, port: "out"), intStream)
    let graph = b.graph
    let out = try Scheduler().run(graph, inputs: [:], outputs: ["total"], observer: nil)
    #expect(render(out["total"]!) == ["t=\(Int64.min):[3, 3]"])
    #expect(tracker.count("open unused") == 0 && tracker.count("open a") == 1)

    let broken = descriptor("test.broken", inputs: [], outputs: [PortSpec("out", .text, doc: "")]) { _ in
      throw TestError(description: "weights missing")
    }
    var c = GraphBuilder()
    let n = c.add("loader", broken)
    c.output("out", .node(n, port: "out"), .text)
    for executor in [SerialExecutor() as any GraphExecutor, Scheduler()] {
      #expect {
        _ = try executor.run(c.graph, inputs: [:])
      } throws: { error in
        (error as? RunError)?.description == "node 'loader' failed in open: weights missing"
      }
    }
  }
}

final class LiarNode: Node {
  func process(_ context: NodeContext) throws -> ProcessResult {
    context.emit("out", .tensor(Tensor([1, 2], shape: [2])))
    return .done
  }
}

/// Lets a non-Sendable executor value cross into the timeout thread (it is used by one thread).
struct UncheckedBox<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

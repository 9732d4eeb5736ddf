import Foundation
import MMCore
import MMGraph
import MMKernels
import MMRuntime
import MMTestSupport
import Testing

/// x: [rows, dim] → tanh(x · W) with W [dim, dim] seeded by the `seed` option; the GEMM runs
/// on the scheduler's pool.
final class DenseNode: Node {
  let weights: [Float]
  let pool: ThreadPool
  init(seed: Int, dim: Int, pool: ThreadPool) {
    weights = randomFloats(dim * dim, seed: UInt64(seed), low: -0.2, high: 0.2)
    self.pool = pool
  }
  func process(_ context: NodeContext) throws -> ProcessResult {
    guard case .tensor(let x)? = context.input("x") else { throw TestError(description: "no x") }
    let rows = x.shape[0]
    let dim = x.shape[1]
    let input = x.floats()
    var out = [Float](repeating: 0, count: rows * dim)
    input.withUnsafeBufferPointer { a in
      weights.withUnsafeBufferPointer { w in
        out.withUnsafeMutableBufferPointer { c in
          gemm(
            m: rows, n: dim, k: dim, a: MatrixOperand(a.baseAddress!, ld: dim),
            b: MatrixOperand(w.baseAddress!, ld: dim), c: c.baseAddress!, ldc: dim, pool: pool)
        }
      }
    }
    context.emit("y", .tensor(Tensor(out.map { tanh($0) }, shape: [rows, dim])))
    return .done
  }
}

let matrix = PortType.tensor(dtype: .f32, shape: [.symbol("rows"), .symbol("dim")])

func denseDescriptor(pool: ThreadPool) -> NodeDescriptor {
  descriptor(
    "test.dense", inputs: [PortSpec("x", matrix, doc: "")], outputs: [PortSpec("y", matrix, doc: "")]
  ) {
    o in DenseNode(seed: o.int("seed"), dim: o.int("dim"), pool: pool)
  }
}

@Suite("Scheduler: thread budget and traces") struct BudgetAndTraceTests {
  /// Eight independent branches of kernel-calling nodes: at most `threads` threads ever work at
  /// once, and GEMM chains give the serial executor's bits for every thread count.
  @Test(arguments: [1, 2, 3, 4])
  func budgetHoldsWhileNodesCallKernels(_ threads: Int) throws {
    let pool = ThreadPool(threads: threads)
    defer { pool.shutdown() }
    let meter = BudgetMeter()
    let overlaps = Counter()
    let mix = mixDescriptor(pool: pool, meter: meter, overlaps: overlaps)
    let dense = denseDescriptor(pool: pool)
    var b = GraphBuilder()
    b.inputs = [("x", vector), ("m", matrix)]
    for branch in 0..<8 {
      var last = PortReference.graphInput("x")
      var lastDense = PortReference.graphInput("m")
      for depth in 0..<6 {
        last = .node(
          b.add(
            "mix\(branch)_\(depth)", mix, options: ["k": JSONValue(branch * 10 + depth)], inputs: ["a": last]),
          port: "out")
        if depth < 3 {
          lastDense = .node(
            b.add(
              "dense\(branch)_\(depth)", dense,
              options: ["seed": JSONValue(branch * 7 + depth), "dim": JSONValue(96)], inputs: ["x": lastDense]
            ),
            port: "y")
        }
      }
      b.output("v\(branch)", last, vector)
      b.output("d\(branch)", lastDense, matrix)
    }
    let inputs: [String: [Packet]] = [
      "x": [Packet(.tensor(Tensor(randomFloats(4096, seed: 1), shape: [4096])))],
      "m": [Packet(.tensor(Tensor(randomFloats(40 * 96, seed: 2), shape: [40, 96])))],
    ]
    let graph = b.graph
    let result = withTimeout(60, "budget graph, \(threads) threads") {
      attempt { () throws(RunError) in try Scheduler(pool: pool).run(graph, inputs: inputs) }
    }
    let outputs = try #require(result).get()
    #expect(meter.peak <= threads, "\(meter.peak) threads worked at once with a budget of \(threads)")
    #expect(overlaps.count == 0)
    let serial = try SerialExecutor().run(graph, inputs: inputs)
    for (name, packets) in serial {
      #expect(render(outputs[name]!) == render(packets), "\(name) differs at \(threads) threads")
    }
  }

  @Test func chromeTraceAndProgressEvents() throws {
    let trace = ChromeTrace()
    let updates = Counter()
    let progress = ProgressObserver(interval: .zero) { _, _ in updates.add() }
    let lines = LineCollector()
    let graph = StreamTests.fanGraph(count: 200, burst: 4, keep: 2)
    let pool = ThreadPool(threads: 2)
    defer { pool.shutdown() }
    _ = try Scheduler(pool: pool).run(
      graph, inputs: [:], outputs: nil, observer: ObserverGroup([trace, progress, lines]))

    let data = Data(trace.json.utf8)
    let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let events = try #require(root["traceEvents"] as? [[String: Any]])
    let complete = events.filter { $0["ph"] as? String == "X" }
    #expect(complete.count == trace.calls.count && complete.count > 200)
    for event in complete {
      #expect(event["name"] is String && event["ts"] is NSNumber && event["dur"] is NSNumber)
      #expect(event["pid"] as? Int == 1 && (event["tid"] as? Int ?? 0) >= 1)
    }
    let names = Set(complete.compactMap { $0["name"] as? String })
    #expect(names == Set(graph.nodes.map(\.name)))

    #expect(progress.snapshot.count == graph.nodes.count)
    #expect(progress.snapshot.allSatisfy { $0.state == .finished })
    let source = progress.snapshot.first { $0.node == "source" }
    #expect(source?.done == 200 && source?.total == 200 && source?.unit == "packets")
    #expect(updates.count >= graph.nodes.count * 2)

    let kinds = lines.lines.compactMap { line -> String? in
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      return object?["event"] as? String
    }
    #expect(kinds.count == lines.lines.count, "every line is a JSON object")
    #expect(kinds.first == "run_started" && kinds.last == "run_finished")
    #expect(kinds.filter { $0 == "node_finished" }.count == graph.nodes.count)
  }
}

final class LineCollector: RunObserver, @unchecked Sendable {
  private let lock = NSLock()
  private var collected: [String] = []
  func observe(_ event: RunEvent) {
    guard let line = event.jsonLine else { return }
    lock.lock()
    collected.append(line)
    lock.unlock()
  }
  var lines: [String] {
    lock.lock()
    defer { lock.unlock() }
    return collected
  }
}

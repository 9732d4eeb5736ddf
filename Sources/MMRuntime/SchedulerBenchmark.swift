import Foundation
import MMCore
import MMGraph

/// Benchmarks of the scheduler itself (not timed tests): what a node costs to schedule, and how
/// two independent heavy branches speed up with a second thread. `mmgraph bench scheduler`
/// calls these; the heavy work is passed in (a GEMM from the CLI), since MMRuntime does not
/// import the kernels.
public enum SchedulerBenchmark {
  /// A chain of `nodes` trivial nodes (each adds 1 to a one-token value). Returns the best
  /// wall time per node over `repeats` runs, in microseconds.
  public static func chainOverhead(
    nodes: Int, executor: any GraphExecutor, repeats: Int = 5
  ) throws(RunError) -> Double {
    var graph = Graph(file: "bench", inputs: [("x", .tokens)], outputs: [], nodes: [])
    var last = PortReference.graphInput("x")
    for i in 0..<max(1, nodes) {
      graph.nodes.append(node("n\(i)", incrementDescriptor, inputs: ["x": last]))
      last = .node(i, port: "y")
    }
    graph.outputs = [GraphOutput(name: "y", source: last, type: .tokens)]
    let inputs = ["x": [Packet(.tokens([0]))]]
    var best = Duration.seconds(1e9)
    for _ in 0..<max(1, repeats) {
      let start = ContinuousClock.now
      let out = try executor.run(graph, inputs: inputs, outputs: nil, observer: nil)
      best = min(best, .now - start)
      guard case .tokens(let t)? = out["y"]?.first?.value, t == [Int32(truncatingIfNeeded: nodes)] else {
        throw .contractViolation(node: "bench", message: "the chain computed a wrong result")
      }
    }
    return seconds(best) * 1e6 / Double(max(1, nodes))
  }

  /// Two independent chains of `depth` nodes, each node calling `work(pool)` (e.g. a GEMM that
  /// spreads over `pool`), run by a `Scheduler` on `pool`. Returns the best wall time in seconds.
  public static func twoBranches(
    depth: Int, pool: ThreadPool, repeats: Int = 3, work: @escaping @Sendable (ThreadPool) -> Void
  ) throws(RunError) -> Double {
    let heavy = NodeDescriptor(
      type: "bench.heavy", doc: "Calls the benchmark's work once per value.", example: "{}",
      inputs: [PortSpec("x", .tokens, doc: "")], outputs: [PortSpec("y", .tokens, doc: "")]
    ) { _ in HeavyNode(pool: pool, work: work) }
    var graph = Graph(file: "bench", inputs: [("x", .tokens)], outputs: [], nodes: [])
    for branch in 0..<2 {
      var last = PortReference.graphInput("x")
      for i in 0..<max(1, depth) {
        graph.nodes.append(node("b\(branch)_\(i)", heavy, inputs: ["x": last]))
        last = .node(graph.nodes.count - 1, port: "y")
      }
      graph.outputs.append(GraphOutput(name: "y\(branch)", source: last, type: .tokens))
    }
    let scheduler = Scheduler(pool: pool)
    var best = Duration.seconds(1e9)
    for _ in 0..<max(1, repeats) {
      let start = ContinuousClock.now
      _ = try scheduler.run(graph, inputs: ["x": [Packet(.tokens([0]))]], outputs: nil, observer: nil)
      best = min(best, .now - start)
    }
    return seconds(best)
  }

  static func seconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) + Double(atto) * 1e-18
  }

  static func node(_ name: String, _ descriptor: NodeDescriptor, inputs: [String: PortReference]) -> GraphNode
  {
    GraphNode(
      name: name, descriptor: descriptor, options: NodeOptions([:]), inputs: inputs,
      inputTypes: ["x": .tokens], outputTypes: ["y": .tokens])
  }

  static let incrementDescriptor = NodeDescriptor(
    type: "bench.increment", doc: "y = x + 1 (a trivial node).", example: "{}",
    inputs: [PortSpec("x", .tokens, doc: "")], outputs: [PortSpec("y", .tokens, doc: "")]
  ) { _ in IncrementNode() }
}

private final class IncrementNode: Node {
  func process(_ context: NodeContext) throws -> ProcessResult {
    guard case .tokens(let t)? = context.input("x") else { return .done }
    context.emit("y", .tokens(t.map { $0 &+ 1 }))
    return .done
  }
}

private final class HeavyNode: Node {
  let pool: ThreadPool
  let work: @Sendable (ThreadPool) -> Void
  init(pool: ThreadPool, work: @escaping @Sendable (ThreadPool) -> Void) {
    self.pool = pool
    self.work = work
  }
  func process(_ context: NodeContext) throws -> ProcessResult {
    work(pool)
    if let x = context.input("x") { context.emit("y", x) }
    return .done
  }
}

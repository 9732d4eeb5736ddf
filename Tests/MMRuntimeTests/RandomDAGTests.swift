import MMCore
import MMGraph
import MMRuntime
import Testing

/// Random DAGs of hundreds of arithmetic nodes (random fan-in and fan-out, nodes that call a
/// kernel on the pool) run on the parallel scheduler with random thread counts and queue sizes:
/// every output must equal the serial executor's, bit for bit.
@Suite("Scheduler: random DAGs") struct RandomDAGTests {
  struct Case: Sendable, CustomStringConvertible {
    var seed: UInt64
    var description: String { "seed \(seed)" }
  }

  @Test(arguments: (0..<16).map { Case(seed: UInt64($0)) })
  func parallelEqualsSerial(_ c: Case) throws {
    var rng = SeededRandom(seed: 0xDA6 &+ c.seed)
    let threads = 1 + Int(rng.next() % 8)
    let capacity = 1 + Int(rng.next() % 8)
    let pool = ThreadPool(threads: threads)
    defer { pool.shutdown() }
    let overlaps = Counter()
    let mix = mixDescriptor(pool: pool, overlaps: overlaps)
    let nodeCount = 150 + Int(rng.next() % 250)
    let width = 8 + Int(rng.next() % 64)

    var builder = GraphBuilder()
    var inputs: [String: [Packet]] = [:]
    for i in 0..<3 {
      builder.inputs.append(("x\(i)", vector))
      inputs["x\(i)"] = [Packet(.tensor(Tensor(rng.uniform(width), shape: [width])))]
    }
    var sources: [PortReference] = (0..<3).map { .graphInput("x\($0)") }
    var consumed = Set<Int>()
    for n in 0..<nodeCount {
      func pick() -> PortReference {
        // Mostly recent producers (deep chains), sometimes any (long edges, wide fan-out).
        let recent = rng.next() % 3 != 0
        let span = recent ? min(sources.count, 12) : sources.count
        return sources[sources.count - 1 - Int(rng.next() % UInt64(span))]
      }
      var wiring: [String: PortReference] = ["a": pick()]
      if rng.next() % 2 == 0 { wiring["b"] = pick() }
      if rng.next() % 3 == 0 { wiring["c"] = pick() }
      for case .node(let index, _) in wiring.values { consumed.insert(index) }
      let index = builder.add("n\(n)", mix, options: ["k": JSONValue(Int(rng.next() % 1000))], inputs: wiring)
      sources.append(.node(index, port: "out"))
      sources.append(.node(index, port: "alt"))
    }
    for index in builder.nodes.indices where !consumed.contains(index) || rng.next() % 10 == 0 {
      builder.output("o\(index)", .node(index, port: rng.next() % 2 == 0 ? "out" : "alt"), vector)
    }
    builder.output("passthrough", .graphInput("x1"), vector)
    let graph = builder.graph
    // A third of the cases ask for a few outputs only: just the nodes they need run.
    var requested: [String]? = nil
    if rng.next() % 3 == 0 {
      requested = graph.outputs.map(\.name).filter { _ in rng.next() % 4 == 0 } + ["passthrough"]
    }

    let serial = try SerialExecutor().run(graph, inputs: inputs, outputs: requested, observer: nil)
    let scheduler = Scheduler(pool: pool, queueCapacity: capacity)
    let fixedInputs = inputs
    let fixedRequest = requested
    let parallel = withTimeout(120, "random DAG, \(threads) threads") {
      attempt { () throws(RunError) in
        try scheduler.run(graph, inputs: fixedInputs, outputs: fixedRequest, observer: nil)
      }
    }
    let outputs = try #require(parallel).get()
    #expect(Set(outputs.keys) == Set(serial.keys))
    #expect(serial.count == (requested?.count ?? graph.outputs.count))
    for (name, packets) in serial {
      #expect(packets.count == 1, "\(name) has \(packets.count) packets")
      #expect(render(outputs[name] ?? []) == render(packets), "output \(name), \(threads) threads")
    }
    #expect(overlaps.count == 0, "a node instance ran on two threads at once")
  }
}

import MMCore
import MMGraph
import MMRuntime
import Testing

/// Thousands of packets through chains, fan-out and fan-in with tiny queues: no deadlock, no
/// lost, duplicated or reordered packet, and the same result as the serial executor.
@Suite("Scheduler: streams") struct StreamTests {
  /// source ─┬─ map+1 ─ map+2 ─ map+3 ─┐
  ///         ├─ map(keep every `keep`) ─ zip ─► zipped
  ///         ├─ sum ─► total
  ///         └─► raw
  static func fanGraph(count: Int, burst: Int, keep: Int) -> Graph {
    var b = GraphBuilder()
    let source = b.add(
      "source", counterDescriptor, options: ["count": JSONValue(count), "burst": JSONValue(burst)])
    var last = PortReference.node(source, port: "out")
    for (i, add) in [1, 2, 3].enumerated() {
      last = .node(
        b.add(
          "chain\(i)", mapDescriptor, options: ["add": JSONValue(add), "keep_every": JSONValue(1)],
          inputs: ["in": last]),
        port: "out")
    }
    let filtered = b.add(
      "filter", mapDescriptor, options: ["add": JSONValue(0), "keep_every": JSONValue(keep)],
      inputs: ["in": .node(source, port: "out")])
    let zip = b.add("zip", zipDescriptor, inputs: ["a": last, "b": .node(filtered, port: "out")])
    let sum = b.add("sum", sumDescriptor, inputs: ["in": .node(source, port: "out")])
    b.output("zipped", .node(zip, port: "out"), intStream)
    b.output("total", .node(sum, port: "total"), .tokens)
    b.output("raw", .node(source, port: "out"), intStream)
    return b.graph
  }

  struct Case: Sendable, CustomStringConvertible {
    var threads: Int
    var capacity: Int
    var burst: Int
    var keep: Int
    var description: String { "threads \(threads), capacity \(capacity), burst \(burst), keep every \(keep)" }
  }

  static let cases: [Case] = [
    Case(threads: 1, capacity: 1, burst: 1, keep: 2),
    Case(threads: 2, capacity: 1, burst: 1, keep: 2),
    Case(threads: 4, capacity: 1, burst: 3, keep: 3),
    Case(threads: 8, capacity: 1, burst: 1, keep: 1),
    Case(threads: 3, capacity: 2, burst: 5, keep: 7),
    // The filtered side is sparse: the zip waits on it while the chain side's queue is full,
    // which only the scheduler's stall rule gets past.
    Case(threads: 2, capacity: 1, burst: 1, keep: 50),
    Case(threads: 5, capacity: 8, burst: 2, keep: 50),
  ]

  @Test(arguments: cases)
  func noPacketLostDuplicatedOrReordered(_ c: Case) throws {
    let count = 3000
    let graph = Self.fanGraph(count: count, burst: c.burst, keep: c.keep)
    let pool = ThreadPool(threads: c.threads)
    defer { pool.shutdown() }
    let scheduler = Scheduler(pool: pool, queueCapacity: c.capacity)
    let result = withTimeout(60, "stream graph (\(c))") {
      attempt { () throws(RunError) in try scheduler.run(graph, inputs: [:]) }
    }
    let outputs = try #require(result).get()

    let expectedZip = (0..<count).filter { $0 % c.keep == 0 }.map {
      "t=\($0 * 10):\([Int32($0 + 6), Int32($0)])"
    }
    #expect(render(outputs["zipped"] ?? []) == expectedZip)
    #expect(render(outputs["raw"] ?? []) == (0..<count).map { "t=\($0 * 10):\([Int32($0)])" })
    let sum = Int32(count * (count - 1) / 2)
    #expect(render(outputs["total"] ?? []) == ["t=\(Timestamp.none.microseconds):\([Int32(count), sum])"])

    let serial = try SerialExecutor().run(graph, inputs: [:])
    for name in ["zipped", "total", "raw"] {
      #expect(render(outputs[name]!) == render(serial[name]!), "\(name) differs from the serial executor")
    }
  }

  /// A stream given as a graph input flows through a chain; timestamps come from the input.
  @Test func streamGraphInput() throws {
    var b = GraphBuilder()
    b.inputs = [("clips", intStream)]
    let m = b.add(
      "m", mapDescriptor, options: ["add": JSONValue(5), "keep_every": JSONValue(1)],
      inputs: ["in": .graphInput("clips")])
    b.output("out", .node(m, port: "out"), intStream)
    let packets = (0..<500).map { Packet(.tokens([Int32($0)]), at: Timestamp(microseconds: Int64($0) * 7)) }
    let pool = ThreadPool(threads: 3)
    defer { pool.shutdown() }
    let graph = b.graph
    let result = withTimeout(30, "graph input stream") {
      attempt { () throws(RunError) in
        try Scheduler(pool: pool, queueCapacity: 1).run(graph, inputs: ["clips": packets])
      }
    }
    let out = try #require(result).get()["out"] ?? []
    #expect(render(out) == (0..<500).map { "t=\($0 * 7):\([Int32($0 + 5)])" })
  }
}

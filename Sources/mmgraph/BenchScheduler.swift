import Foundation
import MMCore
import MMGraph
import MMKernels
import MMRuntime

extension BenchCommand {
  /// The scheduler's own costs: µs per node on a chain of trivial nodes (serial executor and the
  /// parallel scheduler), and two independent branches of GEMMs at 1 thread vs the configured
  /// threads. Prints one JSON object with `--json`.
  static func benchScheduler(_ args: Arguments) throws {
    let nodes = try args.int("nodes", default: 2000)!
    let depth = try args.int("depth", default: 8)!
    let size = try args.int("n", default: 384)!
    try requireMemory([3, size, size])
    let threads = ThreadPool.shared.threadCount
    let serial = try SerialExecutor().benchmarkChain(nodes: nodes)
    let parallel = try Scheduler(pool: .shared).benchmarkChain(nodes: nodes)
    let a = randomFloats(size * size, seed: 1)
    let b = randomFloats(size * size, seed: 2)
    let work: @Sendable (ThreadPool) -> Void = { pool in
      var c = [Float](repeating: 0, count: size * size)
      a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
          c.withUnsafeMutableBufferPointer {
            gemm(
              m: size, n: size, k: size, a: MatrixOperand(ap.baseAddress!, ld: size),
              b: MatrixOperand(bp.baseAddress!, ld: size), c: $0.baseAddress!, ldc: size, pool: pool)
          }
        }
      }
    }
    let one = ThreadPool(threads: 1)
    defer { one.shutdown() }
    let single = try SchedulerBenchmark.twoBranches(depth: depth, pool: one, work: work)
    let multi = try SchedulerBenchmark.twoBranches(depth: depth, pool: .shared, work: work)
    if args.flag("json") {
      let fields: [(String, JSONValue)] = [
        ("op", .string("scheduler")), ("threads", JSONValue(threads)), ("chain_nodes", JSONValue(nodes)),
        ("serial_us_per_node", JSONValue(serial)), ("scheduler_us_per_node", JSONValue(parallel)),
        ("branch_depth", JSONValue(depth)), ("gemm_n", JSONValue(size)),
        ("two_branches_seconds_1_thread", JSONValue(single)),
        ("two_branches_seconds", JSONValue(multi)), ("speedup", JSONValue(single / multi)),
      ]
      print(JSONValue.object(fields.map { JSONMember($0.0, $0.1) }).encoded())
    } else {
      print(
        String(
          format:
            "scheduler: chain of %d trivial nodes: serial %.2f µs/node, scheduler %.2f µs/node (%d threads)\n"
            + "two branches × %d GEMMs of %d³: %.1f ms at 1 thread, %.1f ms at %d threads (%.2f× faster)",
          nodes, serial, parallel, threads, depth, size, single * 1e3, multi * 1e3, threads, single / multi))
    }
  }
}

extension GraphExecutor {
  fileprivate func benchmarkChain(nodes: Int) throws(RunError) -> Double {
    try SchedulerBenchmark.chainOverhead(nodes: nodes, executor: self)
  }
}

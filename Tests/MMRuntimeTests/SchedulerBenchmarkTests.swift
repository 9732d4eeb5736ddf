import Foundation
import MMCore
import MMGraph
import MMKernels
import MMRuntime
import MMTestSupport
import Testing

/// Not a timed test: prints the scheduler benchmarks when `MMGRAPH_BENCH=1`; otherwise checks
/// only that they run and compute the right thing on tiny sizes.
@Suite("Scheduler benchmark") struct SchedulerBenchmarkTests {
  static let enabled = ProcessInfo.processInfo.environment["MMGRAPH_BENCH"] == "1"

  @Test func benchmarksRun() throws {
    let nodes = Self.enabled ? 2000 : 50
    let size = Self.enabled ? 384 : 16
    let a = randomFloats(size * size, seed: 1)
    let b = randomFloats(size * size, seed: 2)
    let work: @Sendable (ThreadPool) -> Void = { pool in
      var c = [Float](repeating: 0, count: size * size)
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            gemm(
              m: size, n: size, k: size, a: MatrixOperand(pa.baseAddress!, ld: size),
              b: MatrixOperand(pb.baseAddress!, ld: size), c: pc.baseAddress!, ldc: size, pool: pool)
          }
        }
      }
    }
    var lines: [String] = []
    let serial = try SchedulerBenchmark.chainOverhead(nodes: nodes, executor: SerialExecutor())
    lines.append(String(format: "chain of %d trivial nodes, serial executor: %.2f µs/node", nodes, serial))
    var times: [Int: Double] = [:]
    for threads in [1, 2] {
      let pool = ThreadPool(threads: threads)
      defer { pool.shutdown() }
      let parallel = try SchedulerBenchmark.chainOverhead(nodes: nodes, executor: Scheduler(pool: pool))
      lines.append(
        String(
          format: "chain of %d trivial nodes, scheduler, %d threads: %.2f µs/node", nodes, threads, parallel))
      times[threads] = try SchedulerBenchmark.twoBranches(depth: Self.enabled ? 8 : 2, pool: pool, work: work)
      lines.append(
        String(format: "two branches × 8 GEMM %d³, %d threads: %.1f ms", size, threads, times[threads]! * 1e3)
      )
    }
    lines.append(String(format: "speed-up 2 threads vs 1: %.2f×", times[1]! / times[2]!))
    if Self.enabled { print(lines.joined(separator: "\n")) }
    #expect(serial > 0 && times[1]! > 0 && times[2]! > 0)
  }
}

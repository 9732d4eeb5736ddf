import Foundation
import MMCore
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("ThreadPool") struct ThreadPoolTests {
  @Test(arguments: [1, 2, 3, 8])
  func everyIndexRunsExactlyOnce(_ threads: Int) {
    let pool = ThreadPool(threads: threads)
    defer { pool.shutdown() }
    for count in [0, 1, 2, 7, 1000] {
      let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
      hits.initialize(repeating: 0, count: max(count, 1))
      defer { hits.deallocate() }
      pool.parallelFor(count) { i in hits[i] += 1 }
      #expect((0..<count).allSatisfy { hits[$0] == 1 }, "threads \(threads), count \(count)")
    }
  }

  /// A parallelFor inside a parallelFor: no deadlock, every index once.
  @Test func nestedCallsNeverDeadlock() {
    let pool = ThreadPool(threads: 3)
    defer { pool.shutdown() }
    let total = Atomic<Int>(0)
    pool.parallelFor(10) { _ in
      pool.parallelFor(10) { _ in total.add(1, ordering: .relaxed) }
    }
    #expect(total.load(ordering: .relaxed) == 100)
  }

  /// Four outside threads calling a two-thread pool at once share its two tokens.
  @Test func concurrentCallersShareTheBudget() async {
    let pool = ThreadPool(threads: 2)
    defer { pool.shutdown() }
    let total = Counter()
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<4 {
        group.addTask {
          for _ in 0..<50 { pool.parallelFor(64) { _ in total.value.add(1, ordering: .relaxed) } }
        }
      }
    }
    #expect(total.value.load(ordering: .relaxed) == 4 * 50 * 64)
  }

  @Test func rangesCoverExactlyOnce() {
    let pool = ThreadPool(threads: 2)
    defer { pool.shutdown() }
    for (count, grain) in [(1, 1), (10, 3), (1001, 16), (5, 100)] {
      let covered = Mutex<[Range<Int>]>([])
      pool.parallelRanges(count, grain: grain) { r in covered.withLock { $0.append(r) } }
      let ranges = covered.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
      #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
      for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
    }
  }

  /// With one worker, tasks run one at a time in submission order.
  @Test func tasksRunFirstInFirstOut() {
    let pool = ThreadPool(threads: 1)
    defer { pool.shutdown() }
    let order = Mutex<[Int]>([])
    let done = Counter()
    for i in 0..<200 {
      pool.submit {
        order.withLock { $0.append(i) }
        done.value.add(1, ordering: .releasing)
      }
    }
    pool.help { done.value.load(ordering: .acquiring) == 200 }
    #expect(order.withLock { $0 } == Array(0..<200))
  }

  /// Tasks that call kernels (nested parallelFor, three deep) on every thread count: each index
  /// runs once, at most `threads` threads work at any moment, and nothing deadlocks.
  @Test(arguments: [1, 2, 3, 4, 8])
  func tasksAndKernelsShareOneBudget(_ threads: Int) {
    let pool = ThreadPool(threads: threads)
    defer { pool.shutdown() }
    let meter = BudgetMeter()
    let tasks = 24
    let hits = HitTable(count: tasks * 8 * 8)
    let done = Counter()
    for task in 0..<tasks {
      pool.submit {
        meter.enter()
        pool.parallelFor(8) { i in
          meter.enter()
          pool.parallelFor(8) { j in
            meter.enter()
            pool.parallelFor(4) { _ in
              meter.enter()
              meter.exit()
            }
            hits.hit((task * 8 + i) * 8 + j)
            meter.exit()
          }
          meter.exit()
        }
        meter.exit()
        done.value.add(1, ordering: .releasing)
      }
    }
    pool.help { done.value.load(ordering: .acquiring) == tasks }
    #expect(hits.allOnce, "threads \(threads): \(hits.report)")
    #expect(meter.peak <= threads, "threads \(threads): \(meter.peak) threads worked at once")
    #expect(meter.peak >= 1)
  }

  /// Outside callers and queued tasks at the same time still stay within the budget.
  @Test(arguments: [1, 2, 3])
  func outsideCallersWaitForATokenWhileTasksRun(_ threads: Int) async {
    let pool = ThreadPool(threads: threads)
    defer { pool.shutdown() }
    let meter = BudgetMeter()
    let done = Counter()
    let total = Counter()
    for _ in 0..<16 {
      pool.submit {
        pool.parallelFor(16) { _ in
          meter.enter()
          total.value.add(1, ordering: .relaxed)
          meter.exit()
        }
        done.value.add(1, ordering: .releasing)
      }
    }
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<3 {
        group.addTask {
          for _ in 0..<10 {
            pool.parallelFor(16) { _ in
              meter.enter()
              total.value.add(1, ordering: .relaxed)
              meter.exit()
            }
          }
        }
      }
    }
    pool.help { done.value.load(ordering: .acquiring) == 16 }
    #expect(total.value.load(ordering: .relaxed) == 16 * 16 + 3 * 10 * 16)
    #expect(meter.peak <= threads, "threads \(threads): \(meter.peak) threads worked at once")
  }

  /// A fixed-chunk reduction gives bit-identical sums for any thread count, also while other
  /// tasks compete for the workers.
  @Test func chunkedResultsDoNotDependOnThreads() {
    let values = (0..<100_003).map { Float(sin(Double($0) * 0.37)) * 1e3 }
    @Sendable func chunkedSum(_ pool: ThreadPool) -> Float {
      let chunk = 1000
      let chunks = (values.count + chunk - 1) / chunk
      var partial = [Float](repeating: 0, count: chunks)
      partial.withUnsafeMutableBufferPointer { out in
        pool.parallelFor(chunks) { c in
          var s: Float = 0
          for i in c * chunk..<min(values.count, (c + 1) * chunk) { s += values[i] }
          out[c] = s
        }
      }
      return partial.reduce(0, +)
    }
    let reference = chunkedSum(ThreadPool(threads: 1))
    for threads in [2, 3, 5] {
      let pool = ThreadPool(threads: threads)
      let results = Mutex<[Float]>([])
      let done = Counter()
      for _ in 0..<6 {
        pool.submit {
          let sum = chunkedSum(pool)
          results.withLock { $0.append(sum) }
          done.value.add(1, ordering: .releasing)
        }
      }
      pool.help { done.value.load(ordering: .acquiring) == 6 }
      pool.shutdown()
      #expect(results.withLock { $0 }.allSatisfy { $0.bitPattern == reference.bitPattern })
    }
  }

  /// `help(until:)` from inside a task of a one-thread pool runs the tasks it waits for itself.
  @Test func helpingFromATaskDoesNotDeadlock() {
    let pool = ThreadPool(threads: 1)
    defer { pool.shutdown() }
    let inner = Counter()
    let outer = Counter()
    pool.submit {
      for _ in 0..<10 { pool.submit { inner.value.add(1, ordering: .releasing) } }
      pool.help { inner.value.load(ordering: .acquiring) == 10 }
      outer.value.add(1, ordering: .releasing)
    }
    pool.help { outer.value.load(ordering: .acquiring) == 1 }
    #expect(inner.value.load(ordering: .relaxed) == 10)
  }

  /// After `shutdown()`, queued tasks still finish and `parallelFor` still covers every index.
  @Test func shutdownDrainsTasksAndKeepsParallelForWorking() {
    let pool = ThreadPool(threads: 2)
    let done = Counter()
    for _ in 0..<50 { pool.submit { done.value.add(1, ordering: .releasing) } }
    pool.shutdown()
    pool.help { done.value.load(ordering: .acquiring) == 50 }
    let hits = HitTable(count: 100)
    pool.parallelFor(100) { hits.hit($0) }
    #expect(hits.allOnce, "\(hits.report)")
    let late = Counter()
    pool.submit { late.value.add(1, ordering: .releasing) }
    pool.help { late.value.load(ordering: .acquiring) == 1 }
  }

  /// `configureShared` swaps the shared pool; the old one keeps working for callers holding it.
  @Test func configureSharedReplacesThePool() {
    let before = ThreadPool.shared
    ThreadPool.configureShared(threads: 3)
    defer { ThreadPool.configureShared(threads: before.threadCount) }
    #expect(ThreadPool.shared.threadCount == 3)
    let hits = HitTable(count: 64)
    ThreadPool.shared.parallelFor(64) { hits.hit($0) }
    before.parallelFor(64) { hits.hit($0) }
    #expect(hits.counts.allSatisfy { $0 == 2 }, "\(hits.report)")
  }
}

/// Counts the threads inside measured work at once (a thread counts once, however deeply its
/// calls nest) and keeps the high-water mark.
final class BudgetMeter: Sendable {
  private let depths = Mutex<[UInt: Int]>([:])
  private let running = Atomic<Int>(0)
  private let high = Atomic<Int>(0)

  func enter() {
    let thread = UInt(bitPattern: Int(bitPattern: UInt(pthreadID())))
    let first = depths.withLock { d in
      d[thread, default: 0] += 1
      return d[thread] == 1
    }
    if first {
      let now = running.add(1, ordering: .relaxed).newValue
      high.max(now, ordering: .relaxed)
    }
  }

  func exit() {
    let thread = UInt(bitPattern: Int(bitPattern: UInt(pthreadID())))
    let last = depths.withLock { d in
      d[thread, default: 0] -= 1
      return d[thread] == 0
    }
    if last { running.subtract(1, ordering: .relaxed) }
  }

  var peak: Int { high.load(ordering: .relaxed) }
}

private func pthreadID() -> UInt {
  #if canImport(Glibc)
    return UInt(pthread_self())
  #else
    return UInt(bitPattern: pthread_self())
  #endif
}

/// How often each index ran.
final class HitTable: Sendable {
  private let table: Mutex<[Int]>
  init(count: Int) { table = Mutex([Int](repeating: 0, count: count)) }
  func hit(_ i: Int) { table.withLock { $0[i] += 1 } }
  var counts: [Int] { table.withLock { $0 } }
  var allOnce: Bool { counts.allSatisfy { $0 == 1 } }
  var report: String {
    let c = counts
    let bad = c.indices.filter { c[$0] != 1 }.prefix(5).map { "#\($0)×\(c[$0])" }
    return bad.isEmpty ? "every index once" : "indices run wrongly: \(bad.joined(separator: ", "))"
  }
}

private final class Counter: Sendable {
  let value = Atomic<Int>(0)
}

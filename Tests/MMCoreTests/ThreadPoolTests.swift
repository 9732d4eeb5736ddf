import MMCore
import Synchronization
import Testing

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

  /// A parallelFor inside a parallelFor runs inline: no deadlock, every index once.
  @Test func nestedCallsRunInline() {
    let pool = ThreadPool(threads: 3)
    defer { pool.shutdown() }
    let total = Atomic<Int>(0)
    pool.parallelFor(10) { _ in
      pool.parallelFor(10) { _ in total.add(1, ordering: .relaxed) }
    }
    #expect(total.load(ordering: .relaxed) == 100)
  }

  /// Two threads calling the same pool at once: one gets the workers, the other runs inline.
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
}

private final class Counter: Sendable {
  let value = Atomic<Int>(0)
}

import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The one pool of worker threads that every kernel (and later the graph scheduler) shares, so
/// that `--threads N` means N busy cores in total, never N per operation.
///
/// `parallelFor` runs `body(0..<count)` on the caller plus the pool's workers and returns when all
/// indices are done. If the pool is already busy (a nested call, or a second graph branch calling
/// a kernel at the same time) the call runs inline on its own thread: the thread budget holds and
/// nothing can deadlock. Work is handed out one index at a time from an atomic counter, so callers
/// choose the granularity (a GEMM tile, a row block).
public final class ThreadPool: @unchecked Sendable {
  /// The pool all kernels use. Its size comes from `MMGRAPH_THREADS`, else the available cores;
  /// the CLI's `--threads` calls `ThreadPool.configureShared(threads:)` before any work.
  public static var shared: ThreadPool { sharedBox.withLock { $0 } }
  private static let sharedBox = Mutex<ThreadPool>(ThreadPool(threads: defaultThreadCount()))

  /// Replaces the shared pool (call before running work; old workers exit when idle).
  public static func configureShared(threads: Int) {
    let pool = ThreadPool(threads: threads)
    let old = sharedBox.withLock { box in
      let old = box
      box = pool
      return old
    }
    old.shutdown()
  }

  /// `MMGRAPH_THREADS` if set to a positive integer, else the cores this process may use.
  public static func defaultThreadCount() -> Int {
    if let text = ProcessInfo.processInfo.environment["MMGRAPH_THREADS"], let n = Int(text), n > 0 {
      return n
    }
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
  }

  /// Total threads doing work in a `parallelFor`, the caller included.
  public let threadCount: Int

  private let busy = Atomic<Bool>(false)
  private var mutex = pthread_mutex_t()
  private var condition = pthread_cond_t()
  private var generation = 0  // guarded by mutex
  private var shuttingDown = false  // guarded by mutex
  private var job: Job?  // guarded by mutex
  private var isShutDown: Bool {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return shuttingDown
  }

  public init(threads: Int) {
    threadCount = max(1, threads)
    pthread_mutex_init(&mutex, nil)
    pthread_cond_init(&condition, nil)
    for _ in 1..<threadCount {
      // Workers keep the pool alive until `shutdown()`.
      let thread = Thread { self.workerLoop() }
      thread.stackSize = 8 << 20
      thread.start()
    }
  }

  /// Lets the workers exit once idle; the pool then runs every `parallelFor` inline.
  public func shutdown() {
    pthread_mutex_lock(&mutex)
    shuttingDown = true
    pthread_cond_broadcast(&condition)
    pthread_mutex_unlock(&mutex)
  }

  /// Runs `body(i)` for every `i` in `0..<count`, spread over the pool; returns when all are done.
  public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || threadCount == 1 || isShutDown
      || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      let current = Job(count: count, body: escapable)
      pthread_mutex_lock(&mutex)
      job = current
      generation &+= 1
      pthread_cond_broadcast(&condition)
      pthread_mutex_unlock(&mutex)
      current.work()
      while current.finished.load(ordering: .acquiring) < count { spinPause() }
      pthread_mutex_lock(&mutex)
      job = nil
      pthread_mutex_unlock(&mutex)
      // A worker that took the job before it was withdrawn may still be leaving `work()`.
      while current.activeWorkers.load(ordering: .acquiring) > 0 { spinPause() }
      current.body = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// Splits `0..<count` into contiguous ranges of at least `grain` items, about
  /// `chunksPerThread` per thread, and runs `body(range)` on each in parallel.
  public func parallelRanges(
    _ count: Int, grain: Int = 1, chunksPerThread: Int = 4, _ body: (Range<Int>) -> Void
  ) {
    if count <= 0 { return }
    let chunks = max(1, min(threadCount * chunksPerThread, count / max(grain, 1)))
    let size = (count + chunks - 1) / chunks
    let actual = (count + size - 1) / size
    parallelFor(actual) { c in body(c * size..<min(count, (c + 1) * size)) }
  }

  private func workerLoop() {
    var seen = 0
    while true {
      pthread_mutex_lock(&mutex)
      while generation == seen && !shuttingDown {
        pthread_cond_wait(&condition, &mutex)
      }
      if shuttingDown {
        pthread_mutex_unlock(&mutex)
        return
      }
      seen = generation
      let current = job
      current?.activeWorkers.add(1, ordering: .acquiring)
      pthread_mutex_unlock(&mutex)
      if let current {
        current.work()
        current.activeWorkers.subtract(1, ordering: .releasing)
      }
    }
  }

  private final class Job: @unchecked Sendable {
    let count: Int
    /// Cleared before `parallelFor` returns: the closure must not outlive the call.
    var body: ((Int) -> Void)?
    let next = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let activeWorkers = Atomic<Int>(0)

    init(count: Int, body: @escaping (Int) -> Void) {
      self.count = count
      self.body = body
    }

    func work() {
      while true {
        let i = next.add(1, ordering: .relaxed).oldValue
        if i >= count { return }
        body!(i)
        finished.add(1, ordering: .releasing)
      }
    }
  }
}

@inline(__always) private func spinPause() {
  sched_yield()
}

import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The one pool of worker threads that every kernel and the graph scheduler share, so that
/// `--threads N` means N busy cores in total, never N per operation or per graph branch.
///
/// The budget is a set of `threadCount` tokens: a thread runs pool work only while it holds one.
/// - `parallelFor` runs on its caller (which takes a token unless it already holds one, e.g. a
///   worker running a task) plus whichever workers are idle and find a free token; each joins
///   the call and takes indices one at a time from an atomic counter. Callers choose the
///   granularity (a GEMM tile, a row block); which thread runs an index never changes what it
///   computes, so kernel results do not depend on the thread count or the timing.
/// - `submit` queues a task (FIFO) for a worker: the scheduler runs graph nodes this way. A node
///   that calls a kernel spreads it over the idle workers (intra-op parallelism when one branch
///   runs, inter-op when several do), and the total never exceeds `threadCount`.
/// - Idle workers take unclaimed indices of running `parallelFor` calls before queued tasks.
///
/// Nested calls never deadlock: a thread holding a token never waits for another, and a
/// `parallelFor` caller claims every index nobody else has claimed, so it only ever waits for
/// indices that are running. Threads outside the pool wait for a token while all are in use.
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

  /// The most threads that run work of this pool at once, `parallelFor` callers included.
  public let threadCount: Int

  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  /// Workers and `help(until:)` callers sleep here until there is work.
  private let workAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  /// Outside threads waiting for a token sleep here.
  private let tokenFreed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  // Guarded by `mutex`:
  private var active = 0  // tokens in use
  private var tokenWaiters = 0  // outside threads waiting for one (they go before new work)
  private var jobs: [Job] = []  // running parallelFor calls
  private var tasks: [@Sendable () -> Void] = []
  private var taskHead = 0  // tasks[..<taskHead] have been taken
  private var shuttingDown = false
  private var liveWorkers = 0
  /// Counts `parallelFor` jobs ever posted: an idle worker watches it for a short while before
  /// sleeping (decoding runs hundreds of small parallel kernels per token).
  private let jobsPosted = Atomic<Int>(0)
  /// Whether a worker is watching now (at most one).
  private let spinning = Atomic<Bool>(false)

  /// Starts `threads` workers (at least one, so submitted tasks always make progress).
  public init(threads: Int) {
    threadCount = max(1, threads)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(workAvailable, nil)
    pthread_cond_init(tokenFreed, nil)
    liveWorkers = threadCount
    for _ in 0..<threadCount {
      // Workers keep the pool alive until `shutdown()`.
      let thread = Thread { self.workerLoop() }
      thread.stackSize = 8 << 20
      thread.start()
    }
  }

  deinit {
    pthread_cond_destroy(tokenFreed)
    pthread_cond_destroy(workAvailable)
    pthread_mutex_destroy(mutex)
    tokenFreed.deallocate()
    workAvailable.deallocate()
    mutex.deallocate()
  }

  /// Lets the workers exit once no task is queued. `parallelFor` keeps working (on its caller);
  /// tasks submitted afterwards run only on threads inside `help(until:)`.
  public func shutdown() {
    pthread_mutex_lock(mutex)
    shuttingDown = true
    pthread_cond_broadcast(workAvailable)
    pthread_mutex_unlock(mutex)
  }

  /// Queues `task` to run on a worker, first in first out.
  public func submit(_ task: @escaping @Sendable () -> Void) {
    pthread_mutex_lock(mutex)
    tasks.append(task)
    if active + tokenWaiters < threadCount { pthread_cond_signal(workAvailable) }
    pthread_mutex_unlock(mutex)
  }

  /// Lends the calling thread to the pool until `isDone()` returns true: it runs queued tasks and
  /// `parallelFor` indices within the thread budget and sleeps otherwise. `isDone` is checked
  /// after each piece of work, after `wakeHelpers()` and every 10 ms; it must be cheap and must
  /// not block (an atomic load). Call `wakeHelpers()` after making it true, to return at once. A graph executor waits for its run this way, so a run started from inside
  /// a task (which already holds a token) still makes progress with a one-thread pool.
  public func help(until isDone: () -> Bool) {
    let held = HeldTokens.current
    let holding = held.contains(self)
    pthread_mutex_lock(mutex)
    while !isDone() {
      if !runOne(holding: holding) { waitBriefly() }
    }
    signalIfRunnable()  // pass on a wake-up this thread may have consumed
    pthread_mutex_unlock(mutex)
  }

  /// Sleeps until work is signalled, or 10 ms at most (so a condition set without
  /// `wakeHelpers()` is still noticed).
  private func waitBriefly() {
    var deadline = timespec()
    clock_gettime(CLOCK_REALTIME, &deadline)
    deadline.tv_nsec += 10_000_000
    if deadline.tv_nsec >= 1_000_000_000 {
      deadline.tv_sec += 1
      deadline.tv_nsec -= 1_000_000_000
    }
    pthread_cond_timedwait(workAvailable, mutex, &deadline)
  }

  /// Wakes every thread sleeping in `help(until:)` so it checks its condition again.
  public func wakeHelpers() {
    pthread_mutex_lock(mutex)
    pthread_cond_broadcast(workAvailable)
    pthread_mutex_unlock(mutex)
  }

  /// Runs `body(i)` for every `i` in `0..<count`, spread over the pool; returns when all are done.
  public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    let held = HeldTokens.current
    let holding = held.contains(self)
    if !holding {
      acquireToken()
      held.push(self)
    }
    defer {
      if !holding {
        held.pop()
        releaseToken()
      }
    }
    if count == 1 || threadCount == 1 {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      let job = Job(count: count, body: escapable)
      pthread_mutex_lock(mutex)
      jobs.append(job)
      jobsPosted.add(1, ordering: .releasing)
      // A worker watching `jobsPosted` joins without a wake-up: signal only for the others.
      // (If it stops watching meanwhile, it looks for work under the mutex before it sleeps.)
      let watching = spinning.load(ordering: .acquiring) ? 1 : 0
      for _ in 0..<max(0, min(count - 1, threadCount - active - tokenWaiters) - watching) {
        pthread_cond_signal(workAvailable)
      }
      pthread_mutex_unlock(mutex)
      job.work()
      // Every index is claimed now: withdraw the job so no one else joins it.
      pthread_mutex_lock(mutex)
      jobs.removeAll { $0 === job }
      pthread_mutex_unlock(mutex)
      while job.finished.load(ordering: .acquiring) < count { spinPause() }
      // A worker that joined may still be leaving `work()`; the closure must not outlive us.
      while job.participants.load(ordering: .acquiring) > 0 { spinPause() }
      job.body = nil
    }
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

  // MARK: - Tokens and work (all called with `mutex` held unless stated)

  /// Called without the mutex by a thread outside the pool.
  private func acquireToken() {
    pthread_mutex_lock(mutex)
    while active >= threadCount {
      tokenWaiters += 1
      pthread_cond_wait(tokenFreed, mutex)
      tokenWaiters -= 1
    }
    active += 1
    pthread_mutex_unlock(mutex)
  }

  /// Called without the mutex.
  private func releaseToken() {
    pthread_mutex_lock(mutex)
    active -= 1
    if tokenWaiters > 0 { pthread_cond_signal(tokenFreed) } else { signalIfRunnable() }
    pthread_mutex_unlock(mutex)
  }

  private var hasPendingWork: Bool {
    taskHead < tasks.count || jobs.contains { $0.next.load(ordering: .relaxed) < $0.count }
  }

  private func signalIfRunnable() {
    if active + tokenWaiters < threadCount && hasPendingWork { pthread_cond_signal(workAvailable) }
  }

  /// Takes one piece of work (join a `parallelFor`, else the oldest task) and runs it with the
  /// mutex released; false when there is none or no token is free. A thread already `holding` a
  /// token uses it instead of taking another.
  private func runOne(holding: Bool) -> Bool {
    if !holding && active + tokenWaiters >= threadCount { return false }
    if let job = jobs.first(where: { $0.next.load(ordering: .relaxed) < $0.count }) {
      job.participants.add(1, ordering: .relaxed)
      run(holding: holding) { job.work() }
      job.participants.subtract(1, ordering: .releasing)
      return true
    }
    guard taskHead < tasks.count else { return false }
    let task = tasks[taskHead]
    tasks[taskHead] = {}
    taskHead += 1
    if taskHead >= 64 && taskHead * 2 >= tasks.count {
      tasks.removeFirst(taskHead)
      taskHead = 0
    }
    run(holding: holding, task)
    return true
  }

  private func run(holding: Bool, _ work: () -> Void) {
    if !holding { active += 1 }
    signalIfRunnable()  // more work and tokens left: wake another thread
    pthread_mutex_unlock(mutex)
    if holding {
      work()
    } else {
      let held = HeldTokens.current
      held.push(self)
      work()
      held.pop()
    }
    pthread_mutex_lock(mutex)
    if !holding {
      active -= 1
      if tokenWaiters > 0 { pthread_cond_signal(tokenFreed) }
    }
  }

  private func workerLoop() {
    pthread_mutex_lock(mutex)
    var spun = false
    while true {
      if runOne(holding: false) {
        spun = false
        continue
      }
      if shuttingDown && taskHead >= tasks.count { break }
      // Before sleeping, one idle worker watches for the next `parallelFor` for up to 100 µs,
      // yielding the core to any other runnable thread meanwhile (a loaded machine loses
      // nothing): a futex wake-up costs more than the small kernels a decoder runs back to back.
      // The loop then looks for work again with the mutex held, so no signal is lost.
      if !spun && threadCount > 1 {
        spun = true
        if spinning.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
          let seen = jobsPosted.load(ordering: .relaxed)
          pthread_mutex_unlock(mutex)
          watchForJobs(after: seen)
          spinning.store(false, ordering: .releasing)
          pthread_mutex_lock(mutex)
          continue
        }
      }
      spun = false
      pthread_cond_wait(workAvailable, mutex)
    }
    liveWorkers -= 1
    signalIfRunnable()
    pthread_mutex_unlock(mutex)
  }

  /// Returns when `jobsPosted` differs from `seen`, or after about 100 µs.
  private func watchForJobs(after seen: Int) {
    var start = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    while jobsPosted.load(ordering: .relaxed) == seen {
      sched_yield()
      var now = timespec()
      clock_gettime(CLOCK_MONOTONIC, &now)
      if (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec) > 100_000 { return }
    }
  }

  private final class Job: @unchecked Sendable {
    let count: Int
    /// Cleared before `parallelFor` returns: the closure must not outlive the call.
    var body: ((Int) -> Void)?
    let next = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let participants = Atomic<Int>(0)

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

/// The pools whose tokens the current thread holds (a short stack: nested calls on other pools).
private final class HeldTokens {
  private var pools: [ObjectIdentifier] = []

  func contains(_ pool: ThreadPool) -> Bool { pools.contains(ObjectIdentifier(pool)) }
  func push(_ pool: ThreadPool) { pools.append(ObjectIdentifier(pool)) }
  func pop() { pools.removeLast() }

  static var current: HeldTokens {
    if let pointer = pthread_getspecific(heldTokensKey) {
      return Unmanaged<HeldTokens>.fromOpaque(pointer).takeUnretainedValue()
    }
    let held = HeldTokens()
    pthread_setspecific(heldTokensKey, Unmanaged.passRetained(held).toOpaque())
    return held
  }
}

private let heldTokensKey: pthread_key_t = {
  var key = pthread_key_t()
  pthread_key_create(&key) { pointer in
    // Optional on Glibc, not on Darwin: the coercion reads the same on both.
    guard let pointer = pointer as UnsafeMutableRawPointer? else { return }
    Unmanaged<AnyObject>.fromOpaque(pointer).release()
  }
  return key
}()

@inline(__always) private func spinPause() {
  sched_yield()
}

import CKernels
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads for data-parallel loops inside one forward pass.
///
/// A decode step runs ~150 parallel regions, so dispatch must cost microseconds: workers spin on
/// a generation counter for a short while after each region and only then sleep on a condition
/// variable. The calling thread takes part as worker 0. Regions do not nest.
public final class ThreadPool: @unchecked Sendable {
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let nextItem = Atomic<Int>(0)
    /// The current region's body; written before `generation` is bumped (release), read after (acquire).
    private var job: ((Int) -> Void)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [Thread] = []
    private let busy = Atomic<Bool>(false)

    /// How long an idle worker waits (spinning, then yielding) before sleeping on the condition.
    private static let spinIterations = 20_000
    /// Spins before a waiting thread starts yielding its core.
    private static let yieldAfter = 2_000

    /// `threadCount` threads in all, including the caller. Default: the active processor count.
    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threadCount = max(1, threadCount)
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for index in 1..<self.threadCount {
            let t = Thread { [unowned self] in self.workerLoop(index) }
            t.stackSize = 8 << 20
            t.name = "pipeline-worker-\(index)"
            threads.append(t)
            t.start()
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        generation.add(1, ordering: .releasing)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        // Workers hold an unowned reference: wait for them to leave before freeing state.
        while remaining.load(ordering: .acquiring) > -(threadCount - 1) { ck_cpu_relax() }
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body(threadIndex)` once on every thread (index 0 is the caller) and returns when all
    /// have finished.
    public func run(_ body: (Int) -> Void) {
        if threadCount == 1 { body(0); return }
        precondition(!busy.exchange(true, ordering: .acquiring), "ThreadPool regions do not nest")
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            remaining.store(threadCount - 1, ordering: .relaxed)
            // Sequentially consistent with the worker's (sleepers += 1; load generation) so that a
            // worker going to sleep either sees the new generation or is seen and woken.
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            escapable(0)
            // A short spin, then yield: on a loaded machine a worker may be waiting for a core.
            var spins = 0
            while remaining.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins < Self.yieldAfter { ck_cpu_relax() } else { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Splits `0..<count` into one contiguous range per thread, each a multiple of `granularity`
    /// (except the last), and runs `body` on each non-empty range.
    public func parallelFor(count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        let workers = min(threadCount, units)
        if workers <= 1 { if count > 0 { body(0..<count) }; return }
        run { index in
            guard index < workers else { return }
            let lo = units * index / workers * granularity
            let hi = min(count, units * (index + 1) / workers * granularity)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Hands out items `0..<count` one at a time to whichever thread is free (for uneven work
    /// such as causal attention). `body(item, threadIndex)`.
    public func dynamicFor(count: Int, _ body: (Int, Int) -> Void) {
        if threadCount == 1 || count <= 1 { for i in 0..<count { body(i, 0) }; return }
        nextItem.store(0, ordering: .relaxed)
        run { index in
            while true {
                let i = nextItem.add(1, ordering: .relaxed).oldValue
                if i >= count { break }
                body(i, index)
            }
        }
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins < Self.yieldAfter {
                    ck_cpu_relax()
                } else if spins < Self.spinIterations {
                    sched_yield()
                } else {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(condition, mutex) }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) {
                remaining.subtract(1, ordering: .releasing)
                return
            }
            job?(index)
            remaining.subtract(1, ordering: .releasing)
        }
    }
}

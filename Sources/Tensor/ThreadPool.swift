import CKernels
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads for data-parallel loops inside one forward pass.
///
/// Every parallel region is a list of small work items that threads claim one at a time, and a
/// region is finished when all its *items* are done — not when every thread has checked in. On a
/// shared machine a worker may be descheduled for a whole timeslice; with static partitions the
/// others would wait for it, here they simply take its items. Late workers find nothing left.
///
/// Protocol: one word holds (generation, next item). The caller opens a region by publishing an
/// odd generation and closes it by publishing the next, even, one; items are claimed by
/// compare-and-swap on the word, so no claim can succeed outside the open region. A worker
/// registers in `active` before reading the region's body and re-checks that the region is still
/// open; the caller, after closing, waits until `active` is zero before it drops the body. Both
/// sides use sequentially consistent operations, so either the worker sees the close or the
/// caller sees the worker. A decode step runs ~150 regions: idle workers spin briefly, then
/// yield, then sleep on a condition variable. The calling thread works too (index 0). Regions do
/// not nest.
public final class ThreadPool: @unchecked Sendable {
    public var threadCount: Int { core.threadCount }
    private let core: PoolCore

    /// `threadCount` threads in all, including the caller. Default: the active processor count.
    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        core = PoolCore(threadCount: max(1, threadCount))
        for index in 1..<core.threadCount {
            let t = Thread { [core] in core.workerLoop(index) } // workers own the core, not the pool
            t.stackSize = 8 << 20
            t.name = "pipeline-worker-\(index)"
            t.start()
        }
    }

    deinit { core.stop() }

    /// Runs `body(item, threadIndex)` for every item in `0..<count`, items claimed dynamically by
    /// whichever thread is free; returns when all are done.
    public func forEach(count: Int, _ body: (Int, Int) -> Void) { core.forEach(count: count, body) }

    /// Splits `0..<count` into contiguous ranges (multiples of `granularity`, a few per thread)
    /// and runs `body` on each.
    public func parallelFor(count: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (count + granularity - 1) / granularity
        let chunks = min(units, 4 * threadCount)
        guard chunks > 1 else { if count > 0 { body(0..<count) }; return }
        forEach(count: chunks) { c, _ in
            let lo = units * c / chunks * granularity, hi = min(count, units * (c + 1) / chunks * granularity)
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// The state shared by the caller and the workers.
final class PoolCore: @unchecked Sendable {
    let threadCount: Int

    /// (generation << 32) | next unclaimed item; odd generations are open regions.
    private let ticket = Atomic<UInt64>(0)
    private let completed = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let exited = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// The open region's body and size: written before it opens, read only by registered workers
    /// that saw it open, dropped after it closes and no worker is registered.
    private var job: ((Int, Int) -> Void)?
    private var itemCount = 0
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    private static let yieldAfter = 2_000
    private static let sleepAfter = 20_000

    init(threadCount: Int) {
        self.threadCount = threadCount
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    /// Tells the workers to leave and waits until they have.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        ticket.add(2 << 32, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        while exited.load(ordering: .acquiring) < threadCount - 1 { sched_yield() }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func forEach(count: Int, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        if threadCount == 1 || count == 1 { for i in 0..<count { body(i, 0) }; return }
        precondition(count < 1 << 32)
        precondition(!busy.exchange(true, ordering: .acquiring), "ThreadPool regions do not nest")
        withoutActuallyEscaping(body) { escapable in
            job = escapable
            itemCount = count
            completed.store(0, ordering: .relaxed)
            let generation = (ticket.load(ordering: .relaxed) >> 32) &+ 1 // odd: open
            // Sequentially consistent with the sleeper count so a worker going to sleep either
            // sees the region or is woken.
            ticket.store(generation << 32, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            work(generation: generation, body: escapable, count: count, thread: 0)
            var spins = 0
            while completed.load(ordering: .acquiring) < count {
                spins += 1
                if spins < Self.yieldAfter { ck_cpu_relax() } else { sched_yield() }
            }
            ticket.store((generation &+ 1) << 32, ordering: .sequentiallyConsistent) // even: closed
            spins = 0
            while active.load(ordering: .sequentiallyConsistent) > 0 {
                spins += 1
                if spins < Self.yieldAfter { ck_cpu_relax() } else { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs items of region `generation` until none are left (or the region changed).
    private func work(generation: UInt64, body: (Int, Int) -> Void, count: Int, thread: Int) {
        while true {
            var word = ticket.load(ordering: .acquiring)
            var claimed = -1
            while word >> 32 == generation, Int(word & 0xFFFF_FFFF) < count {
                let (exchanged, original) = ticket.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
                if exchanged { claimed = Int(word & 0xFFFF_FFFF); break }
                word = original
            }
            guard claimed >= 0 else { return }
            body(claimed, thread)
            completed.add(1, ordering: .releasing)
        }
    }

    func workerLoop(_ index: Int) {
        var seen: UInt64 = 0
        while true {
            var spins = 0
            var generation = ticket.load(ordering: .acquiring) >> 32
            while generation == seen {
                spins += 1
                if spins < Self.yieldAfter {
                    ck_cpu_relax()
                } else if spins < Self.sleepAfter {
                    sched_yield()
                } else {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while ticket.load(ordering: .sequentiallyConsistent) >> 32 == seen { pthread_cond_wait(condition, mutex) }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                generation = ticket.load(ordering: .acquiring) >> 32
            }
            seen = generation
            if stopping.load(ordering: .acquiring) { exited.add(1, ordering: .releasing); return }
            guard generation & 1 == 1 else { continue } // a close: nothing to do
            active.add(1, ordering: .sequentiallyConsistent)
            if ticket.load(ordering: .sequentiallyConsistent) >> 32 == generation, let body = job {
                work(generation: generation, body: body, count: itemCount, thread: index)
            }
            active.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}

import Synchronization
import Tensor
import Testing

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 7, 64, 1000] {
            let hits = Mutex([Int](repeating: 0, count: count))
            for granularity in [1, 2, 32] {
                pool.parallelFor(count: count, granularity: granularity) { range in
                    #expect(range.lowerBound % granularity == 0 && (range.upperBound % granularity == 0 || range.upperBound == count))
                    hits.withLock { for i in range { $0[i] += 1 } }
                }
            }
            pool.forEach(count: count) { i, _ in hits.withLock { $0[i] += 1 } }
            #expect(hits.withLock { $0.allSatisfy { $0 == 4 } })
        }
    }

    /// More threads than cores, as on a loaded machine: regions still complete (waits yield).
    @Test func manyShortRegionsAndSleepingWorkers() async throws {
        let pool = ThreadPool(threadCount: 3)
        let total = Atomic<Int>(0)
        for round in 0..<5_000 { pool.forEach(count: 3) { _, _ in total.add(1, ordering: .relaxed) }; if round == 10 { try await Task.sleep(for: .milliseconds(50)) } }
        #expect(total.load(ordering: .relaxed) == 15_000)
        // after a pause long enough for workers to fall asleep, they still wake for work
        try await Task.sleep(for: .milliseconds(200))
        pool.forEach(count: 3) { _, _ in total.add(1, ordering: .relaxed) }
        #expect(total.load(ordering: .relaxed) == 15_003)
    }
}

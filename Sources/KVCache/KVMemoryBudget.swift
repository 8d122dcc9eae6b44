import Foundation

/// How much RAM the pages of one or more caches may take, and where pages beyond it go.
///
/// Caches created with the same budget share its limit. At a cache's safe points (`reserve`,
/// `commit`, `prefetch`) sealed pages are evicted to their cache's spill file while the shared total
/// is over the limit: first from the caches used least recently (documents waiting for their turn),
/// then in the layer order of `PagedKVCache+Residency.swift`, never from the layer being read.
/// Unsealed pages (the tokens of a forward pass in progress, an int4 cache's f16 window) and the
/// pages a layer is reading are never evicted, so the resident total can exceed a limit smaller
/// than that working set: `peakResidentByteCount` reports what actually happened.
///
/// Because one cache's safe point may evict another cache's pages, the caches of one budget must be
/// driven by one thread at a time — one `ForwardContext`, as a batched decode over many documents
/// is. Give concurrent drivers a budget each. The counters are thread-safe.
public final class KVMemoryBudget: @unchecked Sendable {
    public let byteLimit: Int
    /// Folder of the spill files (`<pid>-<n>.kvspill`, each removed with its cache).
    public let spillDirectory: String
    private let lock = NSLock()
    private var resident = 0
    private var peak = 0
    private var spillFileCount = 0
    private var clock: UInt64 = 0
    private var members: [ObjectIdentifier: Member] = [:]

    private struct Member {
        weak var cache: PagedKVCache?
        var lastUse: UInt64
    }

    public init(byteLimit: Int, spillDirectory: String) {
        precondition(byteLimit >= 0)
        self.byteLimit = byteLimit
        self.spillDirectory = spillDirectory
    }

    /// A budget of `megabytes` MiB (`--memory-budget-mb`).
    public convenience init(megabytes: Int, spillDirectory: String) {
        self.init(byteLimit: megabytes << 20, spillDirectory: spillDirectory)
    }

    /// Bytes of pages resident now in all caches of this budget, and the most at any time.
    public var residentByteCount: Int { lock.withLock { resident } }
    public var peakResidentByteCount: Int { lock.withLock { peak } }

    /// Whether allocating `bytes` more would exceed the limit.
    func isOverLimit(adding bytes: Int = 0) -> Bool { lock.withLock { resident + bytes > byteLimit } }

    func add(_ delta: Int) {
        lock.withLock {
            resident += delta
            peak = max(peak, resident)
        }
    }

    func register(_ cache: PagedKVCache) {
        lock.withLock {
            clock += 1
            members[ObjectIdentifier(cache)] = Member(cache: cache, lastUse: clock)
        }
    }

    func unregister(_ id: ObjectIdentifier) { _ = lock.withLock { members.removeValue(forKey: id) } }

    /// Marks `cache` as used now.
    func touch(_ cache: PagedKVCache) {
        lock.withLock {
            clock += 1
            members[ObjectIdentifier(cache)]?.lastUse = clock
        }
    }

    /// The caches of this budget, least recently used first.
    func evictionCandidates() -> [PagedKVCache] {
        lock.withLock { members.values.sorted { $0.lastUse < $1.lastUse }.compactMap(\.cache) }
    }

    /// A fresh spill file path; creates the folder when missing.
    func makeSpillPath() throws(KVCacheError) -> String {
        let n = lock.withLock { spillFileCount += 1; return spillFileCount }
        try KVStorage.makeFolder(spillDirectory)
        let unique = UInt32.random(in: 0...UInt32.max)
        return "\(spillDirectory)/\(getpid())-\(n)-\(String(unique, radix: 16)).kvspill"
    }
}

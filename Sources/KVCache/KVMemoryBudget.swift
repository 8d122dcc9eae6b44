import Foundation

/// How much RAM the pages of one or more caches may take, and where pages beyond it go.
///
/// Caches created with the same budget share its limit: each keeps its own pages and, at its safe
/// points (`reserve`, `commit`, `prefetch`), evicts sealed pages of its own to its spill file while
/// the shared total is over the limit. Unsealed pages (the tokens of a forward pass in progress, an
/// int4 cache's f16 window) and the pages a layer is reading are never evicted, so the resident
/// total can exceed a limit smaller than that working set: `peakResidentByteCount` reports what
/// actually happened. Thread-safe.
public final class KVMemoryBudget: @unchecked Sendable {
    public let byteLimit: Int
    /// Folder of the spill files (`<pid>-<n>.kvspill`, each removed with its cache).
    public let spillDirectory: String
    private let lock = NSLock()
    private var resident = 0
    private var peak = 0
    private var spillFileCount = 0

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

    var isOverLimit: Bool { lock.withLock { resident > byteLimit } }

    func add(_ delta: Int) {
        lock.withLock {
            resident += delta
            peak = max(peak, resident)
        }
    }

    /// A fresh spill file path; creates the folder when missing.
    func makeSpillPath() throws(KVCacheError) -> String {
        let n = lock.withLock { spillFileCount += 1; return spillFileCount }
        do {
            try FileManager.default.createDirectory(atPath: spillDirectory, withIntermediateDirectories: true)
        } catch {
            throw .io(path: spillDirectory, operation: "create folder", code: Int32((error as NSError).code))
        }
        let unique = UInt32.random(in: 0...UInt32.max)
        return "\(spillDirectory)/\(getpid())-\(n)-\(String(unique, radix: 16)).kvspill"
    }
}

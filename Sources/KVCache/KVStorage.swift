import Foundation

/// The KV files of a runner (`data/kv/` by default): `spill/` holds the spill files of live caches,
/// `snapshots/` the document snapshots. One value describes the layout; the runner makes the
/// budget of each unit and applies the retention policy at the start and end of a run.
public struct KVStorage: Sendable {
    public let root: String

    public init(root: String = "data/kv") { self.root = root }

    public var spillDirectory: String { "\(root)/spill" }
    public var snapshots: KVSnapshotStore { KVSnapshotStore(directory: "\(root)/snapshots") }

    /// A budget of `megabytes` MiB spilling into this storage.
    public func makeBudget(megabytes: Int) -> KVMemoryBudget {
        KVMemoryBudget(megabytes: megabytes, spillDirectory: spillDirectory)
    }

    /// Removes what finished or abandoned work left behind (`KVRetentionPolicy`).
    @discardableResult
    public func cleanUp(_ policy: KVRetentionPolicy = KVRetentionPolicy(), now: Date = Date()) -> KVCleanupReport {
        var report = KVCleanupReport()
        let fm = FileManager.default
        // Spill files: a cache removes its own; these are left by processes that died.
        for (path, attributes) in Self.files(in: spillDirectory, suffix: ".kvspill") {
            let name = (path as NSString).lastPathComponent
            let pid = Int32(name.prefix { $0 != "-" }) ?? 0
            let alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
            let age = now.timeIntervalSince(attributes.modified)
            guard !alive || age > policy.maxSpillAge else { continue }
            if (try? fm.removeItem(atPath: path)) != nil { report.removedSpillFiles += 1; report.removedBytes += attributes.size }
        }
        // Snapshots: too old first, then least recently used beyond the size cap; leftover temporaries too.
        var snapshots = Self.files(in: snapshots.directory, suffix: ".kvsnap").sorted { $0.1.modified < $1.1.modified }
        var total = snapshots.reduce(0) { $0 + $1.1.size }
        while let (path, attributes) = snapshots.first,
              total > policy.maxSnapshotByteCount || now.timeIntervalSince(attributes.modified) > policy.maxSnapshotAge {
            snapshots.removeFirst()
            total -= attributes.size
            if (try? fm.removeItem(atPath: path)) != nil { report.removedSnapshots += 1; report.removedBytes += attributes.size }
        }
        for (path, attributes) in Self.files(in: self.snapshots.directory, suffix: nil)
        where path.contains(".kvsnap.tmp-") && now.timeIntervalSince(attributes.modified) > policy.maxSpillAge {
            try? fm.removeItem(atPath: path)
        }
        report.snapshotCount = snapshots.count
        report.snapshotByteCount = total
        return report
    }

    private static func files(in directory: String, suffix: String?) -> [(String, (size: Int, modified: Date))] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { suffix == nil || $0.hasSuffix(suffix!) }.compactMap { name in
            let path = "\(directory)/\(name)"
            guard let a = try? fm.attributesOfItem(atPath: path) else { return nil }
            return (path, ((a[.size] as? NSNumber)?.intValue ?? 0, (a[.modificationDate] as? Date) ?? .distantPast))
        }
    }
}

/// What `KVStorage.cleanUp` keeps. Spill files belong to live caches and are removed with them; a
/// spill file whose process is gone, or untouched for `maxSpillAge`, is removed. Snapshots older
/// than `maxSnapshotAge` (since last use: loading one touches it) are removed, then the least
/// recently used until all fit in `maxSnapshotByteCount`.
public struct KVRetentionPolicy: Sendable, Equatable {
    public var maxSnapshotByteCount: Int
    public var maxSnapshotAge: TimeInterval
    public var maxSpillAge: TimeInterval

    /// Defaults: 4 GiB of snapshots (about 23 documents of 8K tokens at f16, 90 at int4 for
    /// SmolLM2-135M), unused for at most 7 days; stale spill files after 1 day.
    public init(maxSnapshotByteCount: Int = 4 << 30, maxSnapshotAge: TimeInterval = 7 * 86_400, maxSpillAge: TimeInterval = 86_400) {
        self.maxSnapshotByteCount = maxSnapshotByteCount
        self.maxSnapshotAge = maxSnapshotAge
        self.maxSpillAge = maxSpillAge
    }
}

public struct KVCleanupReport: Sendable, Equatable, Codable {
    public var removedSpillFiles = 0
    public var removedSnapshots = 0
    public var removedBytes = 0
    /// Snapshots kept, and their bytes.
    public var snapshotCount = 0
    public var snapshotByteCount = 0
    public init() {}

}

extension KVStorage {
    /// `mkdir -p` with the system's error: a read-only or full file system is reported by its
    /// errno (EROFS, ENOSPC, EACCES), not as a Foundation error code taken for one.
    static func makeFolder(_ path: String) throws(KVCacheError) {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw .io(path: path, operation: "create folder", code: ENOTDIR) }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeFolder(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw .io(path: path, operation: "create folder", code: errno) }
    }
}

import Foundation

/// Document snapshots on disk (`data/kv/snapshots/<content hash>-<format>.kvsnap`, format in
/// `PagedKVCache+Snapshot.swift`): the prefilled KV of a document, saved once and loaded by every
/// later prompt or job on the same document, model and KV format.
public struct KVSnapshotStore: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func path(for key: KVSnapshotKey) -> String { "\(directory)/\(key.fileName)" }

    /// Saves the cache's committed pages under `key` (replacing any older file). Returns its size in bytes.
    @discardableResult
    public func save(_ cache: PagedKVCache, key: KVSnapshotKey) throws(KVCacheError) -> Int {
        try KVStorage.makeFolder(directory)
        return try cache.writeSnapshot(to: path(for: key), key: key)
    }

    /// The cache saved under `key`, or nil when there is none. A snapshot that fails validation
    /// (corrupt, truncated or made for another key) is removed and its error thrown: the caller
    /// recomputes the KV and may save it again. A snapshot used is touched, so the size cap of the
    /// retention policy removes the least recently used first.
    public func load(_ key: KVSnapshotKey, budget: KVMemoryBudget? = nil) throws(KVCacheError) -> PagedKVCache? {
        let file = path(for: key)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        do {
            let cache = try PagedKVCache(snapshotAt: file, key: key, budget: budget)
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: file)
            return cache
        } catch {
            if case .io = error {} else { try? FileManager.default.removeItem(atPath: file) }
            throw error
        }
    }
}

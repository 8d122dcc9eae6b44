import Foundation
@testable import KVCache
import Testing
import TestSupport

/// Document snapshots over every format × residency: a saved cache loads back bit-identical and
/// keeps behaving identically; a corrupt, truncated or mismatched snapshot is refused (and removed
/// by the store) so the caller recomputes.
@Suite struct KVSnapshotTests {
    static let tokens: [Int32] = (0..<300).map { Int32($0 * 37 % 49_152) }

    static func key(_ format: KVFormat, tokens: [Int32] = tokens, digest: UInt64 = 0xfeed) -> KVSnapshotKey {
        KVSnapshotKey(modelDigest: digest, format: format, geometry: SyntheticKV.geometry, tokens: tokens)
    }

    /// A cache of `tokens.count` tokens saved in the bench's snapshot store; returns it and the file.
    static func saved(_ c: CacheCase, _ bench: CacheBench) throws -> (PagedKVCache, String) {
        let cache = try bench.make(c)
        try cache.fill(SyntheticKV(set: 7), from: 0, to: 172)
        try cache.fill(SyntheticKV(set: 7), from: 172, to: 300)
        let store = bench.storage.snapshots
        let bytes = try store.save(cache, key: key(c.format))
        let path = store.path(for: key(c.format))
        #expect(bytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        return (cache, path)
    }

    @Test(arguments: CacheCase.all)
    func snapshotLoadsBackBitIdentical(_ c: CacheCase) throws {
        let bench = CacheBench()
        let (original, _) = try Self.saved(c, bench)
        let budget = c.residency == .spilled ? KVMemoryBudget(byteLimit: 0, spillDirectory: bench.storage.spillDirectory) : nil
        let loaded = try #require(try bench.storage.snapshots.load(Self.key(c.format), budget: budget))
        #expect(loaded.tokenCount == 300 && loaded.format == c.format)
        #expect(try loaded.pageBytes(tokens: 300) == original.pageBytes(tokens: 300))
        if c.residency == .spilled { // pages beyond the budget are read back from the snapshot, not re-spilled
            #expect(loaded.statistics.pageWrites == 0 && loaded.spillFilePath == nil)
        }
        // Both go on identically (sealing and int4 quantization happen at the same tokens).
        let more = SyntheticKV(set: 8)
        try original.fill(more, from: 300, to: 420)
        try loaded.fill(more, from: 300, to: 420)
        #expect(try loaded.pageBytes(tokens: 420) == original.pageBytes(tokens: 420))
        // A snapshot is only found under its own key.
        #expect(try bench.storage.snapshots.load(Self.key(c.format, tokens: Array(Self.tokens.dropLast()))) == nil)
    }

    enum Damage: String, CaseIterable { case pageByte, headerByte, truncated, empty }

    @Test(arguments: Damage.allCases)
    func damagedSnapshotIsRefusedAndRemoved(_ damage: Damage) throws {
        let bench = CacheBench()
        for format in KVFormat.allCases {
            let (_, path) = try Self.saved(CacheCase(format: format, residency: .inRAM), bench)
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            switch damage {
            case .pageByte: bytes[bytes.count - 1000] ^= 0x01
            case .headerByte: bytes[70] ^= 0x40 // a token id: only the header checksum catches it
            case .truncated: bytes.removeLast(bytes.count / 3)
            case .empty: bytes = []
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect {
                _ = try bench.storage.snapshots.load(Self.key(format))
            } throws: { error in
                guard case .corruptSnapshot = error as? KVCacheError else { return false }
                return true
            }
            #expect(!FileManager.default.fileExists(atPath: path), "an unusable snapshot is removed")
        }
    }

    @Test func mismatchedSnapshotIsRefused() throws {
        let bench = CacheBench()
        let (_, path) = try Self.saved(CacheCase(format: .int8, residency: .inRAM), bench)
        var otherTokens = Self.tokens
        otherTokens[150] += 1
        let wrongKeys: [(KVSnapshotKey, String)] = [
            (Self.key(.int8, tokens: otherTokens), "tokens"),
            (Self.key(.int8, digest: 0xbeef), "model"),
            (Self.key(.int4), "KV format"),
            (KVSnapshotKey(modelDigest: 0xfeed, format: .int8, geometry: KVGeometry(layerCount: 3, kvHeadCount: 1, headDim: 64),
                           tokens: Self.tokens), "KV geometry"),
        ]
        for (key, field) in wrongKeys {
            #expect(throws: KVCacheError.snapshotMismatch(path: path, field: field)) {
                try PagedKVCache(snapshotAt: path, key: key)
            }
        }
        #expect(Set(wrongKeys.map { $0.0.fileName }).count == wrongKeys.count && !wrongKeys.contains { $0.0.fileName == Self.key(.int8).fileName })
        #expect((try? PagedKVCache(snapshotAt: path, key: Self.key(.int8))) != nil, "the right key still loads")
    }

    @Test func retentionPolicyRemovesOldAndLeastRecentlyUsed() throws {
        let bench = CacheBench(), storage = bench.storage, fm = FileManager.default
        try fm.createDirectory(atPath: storage.spillDirectory, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: storage.snapshots.directory, withIntermediateDirectories: true)
        let now = Date()
        func file(_ path: String, bytes: Int, age: TimeInterval) throws {
            _ = fm.createFile(atPath: path, contents: Data(count: bytes))
            try fm.setAttributes([.modificationDate: now.addingTimeInterval(-age)], ofItemAtPath: path)
        }
        // Spill files: one of this (live) process, one of a process that does not exist.
        try file("\(storage.spillDirectory)/\(getpid())-1-a.kvspill", bytes: 10, age: 60)
        try file("\(storage.spillDirectory)/999999999-1-b.kvspill", bytes: 10, age: 60)
        // Snapshots: fresh ones of 100 bytes used 1–3 hours ago, one 8 days old.
        for (name, age) in [("a", 3600.0), ("b", 7200.0), ("c", 10_800.0), ("old", 8 * 86_400.0)] {
            try file("\(storage.snapshots.directory)/\(name)-int8.kvsnap", bytes: 100, age: age)
        }
        let report = storage.cleanUp(KVRetentionPolicy(maxSnapshotByteCount: 250, maxSnapshotAge: 7 * 86_400, maxSpillAge: 86_400), now: now)
        #expect(report.removedSpillFiles == 1 && report.removedSnapshots == 2)
        #expect(try fm.contentsOfDirectory(atPath: storage.spillDirectory) == ["\(getpid())-1-a.kvspill"])
        #expect(Set(try fm.contentsOfDirectory(atPath: storage.snapshots.directory)) == ["a-int8.kvsnap", "b-int8.kvsnap"])
        #expect(report.snapshotCount == 2 && report.snapshotByteCount == 200)
    }

    @Test func spillFileGoesAwayWithItsCache() throws {
        let bench = CacheBench()
        var cache: PagedKVCache? = try bench.make(CacheCase(format: .f16, residency: .spilled))
        try cache!.fill(SyntheticKV(set: 9), from: 0, to: 200)
        let path = try #require(cache!.spillFilePath)
        #expect(FileManager.default.fileExists(atPath: path))
        cache = nil
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

import CKernels
import Foundation
@testable import KVCache
import Testing
import TestSupport

/// The contract every KV cache meets, over every format × {all in RAM, spilled under a 0-byte
/// budget}: what is stored reads back within the format's error bound, in the format's page kinds;
/// truncate forgets exactly the tokens after the cut; stored tokens are readable before commit;
/// a spilled page that no longer matches its checksum is refused.
@Suite struct KVCacheContractTests {
    static let chunks = [100, 1, 1, 50, 148] // prefill chunks and decode steps: 300 tokens

    /// Checks tokens `range` of `read` against `data` within each page kind's bound (`slack` × bound).
    static func expectWithinBound(_ read: (keys: [[[Float]]], values: [[[Float]]], kinds: [[KVPageKind]]), _ data: SyntheticKV,
                                  positions range: Range<Int>, slack: Float = 1, _ c: CacheCase) {
        let g = SyntheticKV.geometry
        var worst: Float = 0
        for l in 0..<g.layerCount {
            for p in Set(range.map { $0 / 64 }).sorted() {
                let pageTokens = (p * 64)..<(p * 64 + 64)
                let originals = pageTokens.map { data.token(layer: l, position: $0) }
                let bound = PageErrorBound(kind: read.kinds[l][p], keys: originals.map(\.keys), values: originals.map(\.values),
                                           headDim: g.headDim)
                for pos in pageTokens where range.contains(pos) {
                    let j = pos - p * 64
                    for i in 0..<(g.kvHeadCount * g.headDim) {
                        let ek = abs(read.keys[l][pos][i] - originals[j].keys[i]), ev = abs(read.values[l][pos][i] - originals[j].values[i])
                        worst = max(worst, ek / bound.keys[j][i], ev / bound.values[j][i])
                    }
                }
            }
        }
        #expect(worst <= slack, "\(c.testDescription): worst error \(worst) × the bound over positions \(range)")
    }

    @Test(arguments: CacheCase.all)
    func storedTokensReadBackWithinBound(_ c: CacheCase) throws {
        let bench = CacheBench(), data = SyntheticKV(set: 1)
        let cache = try bench.make(c)
        var n = 0
        for chunk in Self.chunks { try cache.fill(data, from: n, to: n + chunk); n += chunk }
        #expect(cache.tokenCount == 300)
        let read = try cache.readBack(tokens: 300)
        Self.expectWithinBound(read, data, positions: 0..<300, c)
        // Page kinds: int8 everywhere for int8; int4 for pages whose tokens are all ≥ 128 older than the newest.
        let expected: [KVPageKind] = switch c.format {
        case .f16: Array(repeating: .f16, count: 5)
        case .int8: Array(repeating: .int8, count: 5)
        case .int4: [.int4, .int4, .f16, .f16, .f16] // 64·(p+1) ≤ 300 − 128 for p = 0, 1
        }
        #expect(read.kinds.allSatisfy { $0 == expected }, "\(read.kinds[0])")
        let stats = cache.statistics
        if c.residency == .spilled {
            // Every sealed page went to disk and came back on prefetch; RAM holds the unsealed pages
            // plus the last layer read (nothing has evicted it since).
            let sealedPerStream = c.format == .int4 ? 2 : 4
            #expect(stats.pageWrites == 6 * sealedPerStream && stats.pageReads >= 6 * sealedPerStream)
            #expect(stats.spilledByteCount > 0 && stats.storedBytesWritten == stats.spilledByteCount)
            try cache.commit(tokenCount: 300) // a safe point: evicts the read-back pages again
            let unsealed = c.format == .int4 ? 6 * 3 * KVPageKind.f16.byteCount(headDim: 64) : 6 * c.format.writeKind.byteCount(headDim: 64)
            #expect(cache.residentByteCount == unsealed)
            #expect(FileManager.default.fileExists(atPath: cache.spillFilePath ?? ""))
        } else {
            #expect(stats.pageWrites == 0 && stats.pageReads == 0 && cache.spillFilePath == nil)
            if c.format != .int4 { #expect(stats.residentByteCount == stats.peakResidentByteCount) } // int4 frees f16 pages
        }
    }

    @Test(arguments: CacheCase.all)
    func truncateForgetsTokensAfterTheCut(_ c: CacheCase) throws {
        let bench = CacheBench(), first = SyntheticKV(set: 1), second = SyntheticKV(set: 2)
        let cache = try bench.make(c)
        try cache.fill(first, from: 0, to: 300)
        // Cut inside page 1 (an int4 page in the int4 cache), then write other tokens after the cut.
        try cache.truncate(to: 100)
        #expect(cache.tokenCount == 100)
        try cache.fill(second, from: 100, to: 260)
        let read = try cache.readBack(tokens: 260)
        Self.expectWithinBound(read, first, positions: 0..<64, c)
        // The reopened page's old tokens carry the int4 error they had, and may be quantized again.
        Self.expectWithinBound(read, first, positions: 64..<100, slack: c.format == .int4 ? 2.5 : 1, c)
        var shifted = read // tokens after the cut come from the second set
        for l in 0..<3 { for p in 0..<100 { shifted.keys[l][p] = second.token(layer: l, position: p).keys; shifted.values[l][p] = second.token(layer: l, position: p).values } }
        Self.expectWithinBound(shifted, second, positions: 128..<260, c)
        // Truncating to a page boundary and to zero.
        try cache.truncate(to: 128)
        try cache.truncate(to: 0)
        #expect(cache.tokenCount == 0 && cache.residentByteCount == 0)
        try cache.fill(second, from: 0, to: 70)
        Self.expectWithinBound(try cache.readBack(tokens: 70), second, positions: 0..<70, c)
        #expect(cache.statistics.spilledByteCount >= 0)
    }

    @Test(arguments: CacheCase.all)
    func storedTokensAreReadableBeforeCommit(_ c: CacheCase) throws {
        let bench = CacheBench(), data = SyntheticKV(set: 3)
        let cache = try bench.make(c)
        try cache.fill(data, from: 0, to: 64)
        try cache.reserve(tokenCount: 80)
        for p in 64..<80 { let (k, v) = data.token(layer: 1, position: p); cache.store(layer: 1, position: p, keys: k, values: v) }
        #expect(cache.tokenCount == 64)
        try cache.prefetch(layer: 1, pages: 0..<2)
        let page = cache.page(layer: 1, kvHead: 1, index: 1)
        var k = [Float](repeating: 0, count: 16 * 64), v = k
        #expect(page.kind == c.format.writeKind, "the newest page is in the format's write kind (f16 for int4)")
        ck_kv_dequantize_f32(Int32(page.kind.rawValue), page.baseAddress, 64, 16, &k, &v)
        let original = data.token(layer: 1, position: 64 + 5)
        let err = (0..<64).map { abs(v[5 * 64 + $0] - original.values[64 + $0]) }.max()!
        #expect(err < 0.02, "\(c.testDescription): \(err)")
    }

    @Test(arguments: CacheCase.spilled)
    func corruptSpilledPageIsRefused(_ c: CacheCase) throws {
        let bench = CacheBench(), data = SyntheticKV(set: 4)
        let cache = try bench.make(c)
        try cache.fill(data, from: 0, to: 300)
        let path = try #require(cache.spillFilePath)
        // Flip one byte in every page record: each read-back must fail, never return the page.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = Int(try handle.seekToEnd()), stride = size / (c.format == .int4 ? 12 : 24)
        for offset in Swift.stride(from: stride / 2, to: size, by: stride) {
            try handle.seek(toOffset: UInt64(offset))
            let byte = try #require(try handle.read(upToCount: 1))
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [byte[0] ^ 0x5a])
        }
        try handle.close()
        var failures = 0
        for l in 0..<3 {
            do { try cache.prefetch(layer: l, pages: 0..<5) } catch let error {
                guard case .corruptPage = error else { Issue.record("unexpected \(error)"); continue }
                failures += 1
            }
        }
        #expect(failures == 3, "\(c.testDescription)")
    }

    @Test func budgetIsSharedBetweenCaches() throws {
        let bench = CacheBench(), data = SyntheticKV(set: 5)
        let pageBytes = KVPageKind.int8.byteCount(headDim: 64)
        let limited = KVMemoryBudget(byteLimit: 60 * pageBytes, spillDirectory: bench.storage.spillDirectory)
        let a = try bench.make(CacheCase(format: .int8, residency: .spilled), budget: limited)
        let b = try bench.make(CacheCase(format: .int8, residency: .spilled), budget: limited)
        try a.fill(data, from: 0, to: 512)  // 8 pages × 6 streams = 48 pages, all sealed at the commit
        try b.fill(data, from: 0, to: 512)  // room for b's 48 new pages is made first, from a (used least recently)
        #expect(limited.peakResidentByteCount <= 60 * pageBytes, "room is made before pages are allocated")
        #expect(limited.residentByteCount == a.residentByteCount + b.residentByteCount)
        #expect(a.residentByteCount == 12 * pageBytes && b.residentByteCount == 48 * pageBytes)
        #expect(a.statistics.pageWrites == 36 && b.statistics.pageWrites == 0)
        Self.expectWithinBound(try a.readBack(tokens: 512), data, positions: 0..<512, CacheCase(format: .int8, residency: .spilled))
        #expect(limited.peakResidentByteCount <= 60 * pageBytes)
        _ = b
    }

    @Test func int4PagesQuantizedTogetherLieInOrderInOneRun() throws {
        // Decode reads a stream's pages in order: the pages one commit quantizes are consecutive in
        // memory per stream, and their run is charged until its last page is freed.
        let bench = CacheBench(), data = SyntheticKV(set: 1)
        let cache = try bench.make(CacheCase(format: .int4, residency: .inRAM))
        try cache.fill(data, from: 0, to: 448) // one commit: pages 0..<5 leave the window (64·5 ≤ 448 − 128)
        let g = SyntheticKV.geometry, n = KVPageKind.int4.byteCount(headDim: g.headDim), f16 = KVPageKind.f16.byteCount(headDim: g.headDim)
        let streams = g.layerCount * g.kvHeadCount
        for l in 0..<g.layerCount {
            for h in 0..<g.kvHeadCount {
                let bases = (0..<5).map { Int(bitPattern: cache.page(layer: l, kvHead: h, index: $0).baseAddress) }
                #expect(bases == (0..<5).map { bases[0] + $0 * n }, "layer \(l) head \(h)")
            }
        }
        #expect(cache.residentByteCount == streams * (5 * n + 2 * f16))
        try cache.truncate(to: 64) // frees pages 1..<7: the runs stay for page 0
        #expect(cache.residentByteCount == streams * 5 * n)
        Self.expectWithinBound(try cache.readBack(tokens: 64), data, positions: 0..<64, CacheCase(format: .int4, residency: .inRAM))
        try cache.truncate(to: 0)
        #expect(cache.residentByteCount == 0)
    }

    @Test func int4NeedsAHeadDimensionMultipleOf64() {
        #expect(throws: KVCacheError.unsupportedGeometry(format: .int4, headDim: 80)) {
            try PagedKVCache(format: .int4, geometry: KVGeometry(layerCount: 1, kvHeadCount: 1, headDim: 80))
        }
        #expect((try? PagedKVCache(format: .int8, geometry: KVGeometry(layerCount: 1, kvHeadCount: 1, headDim: 80))) != nil)
    }
}

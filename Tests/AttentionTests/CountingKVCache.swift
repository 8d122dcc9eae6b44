import Foundation
import KVCache

/// A KV cache that records which pages attention reads (the item-7 check: a selecting strategy
/// reads only the pages it selects).
final class CountingKVCache: KVCache, @unchecked Sendable {
    private let base: KVCache
    private let lock = NSLock()
    private var reads: Set<[Int]> = []

    init(_ base: KVCache) { self.base = base }

    var geometry: KVGeometry { base.geometry }
    var format: KVFormat { base.format }
    var tokenCount: Int { base.tokenCount }
    var statistics: KVCacheStatistics { base.statistics }
    func reserve(tokenCount: Int) throws(KVCacheError) { try base.reserve(tokenCount: tokenCount) }
    func store(layer: Int, position: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        base.store(layer: layer, position: position, keys: keys, values: values)
    }
    func commit(tokenCount: Int) throws(KVCacheError) { try base.commit(tokenCount: tokenCount) }
    func truncate(to tokenCount: Int) throws(KVCacheError) { try base.truncate(to: tokenCount) }
    func prefetch(layer: Int, pages: Range<Int>) throws(KVCacheError) { try base.prefetch(layer: layer, pages: pages) }
    func prefetch(layer: Int, kvHead: Int, pages: [Int]) throws(KVCacheError) { try base.prefetch(layer: layer, kvHead: kvHead, pages: pages) }
    func isResident(layer: Int, kvHead: Int, index: Int) -> Bool { base.isResident(layer: layer, kvHead: kvHead, index: index) }

    func page(layer: Int, kvHead: Int, index: Int) -> KVPage {
        lock.lock()
        reads.insert([layer, kvHead, index])
        lock.unlock()
        return base.page(layer: layer, kvHead: kvHead, index: index)
    }

    func reset() { lock.lock(); reads = []; lock.unlock() }

    /// Distinct (KV head, page) pairs of `layer` read since the last reset.
    func distinctPagesRead(layer: Int) -> Int { lock.lock(); defer { lock.unlock() }; return reads.filter { $0[0] == layer }.count }
}

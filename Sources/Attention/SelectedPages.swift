import KVCache
import Tensor

/// Reading only the pages a selecting strategy selects from a cache whose sealed pages may be on
/// disk (`KVMemoryBudget`). Pages are loaded from the driving thread only, outside parallel
/// regions (`KVCache.prefetch`), but the strategies select on the pool's threads. So each work
/// item of a gathering step checks, once it has selected its keys, whether the pages holding them
/// are in RAM (`ready`); if not, it records the missing ones and returns before reading any value.
/// `run` then loads every recorded page and runs those items again: selection is deterministic
/// (the same sketches, tables, mirror and query), so they select the same keys and now read them.
/// Over a cache whose pages are all in RAM nothing is recorded and every item runs once.
///
/// One instance per strategy; items are indexed `0..<count` of one `run`, each run by one thread
/// at a time.
final class SelectedPages {
    private final class Item {
        var cache: KVCache?
        var kvHead = 0
        var pages: [Int] = []
    }

    private var items: [Item] = []
    private var layer = 0

    /// Runs `body(item, thread)` for items `0..<count` on `pool`, loads the pages the items that
    /// were not `ready` recorded, and runs those items again. Throws when a page fails to load (the
    /// items it concerns have then written nothing).
    func run(count: Int, layer: Int, pool: ThreadPool, _ body: (Int, Int) -> Void) throws(KVCacheError) {
        self.layer = layer
        while items.count < count { items.append(Item()) }
        for item in items.prefix(count) { item.cache = nil; item.pages.removeAll(keepingCapacity: true) }
        pool.forEach(count: count, body)
        let stopped = (0..<count).filter { items[$0].cache != nil }
        guard !stopped.isEmpty else { return }
        for i in stopped {
            let item = items[i]
            try item.cache!.prefetch(layer: layer, kvHead: item.kvHead, pages: Set(item.pages).sorted())
            item.cache = nil
            item.pages.removeAll(keepingCapacity: true)
        }
        pool.forEach(count: stopped.count) { body(stopped[$0], $1) }
        // The loaded pages belong to the layer being read, which eviction never picks.
        precondition(stopped.allSatisfy { items[$0].cache == nil }, "selected pages left RAM before they were read")
    }

    /// Inside `run`'s body for `item`: whether the pages holding keys `positions[0..<count]` of
    /// (`layer`, `kvHead`) are all in RAM. When not, the missing ones are recorded and the item must
    /// return without reading values: it runs again once they are loaded.
    func ready(_ item: Int, cache: KVCache, kvHead: Int, positions: UnsafePointer<Int32>, count: Int) -> Bool {
        let entry = items[item]
        for i in 0..<count {
            let page = Int(positions[i]) >> 6
            if entry.pages.last != page && !cache.isResident(layer: layer, kvHead: kvHead, index: page) { entry.pages.append(page) }
        }
        guard !entry.pages.isEmpty else { return true }
        entry.cache = cache
        entry.kvHead = kvHead
        return false
    }
}

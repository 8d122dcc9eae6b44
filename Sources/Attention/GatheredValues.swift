import CKernels
import KVCache

/// Scratch for `GatheredValues.accumulate`: value-page pointers and slots of up to `capacity` keys.
final class GatherScratch {
    let pages: UnsafeMutablePointer<UnsafeRawPointer?>
    let slots: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private var seen: [UInt64] = []

    init(capacity: Int) {
        self.capacity = capacity
        pages = .allocate(capacity: capacity)
        slots = .allocate(capacity: capacity)
    }

    deinit { pages.deallocate(); slots.deallocate() }

    /// Distinct pages among `positions` (64-token pages).
    func distinctPages(_ positions: UnsafePointer<Int32>, count: Int) -> Int {
        var maxPage = 0
        for i in 0..<count { maxPage = max(maxPage, Int(positions[i]) >> 6) }
        let words = maxPage / 64 + 1
        if seen.count < words { seen = [UInt64](repeating: 0, count: words) } else { for w in 0..<words { seen[w] = 0 } }
        var distinct = 0
        for i in 0..<count {
            let p = Int(positions[i]) >> 6, bit = UInt64(1) << UInt64(p & 63)
            if seen[p >> 6] & bit == 0 { seen[p >> 6] |= bit; distinct += 1 }
        }
        return distinct
    }
}

/// The last step of every sparse strategy: the values of the keys it chose, read from the cache
/// pages that hold them, weighted by the given logits into an online-softmax state.
enum GatheredValues {
    /// Adds keys `positions[0..<count]` of (layer, kvHead) with logits `scores[r * scoreStride + i]`
    /// (−∞: not in row r's set) to `state`; returns the distinct pages read. Reads only the value
    /// rows of those keys (no read-ahead of the pages that follow).
    @discardableResult
    static func accumulate(_ cache: KVCache, layer: Int, kvHead: Int, positions: UnsafePointer<Int32>,
                           scores: UnsafePointer<Float>, scoreStride: Int, count: Int, into state: PartialSoftmax,
                           scratch: GatherScratch) -> Int {
        var done = 0
        var pageIndex = -1, current: ValuePage? = nil // the previous key's page: looked up once per run of keys on it
        while done < count { // in chunks of the scratch's capacity; all from one page kind per chunk
            let n = min(scratch.capacity, count - done)
            var kind: Int32 = 0
            var chunk = 0
            while chunk < n {
                let t = Int(positions[done + chunk])
                if t >> 6 != pageIndex { pageIndex = t >> 6; current = ValuePage(cache.page(layer: layer, kvHead: kvHead, index: pageIndex, readAhead: false)) }
                let page = current!
                if chunk > 0 && page.kind != kind { break }
                kind = page.kind
                scratch.pages[chunk] = page.base
                scratch.slots[chunk] = UInt8(t & 63)
                chunk += 1
            }
            ck_sparse_accumulate(kind, scores + done, Int64(scoreStride), Int32(state.group), Int32(state.headDim),
                                 scratch.pages, scratch.slots, Int32(chunk), state.m, state.l, state.acc)
            done += chunk
        }
        return scratch.distinctPages(positions, count: count)
    }
}

import CKernels
import KVCache
import Tensor

/// Exact decode attention (FlashDecoding): each (sequence, KV head) is split into page ranges
/// handled by different threads; every range yields an online-softmax state (max, sum,
/// unnormalised output) for the GQA group's query heads, and the states merge exactly.
public final class DenseAttention: AttentionStrategy {
    public var name: String { "dense" }
    /// Page ranges per (query, KV head); nil: enough to keep every thread busy (tests force counts).
    public var splitCount: Int?
    private let states = FloatScratch()

    public init() {}

    public func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool) {
        decode(queries, layer: layer, pool: pool, splitEachAlone: false)
    }

    /// `splitEachAlone`: every query's keys are split into the page ranges they would get if it
    /// were decoded alone, so its result is bit-identical to a batch of one (speculative
    /// verification: the rows of one pass stand for single-token decode steps). Otherwise every
    /// query gets the same number of ranges, chosen for the whole batch.
    public func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool, splitEachAlone: Bool) {
        guard let first = queries.first else { return }
        let geometry = first.cache.geometry
        let hd = geometry.headDim, kvHeads = geometry.kvHeadCount, group = first.headCount / kvHeads
        let pt = geometry.pageTokenCount
        // Splits per (query, KV head): about 8 items per thread, so that the last items claimed
        // are small against a thread's share (with 4 per thread, 9 items on 2 threads left one
        // thread a whole item idle at the end of every layer); never more than pages.
        func splitCount(units: Int, maxPages: Int) -> Int {
            max(1, min(maxPages, self.splitCount ?? (8 * pool.threadCount + units - 1) / units))
        }
        let pageCounts = queries.map { ($0.visibleTokenCount + pt - 1) / pt }
        let batchSplits = splitCount(units: queries.count * kvHeads, maxPages: pageCounts.max() ?? 1)
        let splitsOf = splitEachAlone ? pageCounts.map { splitCount(units: kvHeads, maxPages: $0) }
                                      : [Int](repeating: batchSplits, count: queries.count)
        let maxSplits = splitsOf.max()!
        let units = queries.count * kvHeads
        let stateFloats = group * (hd + 2) // m[group], l[group], acc[group × hd]
        let buffer = states.reserve(units * maxSplits * stateFloats)
        // Items (queries, KV head, split) of the splits that exist; state of (unit, split) at
        // (unit × maxSplits + split), unit = query × kvHeads + head. Split alone, consecutive rows
        // of one sequence with as many splits share an item: the rows visit the same pages one
        // after the other, so the pages come from memory once and from cache for the other rows.
        var runs: [Range<Int>] = []
        for q in queries.indices {
            if splitEachAlone, let last = runs.last, queries[last.lowerBound].cache === queries[q].cache,
               splitsOf[last.lowerBound] == splitsOf[q] {
                runs[runs.count - 1] = last.lowerBound..<(q + 1)
            } else {
                runs.append(q..<(q + 1))
            }
        }
        var items: [(queries: Range<Int>, head: Int, split: Int)] = []
        // Items are claimed newest split first: the last split of a sequence holds its partial page
        // and, in an int4 cache, the f16 pages of the recent window (3.4× the bytes of an int4
        // page), so the heavier items start early and the uniform ones fill the tail.
        for split in (0..<maxSplits).reversed() {
            for run in runs where split < splitsOf[run.lowerBound] {
                for head in 0..<kvHeads { items.append((run, head, split)) }
            }
        }

        pool.forEach(count: items.count) { item, _ in
            let (run, head, split) = items[item]
            // Rows of a run with as many pages visit the same page range; each f16 page is then
            // converted once for all of them (ck_attn_decode_f16_rows, every row bit-identical to
            // itself decoded alone).
            var lo = run.lowerBound
            while lo < run.upperBound {
                var hi = lo + 1
                while hi < run.upperBound && pageCounts[hi] == pageCounts[lo] { hi += 1 }
                attend(queries, rows: lo..<hi, head: head, split: split, splits: splitsOf[lo], pages: pageCounts[lo],
                       layer: layer, state: { buffer + (($0 * kvHeads + head) * maxSplits + split) * stateFloats })
                lo = hi
            }
        }
        // Merge the splits of each (query, head) into the first and normalise.
        for unit in 0..<units {
            let query = queries[unit / kvHeads], head = unit % kvHeads
            let base = buffer + unit * maxSplits * stateFloats
            for s in 1..<splitsOf[unit / kvHeads] {
                let other = base + s * stateFloats
                for g in 0..<group {
                    ck_attn_merge(base + g, base + group + g, base + 2 * group + g * hd,
                                  other[g], other[group + g], other + 2 * group + g * hd, Int32(hd))
                }
            }
            for g in 0..<group {
                let l = base[group + g], acc = base + 2 * group + g * hd
                let out = query.out + (head * group + g) * hd
                let inv = l > 0 ? 1 / l : 0
                for d in 0..<hd { out[d] = acc[d] * inv }
            }
        }
    }

    /// The pages of `split` (of `splits`) of KV head `head` for `rows`, queries of one cache with
    /// `pages` pages each, into the states `state(row)` (m[group], l[group], acc[group × hd]).
    private func attend(_ queries: [DecodeQuery], rows: Range<Int>, head: Int, split: Int, splits: Int, pages: Int, layer: Int,
                        state: (Int) -> UnsafeMutablePointer<Float>) {
        let cache = queries[rows.lowerBound].cache, geometry = cache.geometry
        let hd = geometry.headDim, group = queries[rows.lowerBound].headCount / geometry.kvHeadCount, pt = geometry.pageTokenCount
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: rows.count) { qs in
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>?.self, capacity: 3 * rows.count) { states in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: rows.count) { counts in
            for (r, qi) in rows.enumerated() {
                let m = state(qi)
                for g in 0..<group { m[g] = -.infinity; m[group + g] = 0 }
                (m + 2 * group).initialize(repeating: 0, count: group * hd)
                qs[r] = UnsafePointer(queries[qi].q + head * group * hd)
                states[r] = m; states[rows.count + r] = m + group; states[2 * rows.count + r] = m + 2 * group
            }
            let range = (pages * split / splits)..<(pages * (split + 1) / splits)
            for p in range {
                // Pages are separate allocations: start loading the next while this one is scored.
                if p + 1 < range.upperBound { prefetch(cache.page(layer: layer, kvHead: head, index: p + 1), headDim: hd) }
                for (r, qi) in rows.enumerated() { counts[r] = Int32(min(pt, queries[qi].visibleTokenCount - p * pt)) }
                let page = cache.page(layer: layer, kvHead: head, index: p)
                if case let .f16(keys, values) = page, rows.count > 1 {
                    ck_attn_decode_f16_rows(Int32(rows.count), qs.baseAddress, Int32(group), Int32(hd), keys, Int64(pt), values, Int64(hd),
                                            counts.baseAddress, states.baseAddress, states.baseAddress! + rows.count,
                                            states.baseAddress! + 2 * rows.count)
                    continue
                }
                for r in 0..<rows.count {
                    let q = qs[r]!, m = states[r]!, l = states[rows.count + r]!, acc = states[2 * rows.count + r]!
                    switch page {
                    case let .f16(keys, values):
                        ck_attn_decode_f16(q, Int32(group), Int32(hd), keys, Int64(pt), values, Int64(hd), counts[r], m, l, acc)
                    case let .int8(page):
                        ck_attn_decode_i8(q, Int32(group), Int32(hd), page, counts[r], m, l, acc)
                    case let .int4(page):
                        ck_attn_decode_i4(q, Int32(group), Int32(hd), page, counts[r], m, l, acc)
                    }
                }
            }
        }
        }
        }
    }

    @inline(__always)
    private func prefetch(_ page: KVPage, headDim hd: Int) {
        switch page {
        case let .f16(keys, values):
            ck_prefetch(keys, Int64(hd * 64 * 2))
            ck_prefetch(values, Int64(hd * 64 * 2))
        case .int8, .int4:
            break // the cache's read-ahead requests their first lines; the kernels prefetch the rest as they go
        }
    }
}

import KVCache
import Tensor

/// A per-(layer, KV head) structure of a sequence's index that grows with the sparse range.
protocol IndexedStream: AnyObject {
    /// Pages indexed (the sparse range's pages, `0..<pageCount`).
    var pageCount: Int { get }
    /// Whether `extend(to: pages, …)` has work to do.
    func needsExtension(to pages: Int) -> Bool
    /// Indexes pages `pageCount..<pages` of (layer, kvHead) from the cache (and whatever a rollback
    /// left to rebuild). `scratch`: 2·64·headDim floats.
    func extend(to pages: Int, cache: KVCache, layer: Int, kvHead: Int, scratch: UnsafeMutablePointer<Float>)
}

extension SketchedKeys: IndexedStream {
    func needsExtension(to pages: Int) -> Bool { pageCount < pages }
}

/// The queries of one layer that a sparse strategy attends sparsely, with their plans and the
/// index stream of every (query, KV head) unit (unit = query · kvHeadCount + head).
final class SparseQueries<Stream: IndexedStream> {
    let queries: [DecodeQuery]
    let plans: [SparsePlan]
    let layer: Int
    let kvHeadCount: Int
    let group: Int
    let headDim: Int
    private(set) var streams: [Stream] = []
    /// Pages read by `extendIndexes`.
    private(set) var indexPagesRead = 0

    init(queries: [DecodeQuery], plans: [SparsePlan], layer: Int) {
        let geometry = queries[0].cache.geometry
        self.queries = queries
        self.plans = plans
        self.layer = layer
        kvHeadCount = geometry.kvHeadCount
        group = queries[0].headCount / geometry.kvHeadCount
        headDim = geometry.headDim
    }

    var unitCount: Int { queries.count * kvHeadCount }

    @inline(__always)
    func unit(_ u: Int) -> (query: DecodeQuery, plan: SparsePlan, kvHead: Int) {
        (queries[u / kvHeadCount], plans[u / kvHeadCount], u % kvHeadCount)
    }

    @inline(__always) func stream(_ u: Int) -> Stream { streams[u] }

    /// Resolves every unit's stream and indexes the pages its sparse range added since the last
    /// step (all of them on a sequence's first sparse step), in parallel over units; loads those
    /// pages first when they are on disk.
    func extendIndexes(pool: ThreadPool, readers: PerThread<ScratchBuffer<Float>>,
                       resolve: (DecodeQuery, Int) -> Stream) throws(KVCacheError) {
        streams = (0..<unitCount).map { resolve(queries[$0 / kvHeadCount], $0 % kvHeadCount) }
        let lagging = (0..<unitCount).filter { streams[$0].needsExtension(to: plans[$0 / kvHeadCount].sparsePageCount) }
        guard !lagging.isEmpty else { return }
        indexPagesRead = lagging.reduce(0) { $0 + max(0, plans[$1 / kvHeadCount].sparsePageCount - streams[$1].pageCount) }
        for u in lagging {
            let (query, plan, head) = unit(u), first = streams[u].pageCount
            try query.cache.prefetch(layer: layer, kvHead: head, pages: Array(first..<max(first, plan.sparsePageCount)))
        }
        let buffers = readers.reserve(pool.threadCount).map { $0.reserve(2 * 64 * headDim) }
        pool.forEach(count: lagging.count) { i, thread in
            let u = lagging[i]
            let (query, plan, head) = unit(u)
            streams[u].extend(to: plan.sparsePageCount, cache: query.cache, layer: layer, kvHead: head, scratch: buffers[thread])
        }
    }

    /// Attends unit `u`'s dense part (sinks, window) into `state` (reset first); counts its pages.
    func attendDense(_ u: Int, into state: PartialSoftmax) -> SparseAttentionStatistics {
        let (query, plan, head) = unit(u)
        state.reset()
        let q = query.q + head * group * headDim
        var stats = SparseAttentionStatistics()
        for piece in plan.densePieces(pageTokenCount: query.cache.pageTokenCount) {
            state.attend(query.cache, layer: layer, kvHead: head, page: piece.page, count: piece.count, q: q)
            stats.densePagesRead += 1
        }
        return stats
    }
}

extension SparseQueries {
    /// One layer's decode queries split the way every sparse strategy splits them: below
    /// `exemptions.denseLayerCount`, or with `threshold` or fewer keys in their sparse range, a query
    /// is attended by `dense` here (counted in `statistics`); the others are returned for sparse
    /// attention (nil when there are none). Pages on disk are loaded here for what is dense: every
    /// page of a dense query, the sinks' and window's pages of a sparse one.
    static func split(_ queries: [DecodeQuery], layer: Int, exemptions: DenseExemptions, threshold: Int, dense: DenseAttention,
                      pool: ThreadPool, statistics: inout SparseAttentionStatistics) throws(KVCacheError) -> SparseQueries? {
        guard let first = queries.first else { return nil }
        let geometry = first.cache.geometry
        let plans = queries.map { SparsePlan(visible: $0.visibleTokenCount, exemptions: exemptions, pageTokenCount: geometry.pageTokenCount) }
        let sparse = layer >= exemptions.denseLayerCount ? queries.indices.filter { plans[$0].sparseTokenCount > threshold } : []
        if sparse.count < queries.count {
            let denseOnes = queries.indices.filter { !sparse.contains($0) }.map { queries[$0] }
            for q in denseOnes { try q.cache.prefetch(layer: layer, pages: 0..<q.cache.pageCount(for: q.visibleTokenCount)) }
            dense.decode(denseOnes, layer: layer, pool: pool)
            statistics.denseHeadSteps += denseOnes.count * geometry.kvHeadCount
        }
        guard !sparse.isEmpty else { return nil }
        for i in sparse {
            for piece in plans[i].densePieces(pageTokenCount: geometry.pageTokenCount) {
                try queries[i].cache.prefetch(layer: layer, pages: piece.page..<(piece.page + 1))
            }
        }
        return SparseQueries(queries: sparse.map { queries[$0] }, plans: sparse.map { plans[$0] }, layer: layer)
    }
}

import CKernels
import KVCache
import Tensor

/// lsh: MagicPIG's LSH sampling (Chen et al., ICLR 2025, arXiv 2410.16179) on the CPU.
///
/// Per (sequence, sparse layer, KV head) and step: the dense part (sinks, window) exactly; then
/// for every query row of the GQA group its own sample — keys colliding with the query in ≥ 2 of
/// L SimHash tables of K bits (`LSHStream`, `ck_lsh_count`) — scored exactly against the key
/// mirror and reweighted by the inclusion probability (logit − log(w + ε), `SimHashProjection`),
/// a self-normalised importance-sampling estimate of the attention over the sparse range; the two
/// parts merge through log-sum-exp (the sampled part continues the dense part's softmax state).
/// Kept exactly as the reference: key centring, the ≥ 2 rule with its matching w, dense sinks,
/// window and first layers.
///
/// Work: (query, query head) items count collisions (each row's sample is its own); then
/// (query, KV head, half of the sparse range) items take the union of the group's samples in
/// token order, score each key once for all rows of the group (a row that did not sample a key
/// gets −∞ for it) and read each value row once, page by page; the halves merge at the end.
public final class LSHAttention: SparseAttentionStrategy {
    public let bits: Int
    public let tables: Int
    public let exemptions: DenseExemptions
    /// Sparse ranges of at most this many keys are attended densely.
    public static let minimumSparseTokens = 256
    public var name: String { "lsh" }
    public var parameterDescription: String { "K=\(bits),L=\(tables)," + exemptions.parameterDescription }
    public var prefetchesOwnPages: Bool { true }
    public private(set) var statistics = SparseAttentionStatistics()

    private let dense = DenseAttention()
    private let states = ScratchBuffer<Float>()
    private let unitStatistics = ScratchBuffer<SparseAttentionStatistics>()
    private let pageReaders = PerThread { ScratchBuffer<Float>() }
    private let samplers = PerThread { SamplingScratch() }
    private let collisionStates = ScratchBuffer<UInt8>()
    private var projections: [Int: SimHashProjection] = [:] // by head dimension
    private let gathered = SelectedPages()

    public init(bits: Int = 10, tables: Int = 150, exemptions: DenseExemptions = DenseExemptions()) {
        self.bits = bits
        self.tables = tables
        self.exemptions = exemptions
    }

    public func resetStatistics() { statistics = SparseAttentionStatistics() }

    public func indexByteCount(_ slot: AttentionIndexSlot) -> IndexSize? {
        guard let index = slot.index as? LSHIndex else { return nil }
        return IndexSize(indexBytes: index.lshByteCount, mirrorBytes: index.byteCount - index.lshByteCount,
                         indexedKVBytes: index.indexedTokenCount * index.geometry.headDim * 4)
    }

    private func projection(headDim: Int) -> SimHashProjection {
        if let p = projections[headDim] { return p }
        let p = SimHashProjection(headDim: headDim, bits: bits, tables: tables)
        projections[headDim] = p
        return p
    }

    public func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool) throws(KVCacheError) {
        guard let s = try SparseQueries<LSHStream>.split(queries, layer: layer, exemptions: exemptions, threshold: Self.minimumSparseTokens, dense: dense,
            pool: pool, statistics: &statistics) else { return }
        let geometry = s.queries[0].cache.geometry
        let projection = projection(headDim: geometry.headDim)
        try s.extendIndexes(pool: pool, readers: pageReaders) {
            LSHIndex.of($0.index, geometry: geometry, projection: projection).stream(layer: layer, kvHead: $1)
        }
        try attend(s, projection: projection, pool: pool)
        statistics.indexPagesRead += s.indexPagesRead
    }

    /// Sparse-range halves attended as separate work items (a fixed number, so results do not
    /// depend on the thread count); the second also attends the dense part.
    static let parts = 2

    private func attend(_ s: SparseQueries<LSHStream>, projection: SimHashProjection, pool: ThreadPool) throws(KVCacheError) {
        let hd = s.headDim, group = s.group, units = s.unitCount, parts = Self.parts
        precondition(group <= 32, "lsh: GQA groups of at most 32 query rows")
        let stateFloats = PartialSoftmax.floatCount(group: group, headDim: hd)
        let stateBase = states.reserve(units * parts * stateFloats)
        let stats = unitStatistics.reserve(units * parts)
        let scratch = samplers.reserve(pool.threadCount)
        // Collision states of every query row: [unit][row][span] bytes.
        let span = (0..<units).reduce(0) { max($0, s.stream($1).mirror.tokenCount) }
        let collisions = collisionStates.reserve(max(1, units * group * span))

        pool.forEach(count: units * group) { item, thread in
            let unit = item / group, r = item % group
            let (query, _, head) = s.unit(unit)
            scratch[thread].count(q: query.q + (head * group + r) * hd, stream: s.stream(unit), projection: projection,
                                  into: collisions + item * span)
        }
        try gathered.run(count: units * parts, layer: s.layer, pool: pool) { item, thread in
            let unit = item / parts, part = item % parts
            let (query, plan, head) = s.unit(unit)
            let state = PartialSoftmax(base: stateBase + item * stateFloats, group: group, headDim: hd)
            var st = SparseAttentionStatistics()
            if part == parts - 1 {
                st = s.attendDense(unit, into: state)
                st.sparseTokens = plan.sparseTokenCount
                st.sparsePages = plan.sparsePageCount
                st.sparseHeadSteps = 1
            } else {
                state.reset()
            }
            let pages = plan.sparsePageCount, first = pages * part / parts, last = pages * (part + 1) / parts
            let range = max(plan.sinks, first * 64)..<min(plan.sparseEnd, last * 64)
            if !range.isEmpty {
                guard let (n, pagesRead) = scratch[thread].attendSampled(q: query.q + head * group * hd, group: group, stream: s.stream(unit),
                    collisions: collisions + unit * group * span, span: span, tokens: range, projection: projection,
                    cache: query.cache, layer: s.layer, kvHead: head, into: state, ready: { gathered.ready(item, cache: query.cache, kvHead: head, positions: $0, count: $1) })
                else { return } // runs again once its pages are loaded
                st.candidateTokens = n
                st.selectedTokens = n
                st.valuePagesRead = pagesRead
            }
            stats[item] = st
        }
        for unit in 0..<units { // the halves merged in a fixed order
            let (query, _, head) = s.unit(unit)
            let last = PartialSoftmax(base: stateBase + (unit * parts + parts - 1) * stateFloats, group: group, headDim: hd)
            for part in 0..<(parts - 1) {
                last.merge(PartialSoftmax(base: stateBase + (unit * parts + part) * stateFloats, group: group, headDim: hd))
            }
            last.normalize(into: query.out + head * group * hd)
        }
        for i in 0..<(units * parts) { statistics.add(stats[i]) }
    }
}

/// Scratch of one thread for the lsh work items.
final class SamplingScratch {
    private let codeBuffer = ScratchBuffer<UInt16>(), candidateBuffer = ScratchBuffer<Int32>(), rowBuffer = ScratchBuffer<UInt32>()
    private let logitBuffer = ScratchBuffer<Float>()
    let gather = GatherScratch(capacity: 256)

    /// Collision states (`ck_lsh_count`) of query row `q` against every token `stream` indexes.
    func count(q: UnsafePointer<Float>, stream: LSHStream, projection: SimHashProjection, into state: UnsafeMutablePointer<UInt8>) {
        let codes = codeBuffer.reserve(projection.tables)
        projection.hash(q, count: 1, mean: nil, into: codes)
        stream.tables.withUnsafeBufferPointer { t in
            stream.extensionCodes.withUnsafeBufferPointer { e in
                ck_lsh_count(t.baseAddress, stream.tableByteCount, Int32(stream.staticTokenCount), Int32(projection.bits),
                             Int32(projection.tables), codes, e.baseAddress, Int32(stream.extensionTokenCount), state)
            }
        }
    }

    /// Attends the keys in `tokens` that any of the group's rows `q` (`group` × headDim) sampled:
    /// each row over its own sample, with logits q·k − log(w + ε), into `state`. Returns the keys
    /// attended (the union over the rows) and the value pages read.
    func attendSampled(q: UnsafePointer<Float>, group: Int, stream: LSHStream, collisions: UnsafePointer<UInt8>, span: Int,
                       tokens: Range<Int>, projection: SimHashProjection, cache: KVCache, layer: Int, kvHead: Int,
                       into state: PartialSoftmax, ready: (UnsafePointer<Int32>, Int) -> Bool) -> (keys: Int, pages: Int)? {
        let hd = stream.headDim
        let out = candidateBuffer.reserve(tokens.count), rows = rowBuffer.reserve(tokens.count)
        let n = Int(ck_lsh_union(collisions, Int64(span), Int32(group), Int32(tokens.lowerBound), Int32(tokens.upperBound), out, rows))
        guard n > 0 else { return (0, 0) }
        guard ready(out, n) else { return nil } // its value pages are not all in RAM (`SelectedPages`)
        let logits = logitBuffer.reserve(group * n)
        ck_gather_dot_f16(q, Int32(group), Int32(hd), stream.mirror.rows, Int64(hd), out, Int32(n), logits, Int64(n))
        stream.mean.withUnsafeBufferPointer { mean in
            stream.norms.withUnsafeBufferPointer { norms in
                for r in 0..<group {
                    let qr = q + r * hd
                    projection.weigh(logits + r * n, keys: out, rows: rows, bit: UInt32(1) << UInt32(r), count: n,
                                     queryNorm: ck_dot_f32(qr, qr, Int64(hd)).squareRoot(), queryMean: ck_dot_f32(qr, mean.baseAddress!, Int64(hd)),
                                     norms: norms.baseAddress!)
                }
            }
        }
        let pages = GatheredValues.accumulate(cache, layer: layer, kvHead: kvHead, positions: out, scores: logits, scoreStride: n,
                                              count: n, into: state, scratch: gather)
        return (n, pages)
    }
}

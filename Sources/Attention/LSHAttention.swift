import CKernels
import KVCache
import Tensor

/// lsh: MagicPIG's LSH sampling (Chen et al., ICLR 2025, arXiv 2410.16179) on the CPU.
///
/// Per (sequence, sparse layer, KV head) and step: the dense part (sinks, window) exactly; then
/// for every query row of the GQA group its own sample — keys colliding with the query in ≥ 2 of
/// L SimHash tables of K bits (`LSHStream`, `ck_lsh_collect`) — scored exactly against the key
/// mirror and reweighted by the inclusion probability (logit − log(w + ε), `SimHashProjection`),
/// a self-normalised importance-sampling estimate of the attention over the sparse range; the two
/// parts merge through log-sum-exp (the sampled part continues the dense part's softmax state).
/// Kept exactly as the reference: key centring, the ≥ 2 rule with its matching w, dense sinks,
/// window and first layers. Work items: (query, KV head) for the dense part, (query, query head)
/// for sampling.
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

    private func attend(_ s: SparseQueries<LSHStream>, projection: SimHashProjection, pool: ThreadPool) throws(KVCacheError) {
        let hd = s.headDim, group = s.group, units = s.unitCount
        let stateFloats = PartialSoftmax.floatCount(group: group, headDim: hd)
        let stateBase = states.reserve(units * stateFloats)
        let stats = unitStatistics.reserve(units * group)
        let scratch = samplers.reserve(pool.threadCount)

        pool.forEach(count: units) { unit, _ in
            let part = s.attendDense(unit, into: PartialSoftmax(base: stateBase + unit * stateFloats, group: group, headDim: hd))
            let (_, plan, _) = s.unit(unit)
            for r in 0..<group { stats[unit * group + r] = SparseAttentionStatistics() }
            stats[unit * group] = part
            stats[unit * group].sparseTokens = plan.sparseTokenCount
            stats[unit * group].sparsePages = plan.sparsePageCount
            stats[unit * group].sparseHeadSteps = 1
        }
        try gathered.run(count: units * group, layer: s.layer, pool: pool) { item, thread in
            let unit = item / group, r = item % group
            let (query, plan, head) = s.unit(unit)
            let stream = s.stream(unit), work = scratch[thread]
            let q = query.q + (head * group + r) * hd
            let state = PartialSoftmax(base: stateBase + unit * stateFloats, group: group, headDim: hd)
            // This row's state, continued from the dense part.
            let row = work.row(headDim: hd)
            row.m[0] = state.m[r]; row.l[0] = state.l[r]; row.acc.update(from: state.acc + r * hd, count: hd)
            let n = work.sample(q: q, stream: stream, plan: plan, projection: projection)
            guard gathered.ready(item, cache: query.cache, kvHead: head, positions: work.candidates, count: n) else { return }
            if n > 0 {
                stats[item].valuePagesRead = GatheredValues.accumulate(query.cache, layer: s.layer, kvHead: head, positions: work.candidates,
                                                                       scores: work.logits, scoreStride: n, count: n, into: row, scratch: work.gather)
            }
            stats[item].candidateTokens = n
            stats[item].selectedTokens = n
            row.normalize(into: query.out + (head * group + r) * hd)
        }
        for i in 0..<(units * group) { statistics.add(stats[i]) }
    }
}

/// Scratch of one thread for sampling one query row.
final class SamplingScratch {
    private var stamp: [UInt32] = []
    private var epoch: UInt32 = 0
    private let candidateBuffer = ScratchBuffer<Int32>(), logitBuffer = ScratchBuffer<Float>(), rowBuffer = ScratchBuffer<Float>()
    private var codes: [UInt16] = []
    private(set) var candidates: UnsafeMutablePointer<Int32>
    private(set) var logits: UnsafeMutablePointer<Float>
    let gather = GatherScratch(capacity: 256)

    init() {
        candidates = candidateBuffer.reserve(1)
        logits = logitBuffer.reserve(1)
    }

    /// A one-row softmax state in scratch memory.
    func row(headDim: Int) -> PartialSoftmax { PartialSoftmax(base: rowBuffer.reserve(headDim + 2), group: 1, headDim: headDim) }

    /// The keys of the sparse range sampled for query `q` (into `candidates`) and their weighted
    /// logits q·k − log(w + ε) (into `logits`); returns how many.
    func sample(q: UnsafePointer<Float>, stream: LSHStream, plan: SparsePlan, projection: SimHashProjection) -> Int {
        let hd = stream.headDim, L = projection.tables, total = stream.mirror.tokenCount
        if codes.count < L { codes = [UInt16](repeating: 0, count: L) }
        projection.hash(q, count: 1, mean: nil, into: &codes)
        if stamp.count < total { stamp = [UInt32](repeating: 0, count: total); epoch = 0 }
        if epoch >= UInt32.max / 2 - 1 { for i in stamp.indices { stamp[i] = 0 }; epoch = 0 }
        epoch += 1
        let out = candidateBuffer.reserve(total)
        let found = stream.tables.withUnsafeBufferPointer { t in
            stream.extensionCodes.withUnsafeBufferPointer { e in
                Int(ck_lsh_collect(t.baseAddress, stream.tableByteCount, Int32(stream.staticTokenCount), Int32(projection.bits), Int32(L),
                                   codes, e.baseAddress, Int32(stream.extensionTokenCount), &stamp, epoch, out))
            }
        }
        var n = 0 // keep the sparse range only (the index may reach past it, and holds the sinks)
        for i in 0..<found where Int(out[i]) >= plan.sinks && Int(out[i]) < plan.sparseEnd { out[n] = out[i]; n += 1 }
        candidates = out
        logits = logitBuffer.reserve(max(n, 1))
        guard n > 0 else { return 0 }
        ck_gather_dot_f16(q, 1, Int32(hd), stream.mirror.rows, Int64(hd), out, Int32(n), logits, Int64(n))
        let qNorm = ck_dot_f32(q, q, Int64(hd)).squareRoot()
        let qMean = stream.mean.withUnsafeBufferPointer { ck_dot_f32(q, $0.baseAddress!, Int64(hd)) }
        for i in 0..<n {
            let s = logits[i], norm = stream.norms[Int(out[i])]
            let cosine = qNorm > 0 && norm > 0 ? (s - qMean) / (qNorm * norm) : 0
            logits[i] = s - projection.logWeight(cosine: cosine)
        }
        return n
    }
}

import CKernels
import KVCache
import Tensor

/// An analysis strategy for HiRE's stage 1: it attends densely (the model's outputs stay exact)
/// and, at every sparse decode step (layers past the dense ones, per KV head), measures the
/// recall@k of the bucketed sketch candidates against the exact top-k — the keys with the
/// largest logits relative to the dense part, combined over the GQA group as topk ranks them —
/// for several k and k′/k. Since stage 2 ranks the candidates exactly, this recall is also the
/// fraction of the true top-k that topk attends. Beside it, HiRE's expected recall of a bucketed
/// top-k under random placement (`ck_bucket_topk_recall`) for the same buckets.
public final class TopKRecallProbe: AttentionStrategy {
    public struct Row: Sendable, Codable, Equatable {
        public var k: Int
        public var candidateCount: Int
        public var steps = 0
        /// Sums over steps, means below.
        public var recallSum = 0.0
        public var formulaSum = 0.0
        public var candidatesSum = 0.0
        public var minimumRecall = 1.0

        public var meanRecall: Double { steps > 0 ? recallSum / Double(steps) : 0 }
        public var meanFormulaRecall: Double { steps > 0 ? formulaSum / Double(steps) : 0 }
        public var meanCandidates: Double { steps > 0 ? candidatesSum / Double(steps) : 0 }
    }

    public let exemptions: DenseExemptions
    public let bucketKeep: Int
    public private(set) var rows: [Row]
    public var name: String { "topk-recall-probe" }
    private let dense = DenseAttention()

    /// Rows for every k in `ks` and k′ = ratio·k for every ratio.
    public init(ks: [Int], ratios: [Int], bucketKeep: Int = 2, exemptions: DenseExemptions = DenseExemptions()) {
        self.exemptions = exemptions
        self.bucketKeep = bucketKeep
        rows = ks.flatMap { k in ratios.map { Row(k: k, candidateCount: k * $0) } }
    }

    public func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool) throws(KVCacheError) {
        dense.decode(queries, layer: layer, pool: pool)
        guard layer >= exemptions.denseLayerCount, let first = queries.first else { return }
        let geometry = first.cache.geometry, largest = rows.map(\.candidateCount).max() ?? 0
        let plans = queries.map { SparsePlan(visible: $0.visibleTokenCount, exemptions: exemptions, pageTokenCount: geometry.pageTokenCount) }
        let measured = queries.indices.filter { plans[$0].sparseTokenCount > largest }
        guard !measured.isEmpty else { return }
        let s = SparseQueries<SketchedKeys>(queries: measured.map { queries[$0] }, plans: measured.map { plans[$0] }, layer: layer)
        try s.extendSketches(pool: pool, readers: PerThread { ScratchBuffer<Float>() })
        for unit in 0..<s.unitCount { measure(s, unit) }
    }

    private func measure(_ s: SparseQueries<SketchedKeys>, _ unit: Int) {
        let (query, plan, head) = s.unit(unit)
        let hd = s.headDim, g = s.group, stream = s.stream(unit)
        var stateBuffer = [Float](repeating: 0, count: PartialSoftmax.floatCount(group: g, headDim: hd))
        let n = plan.sparseTokenCount
        var positions = (plan.sinks..<plan.sparseEnd).map(Int32.init), exact = [Float](repeating: 0, count: g * n)
        var combined = [Float](repeating: -.infinity, count: n)
        let q = query.q + head * g * hd
        stateBuffer.withUnsafeMutableBufferPointer { sb in
            let state = PartialSoftmax(base: sb.baseAddress!, group: g, headDim: hd)
            _ = s.attendDense(unit, into: state) // its maxima: the reference keys are ranked against
            ck_gather_dot_f16(q, Int32(g), Int32(hd), stream.mirror.rows, Int64(hd), &positions, Int32(n), &exact, Int64(n))
            for i in 0..<n { for r in 0..<g { combined[i] = max(combined[i], exact[r * n + i] - state.m[r]) } }
            let invDelta = SelectionQuery.scale(q: q, group: g, headDim: hd, stream: stream)
            let scratch = SelectionScratch(group: g)
            for i in rows.indices {
                var truth = [Int32](repeating: 0, count: rows[i].k)
                let k = Int(ck_select_topk(combined, Int32(n), Int32(rows[i].k), &truth))
                let trueSet = Set(truth.prefix(k).map { positions[Int($0)] })
                let budget = TopKBudget(k: rows[i].k, candidateCount: rows[i].candidateCount, bucketKeep: bucketKeep)
                let buckets = budget.bucketsPerBlock(sparseTokens: n)
                var found = 0, candidates = 0
                let selection = SelectionQuery(q: q, reference: state.m, invDelta: invDelta, group: g,
                                               sinks: plan.sinks, sparseEnd: plan.sparseEnd, buckets: buckets)
                for block in 0..<selection.blockCount {
                    let c = TopKSelection.candidates(block: block, stream: stream, query: selection, bucketKeep: bucketKeep, scratch: scratch)
                    candidates += c
                    for j in 0..<c where trueSet.contains(scratch.candidates[j]) { found += 1 }
                }
                let recall = Double(found) / Double(max(k, 1))
                let blocks = (plan.sparsePageCount + TopKBudget.blockPageCount - 1) / TopKBudget.blockPageCount
                rows[i].steps += 1
                rows[i].recallSum += recall
                rows[i].minimumRecall = min(rows[i].minimumRecall, recall)
                rows[i].candidatesSum += Double(candidates)
                rows[i].formulaSum += ck_bucket_topk_recall(Int32(blocks * TopKBudget.blockTokenCount), Int32(blocks * buckets),
                                                            Int32(bucketKeep), Int32(rows[i].k))
            }
        }
    }
}

import CKernels
import KVCache
import Tensor

/// HiRE's stage 1 measured at one decode step: for each (k, k′) budget, the recall@k of the
/// bucketed sketch candidates against the exact top-k — the keys with the largest logits relative
/// to the dense part, combined over the GQA group as topk ranks them — per (query, KV head). Since
/// stage 2 ranks the candidates exactly, this recall is also the fraction of the true top-k that
/// topk attends. Beside it, HiRE's expected recall of a bucketed top-k under random placement
/// (`ck_bucket_topk_recall`) for the same buckets.
///
/// Measurement only (Evaluation's `TopKRecallProbe` aggregates it over a run): it reads the same
/// sketches and selection code as `TopKAttention`, which is why it lives beside them.
@_spi(Evaluation) public enum TopKRecallMeasurement {
    /// One (query, KV head, budget) measurement.
    public struct Sample: Sendable {
        public var budgetIndex: Int
        public var recall: Double
        public var candidates: Int
        public var formulaRecall: Double
    }

    /// Samples at `layer` for every query whose sparse range exceeds the largest k′ (nothing for
    /// a dense layer). The caller attends densely itself: this writes no outputs.
    public static func samples(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool, exemptions: DenseExemptions,
                               bucketKeep: Int, budgets: [(k: Int, candidateCount: Int)]) throws(KVCacheError) -> [Sample] {
        guard layer >= exemptions.denseLayerCount, let first = queries.first else { return [] }
        let geometry = first.cache.geometry, largest = budgets.map(\.candidateCount).max() ?? 0
        let plans = queries.map { SparsePlan(visible: $0.visibleTokenCount, exemptions: exemptions, pageTokenCount: geometry.pageTokenCount) }
        let measured = queries.indices.filter { plans[$0].sparseTokenCount > largest }
        guard !measured.isEmpty else { return [] }
        let s = SparseQueries<SketchedKeys>(queries: measured.map { queries[$0] }, plans: measured.map { plans[$0] }, layer: layer)
        try s.extendSketches(pool: pool, readers: PerThread { ScratchBuffer<Float>() })
        return (0..<s.unitCount).flatMap { measure(s, $0, bucketKeep: bucketKeep, budgets: budgets) }
    }

    private static func measure(_ s: SparseQueries<SketchedKeys>, _ unit: Int, bucketKeep: Int,
                                budgets: [(k: Int, candidateCount: Int)]) -> [Sample] {
        let (query, plan, head) = s.unit(unit)
        let hd = s.headDim, g = s.group, stream = s.stream(unit)
        var stateBuffer = [Float](repeating: 0, count: PartialSoftmax.floatCount(group: g, headDim: hd))
        let n = plan.sparseTokenCount
        var positions = (plan.sinks..<plan.sparseEnd).map(Int32.init), exact = [Float](repeating: 0, count: g * n)
        var combined = [Float](repeating: -.infinity, count: n)
        let q = query.q + head * g * hd
        var samples: [Sample] = []
        stateBuffer.withUnsafeMutableBufferPointer { sb in
            let state = PartialSoftmax(base: sb.baseAddress!, group: g, headDim: hd)
            _ = s.attendDense(unit, into: state) // its maxima: the reference keys are ranked against
            ck_gather_dot_f16(q, Int32(g), Int32(hd), stream.mirror.rows, Int64(hd), &positions, Int32(n), &exact, Int64(n))
            for i in 0..<n { for r in 0..<g { combined[i] = max(combined[i], exact[r * n + i] - state.m[r]) } }
            let invDelta = SelectionQuery.scale(q: q, group: g, headDim: hd, stream: stream)
            let scratch = SelectionScratch(group: g)
            for (b, budgetSize) in budgets.enumerated() {
                var truth = [Int32](repeating: 0, count: budgetSize.k)
                let k = Int(ck_select_topk(combined, Int32(n), Int32(budgetSize.k), &truth))
                let trueSet = Set(truth.prefix(k).map { positions[Int($0)] })
                let budget = TopKBudget(k: budgetSize.k, candidateCount: budgetSize.candidateCount, bucketKeep: bucketKeep)
                let buckets = budget.bucketsPerBlock(sparseTokens: n)
                var found = 0, candidates = 0
                let selection = SelectionQuery(q: q, reference: state.m, invDelta: invDelta, group: g,
                                               sinks: plan.sinks, sparseEnd: plan.sparseEnd, buckets: buckets)
                for block in 0..<selection.blockCount {
                    let c = TopKSelection.candidates(block: block, stream: stream, query: selection, bucketKeep: bucketKeep, scratch: scratch)
                    candidates += c
                    for j in 0..<c where trueSet.contains(scratch.candidates[j]) { found += 1 }
                }
                let blocks = (plan.sparsePageCount + TopKBudget.blockPageCount - 1) / TopKBudget.blockPageCount
                let formula = ck_bucket_topk_recall(Int32(blocks * TopKBudget.blockTokenCount), Int32(blocks * buckets),
                                                    Int32(bucketKeep), Int32(budgetSize.k))
                samples.append(Sample(budgetIndex: b, recall: Double(found) / Double(max(k, 1)), candidates: candidates,
                                      formulaRecall: formula))
            }
        }
        return samples
    }
}

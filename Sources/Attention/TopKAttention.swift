import CKernels
import KVCache
import Tensor

/// topk: HiRE's high-recall approximate top-k (Samaga et al., arXiv 2402.09360; the bucketed
/// top-k and its recall formula from arXiv 2506.04165) applied to decode attention.
///
/// Per (sequence, sparse layer, KV head) and step:
///   1. dense part: sinks and recent window, exactly (its per-row maxima are the reference the
///      selection ranks keys against);
///   2. stage 1: every key of the sparse range scored from its int4 per-channel sketch
///      (`SketchedKeys`) by integer dot products, k′ candidates kept by a bucketed top-k (strided buckets inside blocks of
///      16 pages, `TopKSelection`);
///   3. stage 2: exact logits of the candidates against the key mirror; the k best (combined over
///      the GQA group) attended, their values read from the cache pages that hold them;
///   4. the sparse and dense parts merged through log-sum-exp (one online-softmax state).
/// Layers below `exemptions.denseLayerCount`, and queries whose sparse range holds ≤ k keys, are
/// attended densely. Work items: (query, KV head) for steps 1 and 3–4, (query, KV head, block)
/// for step 2, claimed dynamically by the pool's threads.
public final class TopKAttention: SparseAttentionStrategy {
    public let budget: TopKBudget
    public let exemptions: DenseExemptions
    public var name: String { "topk" }
    public var parameterDescription: String { budget.parameterDescription + "," + exemptions.parameterDescription }
    public var prefetchesOwnPages: Bool { true }
    public private(set) var statistics = SparseAttentionStatistics()

    let dense = DenseAttention()
    private let states = ScratchBuffer<Float>()
    private let scales = ScratchBuffer<Float>()
    private let blockOutput = ScratchBuffer<Float>()
    private let blockCounts = ScratchBuffer<Int>()
    private let unitStatistics = ScratchBuffer<SparseAttentionStatistics>()
    private var selectors: PerThread<SelectionScratch>?
    private var mergers: PerThread<MergeScratch>?
    private let pageReaders = PerThread { ScratchBuffer<Float>() }
    private let gathered = SelectedPages()

    public init(budget: TopKBudget = TopKBudget(), exemptions: DenseExemptions = DenseExemptions()) {
        self.budget = budget
        self.exemptions = exemptions
    }

    public func resetStatistics() { statistics = SparseAttentionStatistics() }

    public func indexByteCount(_ slot: AttentionIndexSlot) -> IndexSize? { SketchIndex.size(in: slot) }

    public func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool) throws(KVCacheError) {
        guard let streams = try SparseQueries<SketchedKeys>.split(queries, layer: layer, exemptions: exemptions, threshold: budget.k, dense: dense,
            pool: pool, statistics: &statistics) else { return }
        try streams.extendSketches(pool: pool, readers: pageReaders)
        try attend(streams, pool: pool)
    }

    private func attend(_ s: SparseQueries<SketchedKeys>, pool: ThreadPool) throws(KVCacheError) {
        let hd = s.headDim, group = s.group, units = s.unitCount
        let stateFloats = PartialSoftmax.floatCount(group: group, headDim: hd)
        let maxBlocks = s.plans.map { SelectionQuery.blockCountFor(sparseEnd: $0.sparseEnd) }.max() ?? 1
        let keep = budget.k, capacity = group * keep, entryFloats = BlockCandidates.floatCount(capacity: capacity, group: group)
        let stateBase = states.reserve(units * stateFloats)
        let scaleBase = scales.reserve(units)
        let outBase = blockOutput.reserve(units * maxBlocks * entryFloats)
        let counts = blockCounts.reserve(units * maxBlocks)
        let stats = unitStatistics.reserve(units)
        if selectors == nil { selectors = PerThread { SelectionScratch(group: group) } }
        if mergers == nil { mergers = PerThread { MergeScratch(group: group) } }
        let selectorList = selectors!.reserve(pool.threadCount), mergerList = mergers!.reserve(pool.threadCount)
        let budget = budget

        func selection(_ unit: Int) -> SelectionQuery {
            let (query, plan, head) = s.unit(unit)
            return SelectionQuery(q: query.q + head * group * hd, reference: stateBase + unit * stateFloats, invDelta: scaleBase[unit],
                                  group: group, sinks: plan.sinks, sparseEnd: plan.sparseEnd,
                                  buckets: budget.bucketsPerBlock(sparseTokens: plan.sparseTokenCount))
        }

        // 1. Dense part (sinks, window) and the sketch's query scale, per (query, KV head).
        pool.forEach(count: units) { unit, _ in
            let (query, plan, head) = s.unit(unit)
            let state = PartialSoftmax(base: stateBase + unit * stateFloats, group: group, headDim: hd)
            stats[unit] = s.attendDense(unit, into: state)
            scaleBase[unit] = SelectionQuery.scale(q: query.q + head * group * hd, group: group, headDim: hd, stream: s.stream(unit))
            stats[unit].sparseTokens = plan.sparseTokenCount
            stats[unit].sparsePages = plan.sparsePageCount
        }
        // 2. Stage 1 and 2 per block.
        pool.forEach(count: units * maxBlocks) { item, thread in
            let unit = item / maxBlocks, block = item % maxBlocks
            let query = selection(unit)
            guard block < query.blockCount else { counts[item] = 0; return }
            let out = BlockCandidates(base: outBase + item * entryFloats, capacity: capacity)
            counts[item] = TopKSelection.select(block: block, stream: s.stream(unit), query: query, keep: keep,
                                                bucketKeep: budget.bucketKeep, out: out, scratch: selectorList[thread])
        }
        // 3–4. The k best over all blocks, their values (pages on disk loaded first), normalisation.
        try gathered.run(count: units, layer: s.layer, pool: pool) { unit, thread in
            let (query, _, head) = s.unit(unit)
            let state = PartialSoftmax(base: stateBase + unit * stateFloats, group: group, headDim: hd)
            let merge = mergerList[thread]
            let lists = (0..<maxBlocks).map { b in
                (BlockCandidates(base: outBase + (unit * maxBlocks + b) * entryFloats, capacity: capacity), counts[unit * maxBlocks + b])
            }
            let n = merge.best(keep, of: lists)
            guard gathered.ready(unit, cache: query.cache, kvHead: head, positions: merge.selected, count: n) else { return }
            stats[unit].candidateTokens = lists.reduce(0) { $0 + $1.1 }
            stats[unit].selectedTokens = n
            stats[unit].valuePagesRead = GatheredValues.accumulate(query.cache, layer: s.layer, kvHead: head, positions: merge.selected,
                                                                   scores: merge.selectedScores, scoreStride: merge.selectedCapacity,
                                                                   count: n, into: state, scratch: merge.gather)
            state.normalize(into: query.out + head * group * hd)
        }
        for u in 0..<units { stats[u].sparseHeadSteps = 1; statistics.add(stats[u]) }
        statistics.indexPagesRead += s.indexPagesRead
    }
}

extension SelectionQuery {
    static func blockCountFor(sparseEnd: Int) -> Int { (sparseEnd / 64 + TopKBudget.blockPageCount - 1) / TopKBudget.blockPageCount }
}

/// Scratch of one thread for merging block lists and gathering the winners' values.
final class MergeScratch {
    let group: Int
    private let merged = ScratchBuffer<Float>(), kept = ScratchBuffer<Float>(), selection = ScratchBuffer<Float>()
    private var thresholds: [Float]
    private(set) var selected: UnsafeMutablePointer<Int32>
    private(set) var selectedScores: UnsafeMutablePointer<Float>
    private(set) var selectedCapacity = 1
    let gather = GatherScratch(capacity: 256)

    init(group: Int) {
        self.group = group
        thresholds = [Float](repeating: 0, count: group)
        let view = BlockCandidates(base: kept.reserve(BlockCandidates.floatCount(capacity: 1, group: group)), capacity: 1)
        selected = view.positions
        selectedScores = view.exact
    }

    /// Every row's `k` best of the entries of `lists` (`TopKRule`), into `selected` (positions)
    /// and `selectedScores` (`[group][selectedCapacity]` exact logits); returns how many.
    func best(_ k: Int, of lists: [(BlockCandidates, Int)]) -> Int {
        let total = max(1, lists.reduce(0) { $0 + $1.1 })
        let all = BlockCandidates(base: merged.reserve(BlockCandidates.floatCount(capacity: total, group: group)), capacity: total)
        var n = 0
        for (list, count) in lists {
            (all.positions + n).update(from: list.positions, count: count)
            for r in 0..<group { (all.exact + r * total + n).update(from: list.exact + r * list.capacity, count: count) }
            n += count
        }
        let out = BlockCandidates(base: kept.reserve(BlockCandidates.floatCount(capacity: total, group: group)), capacity: total)
        let count = thresholds.withUnsafeMutableBufferPointer { t in
            TopKRule.thresholds(all.exact, stride: total, count: n, group: group, k: k, scratch: selection.reserve(total), into: t.baseAddress!)
            return TopKRule.keep(positions: all.positions, scores: all.exact, stride: total, count: n, group: group,
                                 thresholds: t.baseAddress!, into: out)
        }
        selected = out.positions
        selectedScores = out.exact
        selectedCapacity = total
        return count
    }
}

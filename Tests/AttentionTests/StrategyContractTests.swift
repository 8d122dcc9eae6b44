import Attention
import KVCache
import Tensor
import Testing
import TestSupport

/// The contract every decode-attention strategy keeps, checked over all of them.
@Suite(.serialized) struct StrategyContractTests { // one shared pool: its regions do not nest
    static let pool = ThreadPool(threadCount: 3)

    @Test(arguments: [1, 2, 3, 5, 8, 40])
    func denseSplitOverAnyNumberOfRangesEqualsUnsplit(splits: Int) {
        let seq = SyntheticSequence(tokens: 1000, seed: 1)
        let q = seq.plantedQuery(layer: 1, positions: [10, 500])
        let unsplit = DenseAttention()
        unsplit.splitCount = 1
        let split = DenseAttention()
        split.splitCount = splits
        let a = seq.decode(unsplit, q: q, layer: 1, pool: Self.pool), b = seq.decode(split, q: q, layer: 1, pool: Self.pool)
        #expect(maxDifference(a, b) < 1e-5, "\(splits) ranges") // the same sums in another order
        #expect(relativeError(b, seq.reference(q: q, layer: 1, visible: seq.tokenCount)) < 1e-5)
    }

    @Test(arguments: StrategyCase.allCases)
    func attendingEveryKeyEqualsDenseAttention(strategy: StrategyCase) {
        let seq = SyntheticSequence(tokens: 1500, seed: 2)
        let q = seq.plantedQuery(layer: 2, positions: [3, 700, 701, 1440], boost: 3)
        let out = seq.decode(strategy.makeExhaustive(), q: q, layer: 2, pool: Self.pool)
        let err = relativeError(out, seq.reference(q: q, layer: 2, visible: seq.tokenCount))
        // LSH drops the few keys nearly opposite to the query (and weighs the rest by w ≈ 1).
        #expect(err < (strategy == .lsh ? 2e-2 : 1e-5), "error \(err)")
    }

    /// Quantized caches: every strategy reads int8 and int4 pages (keys dequantized into its index,
    /// values decoded while gathering), so attending every key equals dense attention over the same
    /// quantized cache, and the planted keys are still found.
    @Test(arguments: [StrategyCase.topk, .daTopk, .lsh], [KVFormat.int8, .int4])
    func quantizedCachesAttendAsDenseOverThem(strategy: StrategyCase, format: KVFormat) {
        let seq = SyntheticSequence(tokens: 3000, seed: 12)
        let positions = [9, 1200, 1201, 1202, 1203, 1204, 1205, 2500, 400, 2100, 77, 2800]
        let q = seq.plantedQuery(layer: 2, positions: positions, boost: 14)
        let cache = seq.copy(format: format)
        func run(_ s: AttentionStrategy) -> [Float] {
            seq.decode(s, q: q, layer: 2, pool: Self.pool, slot: AttentionIndexSlot(), cache: cache)
        }
        let exact = run(DenseAttention())
        let every = run(strategy.makeExhaustive())
        let err = relativeError(every, exact.map(Double.init))
        // topk and da-topk attending every key give dense's output up to summation order. (When
        // `ck_set_isa` was process-wide, a kernel suite switching levels mid-run once made this
        // 2e-4; it is per thread now.) A wrong decode is off by far more.
        #expect(err < (strategy == .lsh ? 2e-2 : 1e-5), "every key: error \(err)")
        let kept = relativeError(run(strategy.make()), exact.map(Double.init))
        #expect(kept < 0.05, "planted keys: error \(kept)")
        // And the quantized dense result is close to the f16 one (the copy holds the same tokens).
        #expect(relativeError(exact, seq.reference(q: q, layer: 2, visible: seq.tokenCount)) < (format == .int8 ? 3e-2 : 0.15))
    }

    @Test(arguments: StrategyCase.allCases)
    func denseLayersAndShortContextsAreExactlyDense(strategy: StrategyCase) {
        // short: no whole page before the window; long: attended at a dense layer
        let short = SyntheticSequence(tokens: 100, seed: 3), long = SyntheticSequence(tokens: 900, seed: 4)
        let qShort = short.plantedQuery(layer: 2, positions: [20]), qLong = long.plantedQuery(layer: 1, positions: [20])
        let s = strategy.make()
        let dense = DenseAttention()
        #expect(short.decode(s, q: qShort, layer: 2, pool: Self.pool) == short.decode(dense, q: qShort, layer: 2, pool: Self.pool))
        #expect(long.decode(s, q: qLong, layer: 1, pool: Self.pool) == long.decode(dense, q: qLong, layer: 1, pool: Self.pool))
    }

    @Test(arguments: StrategyCase.allCases)
    func concentratedAttentionIsKept(strategy: StrategyCase) {
        let seq = SyntheticSequence(tokens: 3000, seed: 5)
        // planted keys: a cluster (a passage the query needs), scattered ones, one near the sinks
        let positions = [9, 1200, 1201, 1202, 1203, 1204, 1205, 2500, 400, 2100, 77, 2800]
        let q = seq.plantedQuery(layer: 2, positions: positions, boost: 14)
        let out = seq.decode(strategy.make(), q: q, layer: 2, pool: Self.pool)
        let err = relativeError(out, seq.reference(q: q, layer: 2, visible: seq.tokenCount))
        #expect(err < 0.05, "error \(err)")
    }

    @Test(arguments: StrategyCase.allCases)
    func batchedSequencesDecodeAsAlone(strategy: StrategyCase) {
        let a = SyntheticSequence(tokens: 2100, seed: 6), b = SyntheticSequence(tokens: 1300, seed: 7)
        let qa = a.plantedQuery(layer: 2, positions: [100, 1500]), qb = b.plantedQuery(layer: 2, positions: [600])
        let s = strategy.make()
        let aloneA = a.decode(s, q: qa, layer: 2, pool: Self.pool), aloneB = b.decode(s, q: qb, layer: 2, pool: Self.pool)
        var outA = [Float](repeating: .nan, count: qa.count), outB = outA
        qa.withUnsafeBufferPointer { pa in
            qb.withUnsafeBufferPointer { pb in
                outA.withUnsafeMutableBufferPointer { oa in
                    outB.withUnsafeMutableBufferPointer { ob in
                        try! s.decode([DecodeQuery(cache: a.cache, visibleTokenCount: a.tokenCount, q: pa.baseAddress!, out: oa.baseAddress!,
                                              headCount: SyntheticSequence.headCount, index: a.slot),
                                  DecodeQuery(cache: b.cache, visibleTokenCount: b.tokenCount, q: pb.baseAddress!, out: ob.baseAddress!,
                                              headCount: SyntheticSequence.headCount, index: b.slot)], layer: 2, pool: Self.pool)
                    }
                }
            }
        }
        #expect(maxDifference(outA, aloneA) < 1e-5 && maxDifference(outB, aloneB) < 1e-5) // splits, so summation order, depend on the batch
    }

    @Test(arguments: StrategyCase.allCases)
    func indexFollowsGrowthAndRollback(strategy: StrategyCase) {
        // Decode step by step past several page boundaries, roll back into indexed pages, grow
        // again with other tokens: the kept index must serve like one built from scratch.
        let seq = SyntheticSequence(tokens: 1100, seed: 8)
        let s = strategy.makeExhaustive()
        for _ in 0..<3 {
            for _ in 0..<70 {
                seq.append(1)
                _ = seq.decode(s, q: seq.plantedQuery(layer: 2, positions: []), layer: 2, pool: Self.pool)
            }
            seq.truncate(to: seq.tokenCount - 150)
        }
        seq.append(90)
        let q = seq.plantedQuery(layer: 2, positions: []) // keys never change once stored: plant nothing
        let kept = seq.decode(s, q: q, layer: 2, pool: Self.pool)
        if strategy == .lsh { // its key mean comes from the first build: compare with dense attention instead
            #expect(relativeError(kept, seq.reference(q: q, layer: 2, visible: seq.tokenCount)) < 2e-2)
        } else {
            let fresh = seq.decode(strategy.makeExhaustive(), q: q, layer: 2, pool: Self.pool, slot: AttentionIndexSlot())
            #expect(maxDifference(kept, fresh) < 1e-5)
        }
    }

    @Test(arguments: [StrategyCase.topk, .daTopk, .lsh])
    func selectingStrategiesReadOnlyThePagesTheySelect(strategy: StrategyCase) {
        let counting = CountingKVCache(try! PagedKVCache(format: .f16, geometry: SyntheticSequence.geometry))
        let seq = SyntheticSequence(tokens: 4000, seed: 9, cache: counting)
        let q = seq.plantedQuery(layer: 2, positions: [30, 2000, 3500])
        let budget = TopKBudget(k: 8, candidateCount: 64), exemptions = DenseExemptions(windowTokenCount: 64)
        let s: AttentionStrategy = switch strategy {
        case .topk: TopKAttention(budget: budget, exemptions: exemptions)
        case .daTopk: ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: 3)
        default: strategy.make()
        }
        _ = seq.decode(s, q: q, layer: 2, pool: Self.pool) // builds the index: reads every page once
        counting.reset()
        _ = seq.decode(s, q: q, layer: 2, pool: Self.pool)
        let pages = SyntheticSequence.geometry.kvHeadCount * seq.cache.pageCount(for: seq.tokenCount)
        let stats = (s as! SparseAttentionStrategy).statistics
        // LSH samples ~1% of random 64-dimensional keys per query row, which touches most pages.
        let limit = strategy == .lsh ? pages + 1 : pages / 2
        #expect(counting.distinctPagesRead(layer: 2) < limit, "\(counting.distinctPagesRead(layer: 2)) of \(pages) pages")
        #expect(counting.distinctPagesRead(layer: 0) == 0 && counting.distinctPagesRead(layer: 1) == 0)
        #expect(stats.valuePagesRead > 0 && stats.indexPagesRead > 0)
    }
}

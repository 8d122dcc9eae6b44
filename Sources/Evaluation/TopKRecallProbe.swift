@_spi(Evaluation) import Attention
import KVCache
import Tensor

/// An analysis strategy for HiRE's stage 1 (`pipeline eval --recall`): it attends densely (the
/// model's outputs stay exact) and, at every sparse decode step (layers past the dense ones, per
/// KV head), records `TopKRecallMeasurement`'s recall@k of the sketch candidates against the exact
/// top-k for several k and k′/k, and HiRE's formula beside it.
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
        let samples = try TopKRecallMeasurement.samples(queries, layer: layer, pool: pool, exemptions: exemptions, bucketKeep: bucketKeep,
                                                        budgets: rows.map { (k: $0.k, candidateCount: $0.candidateCount) })
        for sample in samples {
            let i = sample.budgetIndex
            rows[i].steps += 1
            rows[i].recallSum += sample.recall
            rows[i].minimumRecall = min(rows[i].minimumRecall, sample.recall)
            rows[i].candidatesSum += Double(sample.candidates)
            rows[i].formulaSum += sample.formulaRecall
        }
    }
}

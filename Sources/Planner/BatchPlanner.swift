/// How many units decode together (FlexGen's batch choice, on the cost model): a decode step
/// reads the weights once for the whole batch (w/B per unit) but every unit's KV must fit the
/// shared memory budget, or spill and be read back from disk each step. The batch size with the
/// least predicted seconds per unit wins; ties go to the smaller batch (less latency, less memory).
public enum BatchPlanner {
    public struct Choice: Sendable, Equatable {
        public var batch: Int
        /// Predicted seconds per unit at each batch size 1…maxBatch.
        public var secondsPerUnit: [Double]
    }

    public static func choose(_ model: CostModel, workload: UnitWorkload, mix: MixCost, budgetBytes: Int, maxBatch: Int) -> Choice {
        let costs = (1...max(1, maxBatch)).map { b in model.predict(workload, mix: mix, batch: b, budgetBytes: budgetBytes).seconds }
        var best = 0
        for (i, c) in costs.enumerated() where c < costs[best] * 0.99 { best = i } // a gain under 1% does not pay for the latency
        return Choice(batch: best + 1, secondsPerUnit: costs)
    }
}

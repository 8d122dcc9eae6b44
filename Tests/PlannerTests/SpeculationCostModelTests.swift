import Model
import Planner
import Testing

/// The speculation cost model: tokens per pass against the pass's cost, the choice it makes,
/// and its refit from measured acceptance.
@Suite struct SpeculationCostModelTests {
    @Test func speedupFollowsAcceptanceAndCost() {
        var model = SpeculationCostModel(extraRowCost: 0.25, draftCost: [.lookup: 0], acceptance: [.lookup: 0.5])
        // γ = 2, α = 0.5: (1 − 0.125) / 0.5 = 1.75 tokens for 1.5 steps.
        #expect(abs(model.predictedSpeedup(.lookup, draftTokens: 2) - 1.75 / 1.5) < 1e-12)
        #expect(model.choose(among: [.lookup])?.source == .lookup)
        #expect(model.needsMeasuring(.lookup))
        // Units that accepted almost nothing: the refit pulls α down until speculation no longer pays.
        model.refit(.lookup, drafted: 1_000, accepted: 50)
        #expect(model.acceptance[.lookup]! < 0.1)
        #expect(model.choose(among: [.lookup]) == nil)
        #expect(!model.needsMeasuring(.lookup))
        // A costly draft pays only with high acceptance.
        let costly = SpeculationCostModel(extraRowCost: 0.25, draftCost: [.selfDraft: 0.9], acceptance: [.selfDraft: 0.6])
        #expect(costly.choose(among: [.selfDraft]) == nil)
    }
}

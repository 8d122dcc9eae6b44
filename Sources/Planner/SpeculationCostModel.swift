import Model

/// Predicts a draft source's decode speed-up from its acceptance and the cost of verifying
/// (Leviathan et al. 2023, §3.3, with a per-token acceptance α taken as independent): a pass
/// with γ drafts yields (1 − α^(γ+1)) / (1 − α) tokens and costs one row-exact verification of
/// γ + 1 rows plus γ drafting steps; plain decoding yields one token per step.
///
/// Costs are in decode steps. A verification pass of r rows costs 1 + extraRowCost · (r − 1)
/// (`pipeline bench --verification-cost` measures the curve; the rows after the first share the
/// weight and KV reads and pay only their arithmetic). α per source starts from a prior and is
/// refitted from the units that speculated (`refit`).
public struct SpeculationCostModel: Sendable, Equatable {
    public var extraRowCost: Double
    /// Cost of drafting one token, in decode steps.
    public var draftCost: [DraftSourceKind: Double]
    public var acceptance: [DraftSourceKind: Double]
    /// Drafted tokens behind each acceptance figure (the prior counts as `priorWeight`).
    public var evidence: [DraftSourceKind: Double]
    public static let priorWeight = 64.0
    /// Speculation is used only where the predicted speed-up reaches this.
    public var minimumSpeedup = 1.1

    public init(extraRowCost: Double = 0.25,
                draftCost: [DraftSourceKind: Double] = [.lookup: 0.0, .selfDraft: 0.7, .hier: 0.35],
                acceptance: [DraftSourceKind: Double] = [.lookup: 0.35, .selfDraft: 0.9, .hier: 0.5]) {
        self.extraRowCost = extraRowCost
        self.draftCost = draftCost
        self.acceptance = acceptance
        evidence = acceptance.mapValues { _ in Self.priorWeight }
    }

    /// Expected decode speed-up of `source` drafting `draftTokens` per pass (< 1: a loss).
    public func predictedSpeedup(_ source: DraftSourceKind, draftTokens γ: Int) -> Double {
        let a = min(0.999, max(0, acceptance[source] ?? 0))
        let tokens = (1 - Foundation.pow(a, Double(γ + 1))) / (1 - a)
        let cost = 1 + extraRowCost * Double(γ) + (draftCost[source] ?? 1) * Double(γ)
        return tokens / cost
    }

    /// The best source and draft length at or above `minimumSpeedup`; nil: decode plainly.
    public func choose(among sources: [DraftSourceKind] = DraftSourceKind.allCases, maxDraftTokens: Int = 8)
        -> (source: DraftSourceKind, draftTokens: Int, speedup: Double)? {
        var best: (DraftSourceKind, Int, Double)?
        for s in sources {
            for γ in 1...max(1, maxDraftTokens) {
                let g = predictedSpeedup(s, draftTokens: γ)
                if g > (best?.2 ?? 0) { best = (s, γ, g) }
            }
        }
        guard let best, best.2 >= minimumSpeedup else { return nil }
        return best
    }

    /// Drafted tokens a source must have been measured on before the model trusts its prediction
    /// enough to stop trying it (at temperature 0 trying costs time, never output).
    public static let explorationTokenCount = 512.0

    /// True while `source` has fewer measured drafts than `explorationTokenCount`.
    public func needsMeasuring(_ source: DraftSourceKind) -> Bool {
        (evidence[source] ?? 0) < Self.priorWeight + Self.explorationTokenCount
    }

    /// Folds a unit's measured acceptance into the source's figure (drafted-token weighted).
    public mutating func refit(_ source: DraftSourceKind, drafted: Int, accepted: Int) {
        guard drafted > 0 else { return }
        let w = evidence[source] ?? Self.priorWeight, a = acceptance[source] ?? 0
        acceptance[source] = (a * w + Double(accepted)) / (w + Double(drafted))
        evidence[source] = w + Double(drafted)
    }
}

import Foundation

import Foundation
import Store

/// The fidelity a job asks for, as tiers of what a user notices (README, job file reference).
public enum FidelityRequirement: String, Sendable, Codable {
    /// Output token-identical to dense attention over f16 KV at temperature 0: that path only.
    case exact
    /// Mean KL against dense ≤ 0.005, top-1 agreement ≥ 99% at the steps where dense's top-1
    /// probability is ≥ 0.5, and every needle dense passes still passed.
    case high
    /// Every needle dense passes still passed, and mean KL ≤ 0.05.
    case fast

    /// The tier's limits (llama.cpp's own Q8_0 weights measure KL 0.0004–0.0014, Q4_K_M 0.013–0.031).
    public static let highMaxMeanKL = 0.005, highMinProbableTop1 = 0.99, fastMaxMeanKL = 0.05
}

/// A strategy mix as the router sees it: the mix (its key matches calibration rows), a label for
/// reports, and its cost-model figures.
public struct MixDescription: Sendable {
    public var mix: StrategyMix
    public var cost: MixCost

    public init(mix: StrategyMix, cost: MixCost) {
        self.mix = mix
        self.cost = cost
    }

    public var label: String { mix.label }
}

/// One mix the router considered for a unit.
public struct RouteAlternative: Sendable, Codable, Equatable {
    /// The mix's label.
    public var mix: String
    public var mixValue: StrategyMix
    public var eligible: Bool
    /// Why it is (not) eligible: the calibration row's figures, or what is missing.
    public var reason: String
    public var prediction: CostPrediction?
}

public struct Route: Sendable, Codable, Equatable {
    /// The chosen mix's label (`topk+int8`).
    public var chosen: String
    /// The chosen mix itself.
    public var chosenMix: StrategyMix
    /// Why the winner won.
    public var reason: String
    public var prediction: CostPrediction?
    /// Every mix considered, cheapest first (ineligible ones last).
    public var alternatives: [RouteAlternative]
}

/// Picks the cheapest mix that meets a fidelity requirement (FlexGen's policy search, over a
/// small discrete space): every candidate is checked against its most recent calibration row for
/// this model (`pipeline eval`), costed by the `CostModel` on the measured profile (`pipeline
/// calibrate`, refit from runs), and the eligible one with the least predicted seconds wins.
/// Dense f16 is always eligible (it is the reference); without a profile nothing can be costed
/// and the router says so and keeps dense f16.
public struct Router: Sendable {
    public let profile: MachineProfile?
    public let calibrations: [CalibrationRecord]
    public let shape: ModelShape
    /// The GGUF file name calibration rows must name.
    public let modelName: String

    public init(profile: MachineProfile?, calibrations: [CalibrationRecord], shape: ModelShape, modelName: String) {
        self.profile = profile
        self.calibrations = calibrations
        self.shape = shape
        self.modelName = modelName
    }

    /// The newest calibration row of `mix` for this model.
    public func calibration(of mix: MixDescription) -> CalibrationRecord? {
        let key = mix.mix.key
        return calibrations.filter { row in
            row.model == modelName && StrategyMix(strategy: row.strategy, parametersJSON: row.parameters, kv: row.kvFormat)?.key == key
        }.max { $0.measuredAt < $1.measuredAt }
    }

    /// Whether `mix` meets `fidelity`, and why: the row's figures against the tier's limits.
    public func admits(_ mix: MixDescription, _ fidelity: FidelityRequirement) -> (Bool, String) {
        if mix.mix.isExact { return (true, "the exact path") }
        if fidelity == .exact { return (false, "fidelity exact allows dense attention over f16 KV only") }
        guard let row = calibration(of: mix) else { return (false, "no calibration row for \(mix.label) on \(modelName): run pipeline eval") }
        var figures = String(format: "calibrated at %d tokens: mean KL %.4f", row.contextTokens, row.meanKL)
        if let probable = row.probableTop1Agreement { figures += String(format: ", top-1 %.2f%% where dense is confident", probable * 100) }
        guard let needles = row.needles, let passed = row.needlesReferencePassed, let kept = row.needlesKept else {
            return (false, figures + ", no needle check")
        }
        figures += ", needles \(kept)/\(passed) of dense's passes (\(needles) cases)"
        if let compared = row.answersCompared, let changed = row.answersChanged { figures += ", \(changed)/\(compared) answers changed" }
        if kept < passed { return (false, figures + " — a needle lost") }
        switch fidelity {
        case .exact:
            return (false, figures)
        case .fast:
            if row.meanKL > FidelityRequirement.fastMaxMeanKL { return (false, figures + " — mean KL above 0.05") }
        case .high:
            guard let probable = row.probableTop1Agreement else {
                return (false, figures + " — no confident-step top-1 figure (a row of an older version): run pipeline eval")
            }
            if row.meanKL > FidelityRequirement.highMaxMeanKL { return (false, figures + " — mean KL above 0.005") }
            if probable < FidelityRequirement.highMinProbableTop1 { return (false, figures + " — top-1 below 99% where dense is confident") }
        }
        return (true, figures)
    }

    /// `cachedFormats`: KV formats in which the document's snapshot exists (no prefill for them).
    public func route(_ workload: UnitWorkload, fidelity: FidelityRequirement, budgetBytes: Int, candidates: [MixDescription],
                      batch: Int = 1, cachedFormats: Set<String> = []) -> Route {
        let model = profile.map { CostModel(profile: $0, shape: shape) }
        var alternatives: [RouteAlternative] = []
        for mix in candidates {
            var (eligible, reason) = admits(mix, fidelity)
            var prediction: CostPrediction?
            if let model {
                if model.profile.attention[mix.cost.costKey] == nil {
                    eligible = false
                    reason += "; no measured attention cost for \(mix.cost.costKey): run pipeline calibrate"
                } else {
                    var w = workload
                    w.snapshotCached = cachedFormats.contains(mix.mix.kv.rawValue)
                    prediction = model.predict(w, mix: mix.cost, batch: batch, budgetBytes: budgetBytes)
                    if w.snapshotCached { reason += "; KV snapshot cached" }
                    if let p = prediction, p.spillFraction > 0 { reason += String(format: "; spills %.0f%% of its KV", p.spillFraction * 100) }
                }
            }
            alternatives.append(RouteAlternative(mix: mix.label, mixValue: mix.mix, eligible: eligible, reason: reason, prediction: prediction))
        }
        alternatives.sort { a, b in
            if a.eligible != b.eligible { return a.eligible }
            return (a.prediction?.seconds ?? .infinity) < (b.prediction?.seconds ?? .infinity)
        }
        guard model != nil else {
            let exact = alternatives.first { $0.mixValue.isExact }
            return Route(chosen: StrategyMix.exact.label, chosenMix: .exact, reason: "no machine profile (run pipeline calibrate): dense f16, which meets every fidelity level",
                         prediction: exact?.prediction, alternatives: alternatives)
        }
        guard let best = alternatives.first(where: { $0.eligible && $0.prediction != nil }) else {
            return Route(chosen: StrategyMix.exact.label, chosenMix: .exact, reason: "no mix could be costed: dense f16", prediction: nil,
                         alternatives: alternatives)
        }
        let runnerUp = alternatives.dropFirst().first { $0.eligible && $0.prediction != nil }
        var why = String(format: "cheapest eligible at %.1f s predicted", best.prediction!.seconds)
        if let r = runnerUp, let p = r.prediction { why += String(format: " (next: %@ at %.1f s)", r.mix, p.seconds) }
        return Route(chosen: best.mix, chosenMix: best.mixValue, reason: why, prediction: best.prediction, alternatives: alternatives)
    }
}

import Attention
import Foundation
import KVCache
import Planner
import Store

/// The router behind `strategy: auto` (Planner's `Router` over every mix this build runs), and
/// the cost of a pinned mix. Built once per run from the store's newest machine profile and its
/// calibration rows.
public struct JobRouter: UnitPlanning {
    public let profile: MachineProfile?
    public let calibrations: [CalibrationRecord]
    /// The share of max_new_tokens that answers used in recorded units (1 without history).
    public let answerFraction: Double

    public init(profile: MachineProfile?, calibrations: [CalibrationRecord], answerFraction: Double = 1) {
        self.profile = profile
        self.calibrations = calibrations
        self.answerFraction = answerFraction
    }

    /// Every mix this build runs, at default parameters: {dense, topk, da-topk, lsh} × {f16, int8, int4}.
    public static let mixes: [StrategyMix] = AttentionConfiguration.Kind.allCases.flatMap { a in
        KVFormat.allCases.map { StrategyMix(a, kv: $0) }
    }

    /// What the cost model needs about `mix` for a model of `shape`: KV bytes per token from the
    /// page formats (ck_kv.h), the strategy's index bytes and spilled-read share from its
    /// configuration (`AttentionConfiguration`'s cost-model facts).
    public static func description(of mix: StrategyMix, shape: ModelShape) -> MixDescription {
        let streams = Double(shape.layerCount * shape.kvHeadCount)
        let sealed: KVPageKind = switch mix.kv {
        case .f16: .f16
        case .int8: .int8
        case .int4: .int4 // all but the f16 recent window
        }
        let kvPerToken = streams * Double(sealed.byteCount(headDim: shape.headDim)) / 64
        return MixDescription(mix: mix, cost: MixCost(costKey: mix.costKey, kvBytesPerToken: kvPerToken,
                                            indexBytesPerToken: streams * mix.attention.indexBytesPerToken(headDim: shape.headDim),
                                            readFraction: mix.attention.spilledReadFraction))
    }

    public func router(shape: ModelShape, modelPath: String) -> Router {
        Router(profile: profile, calibrations: calibrations, shape: shape, modelName: URL(fileURLWithPath: modelPath).lastPathComponent)
    }

    /// `workload` with the answers' expected share of max_new_tokens (from recorded units).
    public func expected(_ workload: UnitWorkload) -> UnitWorkload {
        var w = workload
        w.expectedAnswerFraction = answerFraction
        return w
    }

    /// The route for one unit (what `pipeline plan` shows).
    public func route(_ spec: JobSpec, workload: UnitWorkload, shape: ModelShape, modelPath: String, budgetMB: Int,
                      cachedFormats: Set<String> = []) -> Route {
        route(workload, fidelity: FidelityRequirement(rawValue: spec.fidelity.rawValue) ?? .high, shape: shape, modelPath: modelPath,
              budgetMB: budgetMB, cachedFormats: cachedFormats)
    }

    /// The route over every mix of this build for `workload` at `fidelity`.
    public func route(_ workload: UnitWorkload, fidelity: FidelityRequirement, shape: ModelShape, modelPath: String, budgetMB: Int,
                      cachedFormats: Set<String> = []) -> Route {
        router(shape: shape, modelPath: modelPath).route(
            expected(workload), fidelity: fidelity, budgetBytes: budgetMB << 20,
            candidates: Self.mixes.map { Self.description(of: $0, shape: shape) }, cachedFormats: cachedFormats)
    }

    public func plan(_ work: UnitWork, workload: UnitWorkload, shape: ModelShape, cachedFormats: Set<String>) throws -> UnitPlan {
        var plan = try chooseMix(work, workload: workload, shape: shape, cachedFormats: cachedFormats)
        let depth = workload.documentTokens + (workload.promptTokens.max() ?? 0) + workload.maxNewTokens / 2
        plan.verificationExtraRowCost = profile?.verification?.extraRowCost(atDepth: depth)
        return plan
    }

    private func chooseMix(_ work: UnitWork, workload: UnitWorkload, shape: ModelShape, cachedFormats: Set<String>) throws -> UnitPlan {
        switch work.spec.strategy {
        case let .pinned(mix):
            var w = expected(workload)
            w.snapshotCached = cachedFormats.contains(mix.kv.rawValue)
            let prediction = profile.flatMap { p -> CostPrediction? in
                guard p.attention[mix.costKey] != nil else { return nil }
                return CostModel(profile: p, shape: shape).predict(w, mix: Self.description(of: mix, shape: shape).cost,
                                                                   budgetBytes: work.memoryBudgetMB << 20)
            }
            return UnitPlan(mix: mix, prediction: prediction, reason: "pinned by the job")
        case .auto:
            let route = route(work.spec, workload: workload, shape: shape, modelPath: work.modelPath, budgetMB: work.memoryBudgetMB,
                              cachedFormats: cachedFormats)
            return UnitPlan(mix: route.chosenMix, prediction: route.prediction, reason: route.reason)
        }
    }
}

import Foundation
import Model
import Planner

/// What the executor asks before running a unit, once the document is tokenized: which strategy
/// mix, and what the cost model predicts for it. The router (`JobRouter`) answers for
/// `strategy: auto`; a pinned mix is kept and only costed.
public protocol UnitPlanning: Sendable {
    /// `cachedFormats`: KV formats in which the document's snapshot already exists.
    func plan(_ work: UnitWork, workload: UnitWorkload, shape: ModelShape, cachedFormats: Set<String>) throws -> UnitPlan
}

public struct UnitPlan: Sendable {
    public var mix: StrategyMix
    /// The cost model's prediction for this mix (nil without a machine profile).
    public var prediction: CostPrediction?
    /// Why this mix: the router's reason, or "pinned by the job".
    public var reason: String
    /// What the unit's decode speculates with (nil: plain decode steps).
    public var speculation: SpeculationSettings?
    /// What one extra verified row costs, in decode steps, at the unit's mean decode depth (the
    /// machine profile's measured curve; nil without one: the speculation model's prior).
    public var verificationExtraRowCost: Double?

    public init(mix: StrategyMix, prediction: CostPrediction?, reason: String, speculation: SpeculationSettings? = nil) {
        self.mix = mix
        self.prediction = prediction
        self.reason = reason
        self.speculation = speculation
    }

    /// Without a router: the job's pinned mix, or for `auto` dense attention over f16 KV, which
    /// meets every fidelity level.
    public static func withoutRouter(_ spec: JobSpec) -> UnitPlan {
        switch spec.strategy {
        case .auto: UnitPlan(mix: .exact, prediction: nil, reason: "no router: dense f16 meets every fidelity level")
        case let .pinned(mix): UnitPlan(mix: mix, prediction: nil, reason: "pinned by the job")
        }
    }
}

/// A unit with its plan: what the runner hands to `UnitExecutor.execute`.
public struct PlannedUnit: Sendable {
    public let work: UnitWork
    public let plan: UnitPlan
    /// What the executor computed while planning (the unit's token ids), so `execute` does not
    /// compute it again; nil from executors that keep nothing.
    let tokens: TokenizedUnit?

    public init(work: UnitWork, plan: UnitPlan) {
        self.init(work: work, plan: plan, tokens: nil)
    }

    init(work: UnitWork, plan: UnitPlan, tokens: TokenizedUnit?) {
        self.work = work
        self.plan = plan
        self.tokens = tokens
    }
}

/// Without a router (`UnitPlan.withoutRouter`).
public struct ExactPlanning: UnitPlanning {
    public init() {}
    public func plan(_ work: UnitWork, workload: UnitWorkload, shape: ModelShape, cachedFormats: Set<String>) throws -> UnitPlan {
        .withoutRouter(work.spec)
    }
}

extension ModelShape {
    /// The shape of a loaded model: weight bytes are the GGUF's tensor data (read once per decode
    /// step); buffers are a forward context's activations for `maxTokens` rows (hidden state, q/k/v,
    /// attention output, feed-forward, logits of one row), fp32.
    public init(model: LlamaModel, maxTokens: Int) {
        let c = model.config
        let rowFloats = 4 * c.embeddingLength + 2 * c.kvHeadCount * c.headDim + 3 * c.feedForwardLength
        self.init(layerCount: c.layerCount, kvHeadCount: c.kvHeadCount, headDim: c.headDim,
                  weightBytes: model.file.mapping.bytes.count - model.file.dataOffset,
                  bufferBytes: 4 * (maxTokens * rowFloats + c.vocabularySize), contextLength: c.contextLength)
    }
}

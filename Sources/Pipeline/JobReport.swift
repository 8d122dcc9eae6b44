// What `pipeline status` shows for a job, computed from the store's aggregates: state, unit
// counts, tokens, throughput, ETA, strategy mix and the saving of KV reuse over per-prompt prefill.
import Foundation
import Planner
import Store

public struct JobReport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Units wait; none is leased right now.
        case pending
        /// At least one unit is leased by a runner.
        case running
        /// Every unit is done.
        case done
        /// Every unit is finished and at least one failed.
        case failed
    }

    public var id: String
    public var name: String
    public var state: State
    public var units: Int
    public var done: Int
    public var failed: Int
    public var pending: Int
    public var running: Int
    public var tokensIn: Int
    public var tokensOut: Int
    public var prefillTokensPerSecond: Double
    public var decodeTokensPerSecond: Double
    /// Tokens (in + out) per second of unit wall time.
    public var tokensPerSecond: Double
    /// Remaining units × mean wall seconds per done unit ÷ units running now (at least 1); nil
    /// before the first unit is done.
    public var etaSeconds: Double?
    /// Done units per strategy-mix label.
    public var strategies: [String: Int]
    /// What the job asked for: "auto" (the router chooses) or the pinned mix's label.
    public var requestedStrategy: String
    /// Prefill seconds with KV reuse (document once, prompts after it) and the per-prompt baseline.
    public var prefillSeconds: Double
    public var perPromptPrefillSeconds: Double
    public var truncatedUnits: Int
    /// The router's predictions against what the units measured: units with a prediction, and
    /// mean |predicted − measured| / measured (nil before the first).
    public var predictedUnits: Int
    public var predictionError: Double?
    /// Speculative decoding per draft source over the done units that speculated.
    public var speculation: [String: SpeculationReport] = [:]
    /// ISO 8601, UTC.
    public var submittedAt: String
    public var sourcePath: String

    enum CodingKeys: String, CodingKey {
        case id, name, state, units, done, failed, pending, running, strategies
        case tokensIn = "tokens_in", tokensOut = "tokens_out"
        case prefillTokensPerSecond = "prefill_tokens_per_second", decodeTokensPerSecond = "decode_tokens_per_second"
        case tokensPerSecond = "tokens_per_second", etaSeconds = "eta_seconds"
        case prefillSeconds = "prefill_seconds", perPromptPrefillSeconds = "per_prompt_prefill_seconds"
        case truncatedUnits = "truncated_units", submittedAt = "submitted_at", sourcePath = "source_path"
        case requestedStrategy = "requested_strategy"
        case predictedUnits = "predicted_units", predictionError = "prediction_error"
        case speculation
    }

    public init(_ stats: JobStatistics) {
        id = stats.job.id
        name = stats.job.name
        units = stats.unitCount
        done = stats.count(.done)
        failed = stats.count(.failed)
        pending = stats.count(.pending)
        running = stats.count(.leased)
        if running > 0 {
            state = .running
        } else if pending > 0 || units == 0 {
            state = .pending
        } else {
            state = failed > 0 ? .failed : .done
        }
        tokensIn = stats.tokensIn
        tokensOut = stats.tokensOut
        prefillTokensPerSecond = Runner.rate(stats.tokensIn, stats.prefillSeconds)
        decodeTokensPerSecond = Runner.rate(stats.tokensOut, stats.decodeSeconds)
        // Over the time the job was worked on: units batched or run side by side count once.
        tokensPerSecond = Runner.rate(stats.tokensIn + stats.tokensOut, stats.busySeconds)
        if done > 0 {
            etaSeconds = Double(pending + running) * stats.busySeconds / Double(done)
        }
        strategies = stats.strategyMixes
        switch (try? JobSpec.stored(stats.job.specJSON, jobID: stats.job.id))?.strategy {
        case .pinned(let mix): requestedStrategy = mix.label
        case .auto: requestedStrategy = "auto"
        case nil: requestedStrategy = "unknown"
        }
        prefillSeconds = stats.prefillSeconds
        perPromptPrefillSeconds = stats.perPromptPrefillSeconds
        truncatedUnits = stats.truncatedUnits
        predictedUnits = stats.predictedUnits
        predictionError = stats.meanPredictionError
        speculation = stats.speculation.mapValues(SpeculationReport.init)
        submittedAt = ISO8601DateFormatter().string(from: stats.job.submittedAt)
        sourcePath = stats.job.sourcePath
    }

    /// The mixes used so far (`dense+f16×3, lsh(K=10,L=150)+int4×1`), else what the job asked for.
    public var strategySummary: String {
        guard !strategies.isEmpty else { return requestedStrategy }
        return strategies.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
    }

    /// Seconds of prefill saved by reusing the document's KV across prompts.
    public var prefillSecondsSaved: Double { perPromptPrefillSeconds - prefillSeconds }
}

// `pipeline run` as a library operation, so the CLI only parses, prints and maps errors:
// load the router (the store's newest machine profile, its calibration rows, the answers'
// recorded share of max_new_tokens), apply the KV folder's retention, build the executor (each
// model loaded once per run), choose the batch size, run the runner (lease → plan → execute →
// record), and refit the profile from what the run measured.
import Foundation
import KVCache
import Model
import Planner
import Store

public enum RunSession {
    /// How many units run together: a number, or the cost model's choice (`BatchChoice`).
    public enum BatchUnits: Sendable, Equatable {
        case fixed(Int)
        case auto
    }

    /// Runs until the runner stops; nil when there was nothing to lease (no model is loaded then).
    /// `log`: one line per decision worth telling (no profile, the batch chosen, the refit).
    @discardableResult
    public static func run(store: any Store, options: RunnerOptions, batchUnits: BatchUnits, kvDirectory: String,
                           stop: StopFlag, log: @escaping (String) -> Void,
                           observe: @escaping @Sendable (RunnerEvent) -> Void) throws -> RunSummary? {
        guard try store.leasableUnitCount() > 0 else { return nil }
        let router = try JobRouter.load(from: store, threads: options.threads)
        if router.profile == nil { log("no machine profile: strategy auto runs dense f16 (run pipeline calibrate)") }
        let storage = KVStorage(root: kvDirectory)
        // Retention: what finished or killed runs left in the KV folder, before and after this run.
        storage.cleanUp()
        defer { storage.cleanUp() }
        // Draft acceptance as earlier runs measured it (cron starts a run at a time).
        let speculation = try StoreRefit.speculationModel(store)
        let measured = DraftSourceKind.allCases.filter { !speculation.needsMeasuring($0) }
        if !measured.isEmpty {
            log("draft acceptance from recorded units: " + measured.map { s in
                String(format: "%@ %.0f%% of %.0f drafts", s.rawValue, 100 * speculation.acceptance[s]!,
                       speculation.evidence[s]! - SpeculationCostModel.priorWeight)
            }.joined(separator: ", "))
        }
        let executor = ModelUnitExecutor(threads: options.threads, planning: router, kvDirectory: storage.root, speculation: speculation)
        var options = options
        switch batchUnits {
        case .fixed(let n): options.batchUnits = n
        case .auto:
            let choice = try BatchChoice.choose(store: store, router: router, executor: executor, modelPath: options.modelPath,
                                                memoryBudgetMB: options.memoryBudgetMB ?? JobSpec.defaultMemoryBudgetMB)
            options.batchUnits = choice.batch
            if let line = choice.explanation { log(line) }
        }
        let summary = try Runner(store: store, executor: executor, options: options, stop: stop, observe: observe).run()
        // Learn from what this run measured: the next run's predictions use the refit profile.
        if let refit = try StoreRefit.refitProfile(store, threads: options.threads) {
            log(String(format: "profile refit from %d units (prefill %d, decode %d%@)", refit.profile.refitUnits, refit.prefillUnits,
                       refit.decodeUnits, refit.decodeScale.map { String(format: ", decode scale %.3f", $0) } ?? ""))
        }
        return summary
    }
}

extension JobRouter {
    /// The router of a run or a plan: the store's newest machine profile (calibrated or refit),
    /// its calibration rows, and the share of max_new_tokens recorded answers used.
    public static func load(from store: any Store, threads: Int?) throws -> JobRouter {
        let profile = try store.latestMachineProfile(threads: threads).map { try MachineProfile(json: $0) }
        return JobRouter(profile: profile, calibrations: try store.calibrations(),
                         answerFraction: ProfileRefit.meanAnswerFraction(try StoreRefit.unitSamples(store)) ?? 1)
    }
}

/// The batch size of a run with `--batch-units auto`: the cost model's choice for a typical
/// unit — the mean recorded document (4,096 tokens before any run), three 32-token prompts, 128
/// new tokens at the recorded answer share, the mix auto routes it to at fidelity high — under
/// the memory budget, up to 8.
public struct BatchChoice: Sendable {
    public var batch: Int
    /// Why, for the run's log (nil when there is nothing to explain: no profile, already logged).
    public var explanation: String?

    static func choose(store: any Store, router: JobRouter, executor: ModelUnitExecutor, modelPath: String,
                       memoryBudgetMB: Int) throws -> BatchChoice {
        guard let profile = router.profile else { return BatchChoice(batch: 1, explanation: nil) }
        let shape: ModelShape
        do { shape = try executor.shape(modelPath: modelPath) } catch {
            return BatchChoice(batch: 1, explanation: "batch of 1 unit: the cost model needs --model's shape, and it did not load (\(error))")
        }
        let recorded = try store.recordedUnits(limit: 50).map(\.metrics.keptTokenCount)
        let workload = router.expected(UnitWorkload(documentTokens: recorded.isEmpty ? 4096 : recorded.reduce(0, +) / recorded.count,
                                                    promptTokens: [32, 32, 32], maxNewTokens: 128))
        let mix = router.route(workload, fidelity: .high, shape: shape, modelPath: modelPath, budgetMB: memoryBudgetMB).chosenMix
        let choice = BatchPlanner.choose(CostModel(profile: profile, shape: shape), workload: workload,
                                         mix: JobRouter.description(of: mix, shape: shape).cost, budgetBytes: memoryBudgetMB << 20, maxBatch: 8)
        let perUnit = choice.secondsPerUnit.enumerated().map { String(format: "B=%d %.1f s", $0.offset + 1, $0.element) }
        return BatchChoice(batch: choice.batch, explanation: "batch of \(choice.batch) units (cost model, \(mix.costKey), "
                           + "\(workload.documentTokens)-token documents: \(perUnit.joined(separator: ", ")) per unit)")
    }
}

/// The refit's view of the store: recorded units as samples, and the refit profile saved back.
public enum StoreRefit {
    /// The most recent done units as the refit sees them.
    public static func unitSamples(_ store: any Store, limit: Int = 200) throws -> [UnitSample] {
        var specs: [String: JobSpec] = [:]  // units of one job share its spec: decoded once
        return try store.recordedUnits(limit: limit).compactMap { u in
            let m = u.metrics, prompts = max(1, u.promptCount)
            if specs[u.specJSON] == nil { specs[u.specJSON] = try? JobSpec.stored(u.specJSON, jobID: "") }
            guard let spec = specs[u.specJSON] else { return nil }
            let promptTokens = m.tokensIn - m.keptTokenCount
            let depth = m.keptTokenCount + promptTokens / prompts + m.tokensOut / prompts / 2
            return UnitSample(documentTokens: m.keptTokenCount, snapshotLoaded: m.kvSnapshot == "loaded",
                              documentPrefillSeconds: m.documentPrefillSeconds, decodeSeconds: m.decodeSeconds,
                              generatedTokens: m.tokensOut, meanDepth: depth, batchSize: m.batchSize ?? 1, costKey: m.strategyMix,
                              answerFraction: Double(m.tokensOut) / Double(prompts * max(1, spec.maxNewTokens)))
        }
    }

    /// Speculation's cost model with each draft source's acceptance refitted from the newest
    /// `limit` recorded units that speculated, so a run starts from what earlier runs measured
    /// rather than from the prior (`auto` stops trying lookup once 512 of its drafts are on
    /// record). Pooled over every job and model on record.
    public static func speculationModel(_ store: any Store, limit: Int = 200) throws -> SpeculationCostModel {
        speculationModel(recorded: try store.recordedUnits(limit: limit))
    }

    public static func speculationModel(recorded: [RecordedUnit]) -> SpeculationCostModel {
        var model = SpeculationCostModel()
        for u in recorded {
            guard let name = u.metrics.speculationSource, let source = DraftSourceKind(rawValue: name),
                  let drafted = u.metrics.draftedTokens, let accepted = u.metrics.acceptedTokens else { continue }
            model.refit(source, drafted: drafted, accepted: accepted)
        }
        return model
    }

    /// Refits the newest profile from the recorded units and stores the result (source `refit`);
    /// nil when there is no profile to refit.
    @discardableResult
    public static func refitProfile(_ store: any Store, threads: Int?) throws -> ProfileRefit.Result? {
        guard let data = try store.latestMachineProfile(threads: threads) else { return nil }
        let result = ProfileRefit.refit(try MachineProfile(json: data), samples: try unitSamples(store))
        try store.saveMachineProfile(json: try result.profile.encodedJSON(), threads: result.profile.threads, source: "refit")
        return result
    }
}

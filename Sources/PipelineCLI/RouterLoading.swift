import Foundation
import Pipeline
import Planner
import Store

/// The router of a run or a plan: the store's newest machine profile (calibrated or refit), its
/// calibration rows, and the share of max_new_tokens recorded answers used.
func loadRouter(_ store: any Store, threads: Int?) throws -> JobRouter {
    let profile = try store.latestMachineProfile(threads: threads).map { try MachineProfile(json: $0) }
    return JobRouter(profile: profile, calibrations: try store.calibrations(),
                     answerFraction: ProfileRefit.meanAnswerFraction(try unitSamples(store)) ?? 1)
}

/// The most recent done units as the refit sees them.
func unitSamples(_ store: any Store, limit: Int = 200) throws -> [UnitSample] {
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

/// Refits the newest profile from the recorded units and stores the result (source `refit`);
/// nil when there is no profile to refit.
@discardableResult
func refitProfile(_ store: any Store, threads: Int?) throws -> ProfileRefit.Result? {
    guard let data = try store.latestMachineProfile(threads: threads) else { return nil }
    let result = ProfileRefit.refit(try MachineProfile(json: data), samples: try unitSamples(store))
    try store.saveMachineProfile(json: try result.profile.encodedJSON(), threads: result.profile.threads, source: "refit")
    return result
}

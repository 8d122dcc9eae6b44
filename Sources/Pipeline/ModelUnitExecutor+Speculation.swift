import Foundation
import Model
import Planner

/// Speculative decode steps of the units that speculate (issue 15): their verification passes run
/// together, one row-exact forward pass per step for all of them (`ForwardContext.speculate`);
/// units that do not speculate keep their own shared plain steps (`decodePrompts`). The two kinds
/// do not share a pass: a row-exact pass computes each row alone, which would change the plain
/// units' batched arithmetic.
extension ModelUnitExecutor {
    /// What a unit speculates with: nil when its mix is not dense (verification needs dense
    /// attention over the exact KV), when the job says off, or, for auto, at temperature > 0
    /// (the draws would change, though not their distribution) or where the cost model
    /// predicts no gain once lookup's acceptance has been measured on enough drafts (until then
    /// auto uses lookup to measure it: at temperature 0 that costs time, never output).
    func speculation(for work: UnitWork, mix: StrategyMix, model: SpeculationCostModel) -> SpeculationSettings? {
        guard mix.attention.kind == .dense, mix.activations == .f32 else { return nil }
        // Constrained answers and per-prompt settings decode on the plain path (the grammar masks
        // each step; speculation does not know it).
        guard work.spec.responseFormat == nil, work.spec.promptOptions == nil else { return nil }
        switch work.spec.speculate {
        case .off?: return nil
        case .pinned(let s)?: return s
        case nil:
            guard work.spec.temperature == 0 else { return nil }
            if model.choose(among: [.lookup]) != nil || model.needsMeasuring(.lookup) {
                return SpeculationSettings(source: .lookup, draftTokens: SpeculationSettings.defaultDraftTokens)
            }
            return nil
        }
    }

    /// Prompt k's decode for `runs` (each has `speculation` set), from the logits after its tail.
    func decodeSpeculatively(_ runs: [UnitRun], prompt k: Int, logits: [ObjectIdentifier: [Float]], engine: Engine,
                             events: @Sendable (Int64, UnitEvent) -> Void, isCancelled: @Sendable (Int64) -> Bool) {
        let context = engine.context, tokenizer = engine.tokenizer
        var streams: [ObjectIdentifier: SpeculativeStream] = [:], emitted: [ObjectIdentifier: [Int32]] = [:]
        for run in runs {
            let id = ObjectIdentifier(run), settings = run.speculation!
            emitted[id] = [logits[id]!.withUnsafeBufferPointer { run.sampler.sample($0, history: run.sequence.tokens[...]) }]
            let draft = DraftSources.make(settings.source, model: engine.model, pool: context.pool,
                                          budget: settings.draftBudget ?? SpeculationSettings.defaultDraftBudget)
            streams[id] = SpeculativeStream(sequence: run.sequence, sampler: run.sampler, draft: draft,
                                            maxDraftTokens: settings.draftTokens ?? SpeculationSettings.defaultDraftTokens)
        }
        var stepping = runs
        while !stepping.isEmpty {
            for run in stepping {
                for token in emitted[ObjectIdentifier(run)]! where !run.finished {
                    if tokenizer.isEndOfGeneration(token) { run.stoppedAtEnd = true; run.finished = true; break }
                    run.generated.append(token)
                    events(run.work.unitID, .decode(promptIndex: k, generatedTokens: run.generated.count))
                    if run.generated.count >= run.work.spec.maxNewTokens { run.finished = true; break }
                    if isCancelled(run.work.unitID) { run.failure = CancellationError(); run.finished = true; break }
                }
            }
            stepping.removeAll { $0.finished }
            guard !stepping.isEmpty else { break }
            let batch = stepping.map { streams[ObjectIdentifier($0)]! }
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                let out = try context.speculate(batch, pending: stepping.map { run in run.generated.last! },
                                                limits: stepping.map { $0.work.spec.maxNewTokens - $0.generated.count })
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                for (i, run) in stepping.enumerated() {
                    emitted[ObjectIdentifier(run)] = out[i]
                    run.decodeSeconds += seconds / Double(stepping.count)
                }
            } catch {
                for run in stepping { run.failure = error; run.finished = true }
            }
            stepping.removeAll { $0.finished }
        }
        for run in runs {
            let s = streams[ObjectIdentifier(run)]!.statistics
            run.speculationStatistics = (run.speculationStatistics ?? SpeculationStatistics()) + s
            engine.speculationModel.refit(run.speculation!.source, drafted: s.draftedTokenCount, accepted: s.acceptedTokenCount)
        }
    }
}

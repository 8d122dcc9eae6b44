import Foundation
import Grammar
import Tensor
import KVCache
import Model
import Planner
import Tokenizer

/// Several units at once (FlexGen's insight: a decode step's weight read serves every sequence in
/// the batch). Each document is tokenized and prefilled on its own — prefill is compute-bound and
/// gains nothing from company — then prompt k of every unit runs together: the prompts' tails are
/// appended in one forward pass, and the decode steps of all still-active units share one forward
/// pass per step. Time spent in a shared step is attributed to the units in equal shares.
extension ModelUnitExecutor {
    /// One unit's state while its batch runs.
    final class UnitRun {
        let work: UnitWork
        let sequence: SequenceState
        let tails: [[Int32]]
        /// The job's prompts this unit runs (all, except in batch jobs), in order.
        let promptIndices: [Int]
        let prefixLength: Int
        let documentTokenCount: Int
        let keptTokenCount: Int
        let truncation: Truncation?
        let documentSeconds: Double
        let plan: UnitPlan
        let snapshot: KVSnapshotUse
        var mix: StrategyMix { plan.mix }
        var outcomes: [PromptOutcome] = []
        var baseline = 0.0
        var failure: (any Error)?
        // Current prompt.
        var sampler = Sampler(SamplerParameters())
        var settings = PromptSettings(index: 0, text: "", responseFormat: nil, maxNewTokens: 1, temperature: 0, seed: 0)
        var decoder: ConstrainedDecoder?
        var endTokens: [Int32] = []
        /// Forced tokens appended after the tail, before the first draw.
        var opening: [Int32] = []
        var forcedTokenCount = 0
        var scratch: [Float] = []
        var generated: [Int32] = []
        var prefillSeconds = 0.0, decodeSeconds = 0.0
        var stoppedAtEnd = false
        var finished = false
        /// Speculative decoding (ModelUnitExecutor+Speculation): settings, and figures so far.
        var speculation: SpeculationSettings?
        var speculationStatistics: SpeculationStatistics?

        init(work: UnitWork, sequence: SequenceState, tails: [[Int32]], promptIndices: [Int], documentTokenCount: Int, keptTokenCount: Int,
             truncation: Truncation?, documentSeconds: Double, plan: UnitPlan, snapshot: KVSnapshotUse) {
            self.work = work
            self.sequence = sequence
            self.tails = tails
            self.promptIndices = promptIndices
            self.prefixLength = sequence.tokenCount
            self.documentTokenCount = documentTokenCount
            self.keptTokenCount = keptTokenCount
            self.truncation = truncation
            self.documentSeconds = documentSeconds
            self.plan = plan
            self.snapshot = snapshot
            speculation = plan.speculation
        }
    }

    public func execute(batch units: [PlannedUnit], events: @Sendable (Int64, UnitEvent) -> Void,
                        isCancelled: @Sendable (Int64) -> Bool) -> [Result<UnitOutcome, any Error>] {
        var results = [Result<UnitOutcome, any Error>?](repeating: nil, count: units.count)
        let works = units.map(\.work)
        // Units sharing a model decode together; different models run as separate groups.
        for path in Set(works.map(\.modelPath)).sorted() {
            let indices = works.indices.filter { works[$0].modelPath == path }
            let engine: Engine
            do { engine = try self.engine(for: path) } catch {
                for i in indices { results[i] = .failure(error) }
                continue
            }
            // One KV budget for the batch (the smallest of its units'): caches of documents waiting
            // their turn give up pages first.
            let budget = storage.makeBudget(megabytes: indices.map { works[$0].memoryBudgetMB }.min()!)
            let runs = indices.map { i -> UnitRun? in
                do { return try prefillDocument(units[i], engine: engine, budget: budget, events: events, isCancelled: isCancelled) } catch {
                    results[i] = .failure(error)
                    return nil
                }
            }
            let live = runs.compactMap { $0 }
            // Units decode together when they share a mix (one attention strategy per forward pass).
            let groups = Dictionary(grouping: live, by: \.mix.label)
            for label in groups.keys.sorted() {
                let group = groups[label]!
                engine.context.decodeAttention = engine.strategy(for: group[0].mix)
                engine.context.activations = group[0].mix.activations
                decodePrompts(group, engine: engine, events: events, isCancelled: isCancelled)
            }
            for (i, run) in zip(indices, runs) {
                guard let run else { continue }
                if let failure = run.failure { results[i] = .failure(failure); continue }
                do { try run.sequence.truncate(to: run.prefixLength) } catch { results[i] = .failure(error); continue }
                let kv = run.sequence.cache.statistics
                var m = UnitMeasurements(
                    documentTokenCount: run.documentTokenCount, keptTokenCount: run.keptTokenCount,
                    truncation: run.truncation, documentPrefillSeconds: run.documentSeconds,
                    perPromptPrefillSeconds: run.baseline, peakMemoryBytes: ProcessMemory.peakResidentBytes(),
                    kvBytesInMemory: kv.residentByteCount, kvBytesOnDisk: kv.spilledByteCount, strategyMix: run.mix)
                m.kvSnapshot = run.snapshot
                m.batchSize = groups[run.mix.label]!.count
                m.kvPeakResidentBytes = budget.peakResidentByteCount
                m.speculationSource = run.speculation?.source.rawValue
                m.speculation = run.speculationStatistics
                results[i] = .success(UnitOutcome(prompts: run.outcomes, measurements: m))
            }
        }
        return results.map { $0! }
    }

    /// Loads the KV of template head + document from its snapshot, or prefills it (and saves the
    /// snapshot), in the planned mix's format.
    private func prefillDocument(_ unit: PlannedUnit, engine: Engine, budget: KVMemoryBudget, events: @Sendable (Int64, UnitEvent) -> Void,
                                 isCancelled: @Sendable (Int64) -> Bool) throws -> UnitRun {
        let work = unit.work, plan = unit.plan, context = engine.context, id = work.unitID
        // A plan made elsewhere (not by `plan(_:)`) is checked against this model before it runs.
        try check(plan.mix, for: work, model: engine.model)
        let t = try unit.tokens ?? tokenize(work, engine: engine)
        let (tails, document, kept, truncation, prefix) = (t.tails, t.document, t.kept, t.truncation, t.prefix)
        events(id, .tokenized(documentTokens: document.count, keptTokens: kept.count))
        let format = plan.mix.kv
        let key = KVSnapshotKey(model: engine.model, format: format, tokens: prefix)
        let t0 = DispatchTime.now().uptimeNanoseconds
        // Snapshots hold KV prefilled with fp32 activations (their key does not name the format):
        // a unit with other activations neither reuses nor saves one.
        context.activations = plan.mix.activations
        let snapshots = plan.mix.activations == .f32
        // A snapshot that fails its checks is removed by `load` and recomputed here.
        if snapshots, let cache = try? storage.snapshots.load(key, budget: budget) {
            events(id, .prefill(doneTokens: prefix.count, totalTokens: prefix.count))
            return UnitRun(work: work, sequence: SequenceState(cache: cache, tokens: prefix), tails: tails, promptIndices: t.promptIndices, documentTokenCount: document.count,
                           keptTokenCount: kept.count, truncation: truncation,
                           documentSeconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, plan: plan, snapshot: .loaded)
        }
        let sequence = try engine.model.makeSequence(format: format, budget: budget)
        let finished = try context.prefill(sequence, tokens: prefix, logits: false) { done in
            events(id, .prefill(doneTokens: done, totalTokens: prefix.count))
            return !isCancelled(id)
        }
        if finished == nil, isCancelled(id) { throw CancellationError() }
        let documentSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        // Saving is best effort: a full disk costs the reuse, not the unit.
        let saved = snapshots && (sequence.cache as? PagedKVCache).flatMap { try? storage.snapshots.save($0, key: key) } != nil
        return UnitRun(work: work, sequence: sequence, tails: tails, promptIndices: t.promptIndices, documentTokenCount: document.count,
                       keptTokenCount: kept.count, truncation: truncation, documentSeconds: documentSeconds, plan: plan,
                       snapshot: saved ? .saved : .none)
    }

    /// The unit's tokens: template head, document (overflow policy applied; the limit leaves room
    /// for the longest prompt and the answer) and every prompt's tail.
    func tokenize(_ work: UnitWork, engine: Engine) throws -> TokenizedUnit {
        if work.spec.isBatch { return try tokenizeConversation(work, engine: engine) }
        let tokenizer = engine.tokenizer
        let parts = PromptParts(template: tokenizer.chatTemplate)
        let head = tokenizer.encode(parts.head, addSpecial: true, parseSpecial: true)
        let indices = work.promptIndices
        let tails = indices.map { parts.tailTokens(prompt: work.spec.prompts[$0], tokenizer: tokenizer) }
        let document = tokenizer.encode(work.documentText, addSpecial: false, parseSpecial: false)
        let maxNewTokens = indices.map { work.spec.settings(ofPrompt: $0).maxNewTokens }.max() ?? work.spec.maxNewTokens
        let longestTail = tails.map(\.count).max() ?? 0, contextLength = engine.model.config.contextLength
        let limit = contextLength - head.count - longestTail - maxNewTokens
        guard limit >= 1 else {
            throw PipelineError.noRoomForDocument(path: work.documentPath, contextLength: contextLength, templateTokens: head.count,
                                                  longestPromptTokens: longestTail, maxNewTokens: maxNewTokens)
        }
        let (kept, truncation) = try work.spec.overflow.apply(to: document, limit: limit, documentPath: work.documentPath)
        return TokenizedUnit(tails: tails, promptIndices: indices, document: document, kept: kept, truncation: truncation,
                             prefix: head + kept, maxNewTokens: maxNewTokens)
    }

    /// What the router would choose for `work`, with every alternative (`pipeline plan`).
    public func route(_ work: UnitWork, router: JobRouter) throws -> (route: Route, documentTokens: Int) {
        let engine = try engine(for: work.modelPath)
        let t = try tokenize(work, engine: engine)
        return (router.route(work.spec, workload: t.workload, shape: engine.shape, modelPath: work.modelPath, budgetMB: work.memoryBudgetMB,
                             cachedFormats: cachedFormats(model: engine.model, prefix: t.prefix)), t.prefix.count)
    }

    /// Prompt k of every unit together: tails appended in one pass, then shared decode steps.
    private func decodePrompts(_ runs: [UnitRun], engine: Engine, events: @Sendable (Int64, UnitEvent) -> Void,
                               isCancelled: @Sendable (Int64) -> Bool) {
        let context = engine.context, tokenizer = engine.tokenizer
        let rounds = runs.map(\.tails.count).max() ?? 0
        for k in 0..<rounds {
            var active = runs.filter { $0.failure == nil && k < $0.tails.count }
            for run in active {
                if isCancelled(run.work.unitID) { run.failure = CancellationError(); continue }
                do {
                    try run.sequence.truncate(to: run.prefixLength)
                    try run.begin(prompt: k, grammars: grammars, tokenizer: tokenizer)
                } catch { run.failure = error; continue }
            }
            active.removeAll { $0.failure != nil }
            guard !active.isEmpty else { continue }
            // Tails (and forced answer openings), in as few forward passes as the context's token limit
            // allows. A tail longer than one pass holds is fed alone, in passes of at most `maxTokens`.
            // Copied out of the context: its logits buffer is reused by the next forward pass.
            var logits: [ObjectIdentifier: [Float]] = [:]
            for run in active where run.tails[k].count + run.opening.count > context.maxTokens {
                let (view, seconds) = timed { try context.prefill(run.sequence, tokens: run.tails[k] + run.opening) }
                run.prefillSeconds += seconds
                switch view {
                case let .success(v?): logits[ObjectIdentifier(run)] = Array(v.last)
                case .success(nil): run.failure = CancellationError()
                case let .failure(e): run.failure = e
                }
            }
            var pending = active.filter { $0.failure == nil && $0.tails[k].count + $0.opening.count <= context.maxTokens }[...]
            while let first = pending.first {
                var group = [first]
                var tokens = first.tails[k].count + first.opening.count
                for run in pending.dropFirst() where tokens + run.tails[k].count + run.opening.count <= context.maxTokens {
                    group.append(run)
                    tokens += run.tails[k].count + run.opening.count
                }
                let (views, seconds) = timed { try context.forward(group.map { ForwardRequest($0.sequence, tokens: $0.tails[k] + $0.opening) }) }
                for (i, run) in group.enumerated() {
                    run.prefillSeconds += seconds / Double(group.count)
                    switch views {
                    case let .success(v): logits[ObjectIdentifier(run)] = Array(v[i].last)
                    case let .failure(e): run.failure = e
                    }
                }
                pending = pending.filter { r in !group.contains { $0 === r } }[...]
            }
            // Units that speculate verify together (ModelUnitExecutor+Speculation); the others share plain steps.
            let speculating = active.filter { $0.failure == nil && $0.speculation != nil }
            if !speculating.isEmpty {
                decodeSpeculatively(speculating, prompt: k, logits: logits, engine: engine, events: events, isCancelled: isCancelled)
            }
            // Shared decode steps.
            var stepping = active.filter { $0.failure == nil && !$0.finished && $0.speculation == nil }
            var next: [ObjectIdentifier: [Int32]] = [:]
            while !stepping.isEmpty {
                for run in stepping {
                    let tokens: [Int32]
                    do {
                        tokens = try logits[ObjectIdentifier(run)]!.withUnsafeBufferPointer { try run.step($0, tokenizer: tokenizer) }
                    } catch {
                        run.failure = error
                        run.finished = true
                        continue
                    }
                    if run.finished { continue }
                    events(run.work.unitID, .decode(promptIndex: k, generatedTokens: run.generated.count))
                    if isCancelled(run.work.unitID) { run.failure = CancellationError(); run.finished = true; continue }
                    next[ObjectIdentifier(run)] = tokens
                }
                stepping.removeAll { $0.finished }
                guard !stepping.isEmpty else { break }
                let (views, seconds) = timed { try context.forward(stepping.map { ForwardRequest($0.sequence, tokens: next[ObjectIdentifier($0)]!) }) }
                for (i, run) in stepping.enumerated() {
                    run.decodeSeconds += seconds / Double(stepping.count)
                    switch views {
                    case let .success(v): logits[ObjectIdentifier(run)] = Array(v[i].last)
                    case let .failure(e): run.failure = e; run.finished = true
                    }
                }
                stepping.removeAll { $0.finished }
            }
            for run in active where run.failure == nil {
                run.outcomes.append(PromptOutcome(text: run.answerText(tokenizer: tokenizer),
                                                  promptTokenCount: run.tails[k].count, generatedTokenCount: run.generated.count,
                                                  prefillSeconds: run.prefillSeconds, decodeSeconds: run.decodeSeconds,
                                                  finishReason: run.stoppedAtEnd ? .stop : .length))
                // Without reuse every prompt would prefill the document again, at the rate measured here.
                run.baseline += run.documentSeconds + run.prefillSeconds
                events(run.work.unitID, .promptFinished(promptIndex: k))
            }
        }
    }

    private func timed<T>(_ body: () throws -> T) -> (Result<T, any Error>, Double) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = Result { try body() }
        return (r, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
}

/// A unit's token ids, as planning made them and execution uses them.
struct TokenizedUnit: Sendable {
    let tails: [[Int32]]
    let promptIndices: [Int]
    let document: [Int32]
    let kept: [Int32]
    let truncation: Truncation?
    /// Template head + kept document: the KV every prompt starts from.
    let prefix: [Int32]
    var workload: UnitWorkload { UnitWorkload(documentTokens: prefix.count, promptTokens: tails.map(\.count), maxNewTokens: maxNewTokens) }
    let maxNewTokens: Int
}

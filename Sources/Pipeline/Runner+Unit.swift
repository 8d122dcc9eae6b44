// One unit, from lease to record: lease → read the document → plan (the executor's `plan`: a
// value) → execute(plan) → record outputs, metrics and the plan's route. Failures of the unit's
// data or of the engine are recorded on the unit (retried up to `maxAttempts`); store failures
// are thrown to the caller.
import Foundation
import Store

extension Runner {
    /// A leased unit whose document was read and checked, ready for the executor.
    struct PreparedUnit {
        let leased: LeasedUnit
        let work: UnitWork
        let text: DocumentText
        let heartbeat: Heartbeat
        let started: Date
    }

    func process(_ leased: LeasedUnit, _ summary: inout RunSummary) throws {
        guard let unit = try prepare(leased, &summary) else { return }
        defer { unit.heartbeat.stop() }
        guard let planned = try plan(unit, &summary) else { return }
        let stop = self.stop, lost = unit.heartbeat.lost, observe = self.observe, unitID = leased.lease.unitID
        let result = Result {
            try executor.execute(planned, events: { observe(.unitProgress(unitID: unitID, $0)) },
                                 isCancelled: { stop.isRaised || lost.isRaised })
        }
        try finish(unit, planned.plan, result, &summary)
    }

    /// The executor's plan for a prepared unit; nil when planning failed (recorded on the unit).
    private func plan(_ unit: PreparedUnit, _ summary: inout RunSummary) throws -> PlannedUnit? {
        do {
            return try executor.plan(unit.work)
        } catch {
            try finish(unit, nil, .failure(error), &summary)
            return nil
        }
    }

    /// Leases of several units run together (`BatchUnitExecutor`): each document prefilled, their
    /// prompts decoded in shared batches. Each unit is still checked, recorded and failed on its own.
    func processBatch(_ leasedUnits: [LeasedUnit], executor batchExecutor: any BatchUnitExecutor, _ summary: inout RunSummary) throws {
        var units: [(unit: PreparedUnit, planned: PlannedUnit)] = []
        var prepared: [PreparedUnit] = []
        defer { for u in prepared { u.heartbeat.stop() } }
        for leased in leasedUnits {
            guard let u = try prepare(leased, &summary) else { continue }
            prepared.append(u)
            if let p = try plan(u, &summary) { units.append((u, p)) }
        }
        guard !units.isEmpty else { return }
        let stop = self.stop, observe = self.observe
        let lost = Dictionary(uniqueKeysWithValues: units.map { ($0.unit.leased.lease.unitID, $0.unit.heartbeat.lost) })
        let results = batchExecutor.execute(batch: units.map(\.planned),
                                            events: { unitID, event in observe(.unitProgress(unitID: unitID, event)) },
                                            isCancelled: { unitID in stop.isRaised || lost[unitID]?.isRaised == true })
        for (u, result) in zip(units, results) { try finish(u.unit, u.planned.plan, result, &summary) }
    }

    /// Announces the unit, gives up on abandoned ones, reads and checks its document, starts its
    /// heartbeat. nil when the unit was recorded as failed instead.
    private func prepare(_ leased: LeasedUnit, _ summary: inout RunSummary) throws -> PreparedUnit? {
        let lease = leased.lease
        let document = leased.document.path
        observe(.unitStarted(UnitStart(unitID: lease.unitID, jobID: leased.job.id, jobName: leased.job.name,
                                       documentPath: document, attempt: lease.attempt,
                                       promptCount: leased.job.promptCount, previousOwner: leased.previousOwner)))
        // Its previous runners all died holding it: give up rather than crash forever.
        if lease.attempt > options.maxAttempts || leased.unit.abandonedLeases >= options.maxAbandonedLeases {
            try recordFailure(.unitAbandoned(document: document, attempts: lease.attempt - 1), lease, &summary, final: true)
            return nil
        }
        let started = Date()
        do {
            let spec = try spec(of: leased.job)
            let text = try DocumentReader.read(document, expectedHash: leased.document.contentHash)
            let heartbeat = Heartbeat(store: store, lease: lease, leaseSeconds: options.leaseSeconds,
                                      interval: options.heartbeatSeconds)
            return PreparedUnit(leased: leased, work: unitWork(leased, spec: spec, text: text.text), text: text,
                                heartbeat: heartbeat, started: started)
        } catch let error as PipelineError {
            try recordFailure(error, lease, &summary)
            return nil
        }
    }

    /// Records what the executor returned for one unit: outputs, metrics and the plan's route in
    /// one lease-checked transaction, or the failure, or a release when it was cancelled.
    private func finish(_ unit: PreparedUnit, _ plan: UnitPlan?, _ result: Result<UnitOutcome, any Error>,
                        _ summary: inout RunSummary) throws {
        let lease = unit.leased.lease, unitID = lease.unitID, work = unit.work
        unit.heartbeat.stop()
        let outcome: UnitOutcome
        do {
            outcome = try result.get()
            try Self.check(outcome, for: work)
        } catch is CancellationError {
            if unit.heartbeat.lost.isRaised {
                summary.leasesLost += 1
                observe(.leaseLost(unitID: unitID))
            } else if try ignoringLostLease(&summary, unitID, { try store.release(lease) }) {
                summary.unitsReleased += 1
                observe(.unitReleased(unitID: unitID))
            }
            return
        } catch let error as PipelineError {
            try recordFailure(error, lease, &summary)
            return
        } catch {
            try recordFailure(.executorFailed(document: work.documentPath, detail: String(describing: error)), lease, &summary)
            return
        }

        let metrics = Self.metrics(outcome, plan: plan, unitID: unitID, contentHash: unit.text.contentHash,
                                   wallSeconds: Date().timeIntervalSince(unit.started), runner: options.owner)
        let outputs = zip(work.promptIndices, outcome.prompts).map { index, prompt in
            OutputRecord(unitID: unitID, promptIndex: index, prompt: work.spec.prompts[index], text: prompt.text,
                         promptTokenCount: prompt.promptTokenCount, generatedTokenCount: prompt.generatedTokenCount,
                         prefillSeconds: prompt.prefillSeconds, decodeSeconds: prompt.decodeSeconds,
                         finishReason: prompt.finishReason.rawValue)
        }
        let written = try ignoringLostLease(&summary, unitID) {
            try store.complete(lease, outputs: outputs, metrics: metrics)
        }
        guard written else { return }
        summary.unitsDone += 1
        summary.tokensIn += metrics.tokensIn
        summary.tokensOut += metrics.tokensOut
        observe(.unitCompleted(unitID: unitID, metrics: metrics))
    }

    private func unitWork(_ leased: LeasedUnit, spec: JobSpec, text: String) -> UnitWork {
        UnitWork(jobID: leased.job.id, jobName: leased.job.name, unitID: leased.lease.unitID,
                 attempt: leased.lease.attempt, documentPath: leased.document.path, documentText: text, spec: spec,
                 memoryBudgetMB: options.memoryBudgetMB ?? spec.memoryBudgetMB,
                 modelPath: leased.job.modelPath ?? options.modelPath, threads: options.threads)
    }

    /// The job's spec, decoded once per run.
    func spec(of job: JobRecord) throws -> JobSpec {
        if let known = specs.withLock({ $0[job.id] }) { return known }
        let spec = try JobSpec.stored(job.specJSON, jobID: job.id)
        specs.withLock { $0[job.id] = spec }
        return spec
    }

    /// Records a failed attempt: final after `maxAttempts` (or when `final`). The error is stored as JSON.
    private func recordFailure(_ error: PipelineError, _ lease: LeaseRecord, _ summary: inout RunSummary, final: Bool = false) throws {
        let final = final || lease.attempt >= options.maxAttempts
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(error)).map { String(decoding: $0, as: UTF8.self) } ?? "\(error)"
        let written = try ignoringLostLease(&summary, lease.unitID) { try store.fail(lease, error: json, final: final) }
        guard written else { return }
        if final { summary.unitsFailed += 1 } else { summary.unitsRetried += 1 }
        observe(.unitFailed(unitID: lease.unitID, error: error, final: final))
    }

    /// Runs a lease-checked write; a lost lease is reported and swallowed (false), nothing written.
    private func ignoringLostLease(_ summary: inout RunSummary, _ unitID: Int64, _ write: () throws -> Void) throws -> Bool {
        do {
            try write()
            return true
        } catch StoreError.leaseLost {
            summary.leasesLost += 1
            observe(.leaseLost(unitID: unitID))
            return false
        }
    }

    static func check(_ outcome: UnitOutcome, for work: UnitWork) throws {
        let violation: String?
        if outcome.prompts.count != work.promptIndices.count {
            violation = "returned \(outcome.prompts.count) outputs for \(work.promptIndices.count) prompts"
        } else if outcome.prompts.contains(where: { $0.promptTokenCount < 0 || $0.generatedTokenCount < 0 }) {
            violation = "returned a negative token count"
        } else if outcome.measurements.keptTokenCount > outcome.measurements.documentTokenCount {
            violation = "kept more document tokens than the document has"
        } else {
            violation = nil
        }
        if let violation { throw PipelineError.executorContractViolated(document: work.documentPath, detail: violation) }
    }

    static func metrics(_ outcome: UnitOutcome, plan: UnitPlan?, unitID: Int64, contentHash: String, wallSeconds: Double,
                        runner: String) -> MetricsRecord {
        let m = outcome.measurements
        let promptTokens = outcome.prompts.reduce(0) { $0 + $1.promptTokenCount }
        let generated = outcome.prompts.reduce(0) { $0 + $1.generatedTokenCount }
        let prefillSeconds = m.documentPrefillSeconds + outcome.prompts.reduce(0) { $0 + $1.prefillSeconds }
        let decodeSeconds = outcome.prompts.reduce(0) { $0 + $1.decodeSeconds }
        let tokensIn = m.keptTokenCount + promptTokens
        var record = MetricsRecord(
            unitID: unitID, contentHash: contentHash, documentTokenCount: m.documentTokenCount,
            keptTokenCount: m.keptTokenCount, truncatedHeadTokens: m.truncation?.headTokens,
            truncatedTailTokens: m.truncation?.tailTokens, tokensIn: tokensIn, tokensOut: generated,
            prefillSeconds: prefillSeconds, prefillTokensPerSecond: rate(tokensIn, prefillSeconds),
            decodeSeconds: decodeSeconds, decodeTokensPerSecond: rate(generated, decodeSeconds),
            documentPrefillSeconds: m.documentPrefillSeconds, perPromptPrefillSeconds: m.perPromptPrefillSeconds,
            peakMemoryBytes: m.peakMemoryBytes, strategyMix: m.strategyMix.label, kvBytesInMemory: m.kvBytesInMemory,
            kvBytesOnDisk: m.kvBytesOnDisk, wallSeconds: wallSeconds, runner: runner)
        record.kvSnapshot = m.kvSnapshot.rawValue
        record.batchSize = m.batchSize
        record.kvPeakResidentBytes = m.kvPeakResidentBytes
        record.predictedSeconds = plan?.prediction?.seconds
        record.predictedPrefillSeconds = plan?.prediction?.prefillSeconds
        record.predictedDecodeSeconds = plan?.prediction?.decodeSeconds
        record.predictedPeakMemoryBytes = plan?.prediction?.peakMemoryBytes
        record.routeReason = plan?.reason
        if let s = m.speculation {
            record.speculationSource = m.speculationSource
            record.draftedTokens = s.draftedTokenCount
            record.acceptedTokens = s.acceptedTokenCount
            record.verificationPasses = s.verificationPassCount
            record.draftingPasses = s.draftingPassCount
        }
        return record
    }

    static func rate(_ tokens: Int, _ seconds: Double) -> Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

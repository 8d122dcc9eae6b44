// The narrow interface between the runner and the inference engine: plan one unit (job ×
// document), then run every prompt of it as planned. The runner owns leasing, reading and
// validating the document, heartbeats, retries and recording; it asks the executor for the plan
// (the executor knows the tokenizer, the context length and the model's shape) and hands that
// value back to `execute`, so the decision is made once, before anything runs, and recorded
// with the unit.
//
// Contract, for an implementation on the real model:
// 1. `plan`: tokenize `work.documentText`; apply `work.spec.overflow` with
//    `OverflowPolicy.apply(to:limit:documentPath:)` (`fail` throws `PipelineError.documentTooLong`;
//    `truncate-middle` keeps head and tail), where the limit leaves room for the longest prompt
//    and `spec.maxNewTokens`; choose the mix (`UnitPlanning`) and check it against the model.
//    No side effects: `pipeline plan` calls it too.
// 2. `execute`: prefill the kept document tokens ONCE; then for each prompt, in order: append the prompt's
//    tokens after the document's KV, decode up to `spec.maxNewTokens`, then roll the KV back to the
//    document's end. Report `perPromptPrefillSeconds`: what prefilling document + prompt afresh for
//    every prompt would have cost (measured or estimated from the measured prefill rate), so the
//    saving of KV reuse is recorded per unit.
// 3. Call `isCancelled()` between prompts and between decode steps (and prefill chunks); when it
//    returns true, stop and throw `CancellationError()`: the runner releases the unit untouched.
// 4. Send `events` as work progresses (the progress display); they are advisory and cheap.
// 5. Return one `PromptOutcome` per prompt, in prompt order, and the unit's measurements. Throw
//    `PipelineError` for failures of the unit's data, anything else for engine failures: either
//    way the unit is retried, and marked failed after its third failed attempt.
import Foundation

public protocol UnitExecutor: Sendable {
    /// The decision for one unit, as a value: what will run and why (contract point 1).
    func plan(_ work: UnitWork) throws -> PlannedUnit
    /// Runs a unit as `plan` decided (contract points 2–5).
    func execute(_ unit: PlannedUnit, events: @Sendable (UnitEvent) -> Void,
                 isCancelled: @Sendable () -> Bool) throws -> UnitOutcome
}

/// An executor that can run several units together: every document is prefilled on its own,
/// then the units' prompts are decoded in shared batches (one weight read per step for all).
/// Returns one result per unit, in order; a unit's failure or cancellation does not stop the others.
public protocol BatchUnitExecutor: UnitExecutor {
    func execute(batch: [PlannedUnit], events: @Sendable (Int64, UnitEvent) -> Void,
                 isCancelled: @Sendable (Int64) -> Bool) -> [Result<UnitOutcome, any Error>]
}

extension UnitExecutor {
    /// Plans and runs one unit (tests and tools; the runner plans and executes as two steps).
    public func execute(_ work: UnitWork, events: @Sendable (UnitEvent) -> Void,
                        isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        try execute(plan(work), events: events, isCancelled: isCancelled)
    }
}

extension BatchUnitExecutor {
    /// Plans every unit, then runs those that planned together; a unit that cannot be planned
    /// gets its planning error as its result.
    public func execute(batch works: [UnitWork], events: @Sendable (Int64, UnitEvent) -> Void,
                        isCancelled: @Sendable (Int64) -> Bool) -> [Result<UnitOutcome, any Error>] {
        let planned = works.map { w in Result { try plan(w) } }
        var ran = execute(batch: planned.compactMap { try? $0.get() }, events: events, isCancelled: isCancelled)[...]
        return planned.map { p in
            switch p {
            case .success: ran.popFirst()!
            case .failure(let error): .failure(error)
            }
        }
    }
}

/// Everything one unit needs: the job's validated spec (prompts, generation settings, fidelity,
/// strategy, overflow policy) and the values the runner resolved for this run.
public struct UnitWork: Sendable, Equatable {
    public var jobID: String
    public var jobName: String
    public var unitID: Int64
    /// 1 for the first try of this unit.
    public var attempt: Int
    public var documentPath: String
    /// The document, already read and checked to be non-empty UTF-8 text (BOM removed).
    public var documentText: String
    /// The job as submitted: `prompts`, `maxNewTokens`, `temperature`, `seed`, `fidelity`,
    /// `strategy`, `overflow`. Its `memoryBudgetMB` and `model` are resolved below.
    public var spec: JobSpec
    /// The budget to use: `pipeline run --memory-budget-mb` when given, else the job's.
    public var memoryBudgetMB: Int
    /// The job's `model` resolved against its job file, else the runner's `--model`.
    public var modelPath: String
    /// `pipeline run --threads`, when given.
    public var threads: Int?

    public init(jobID: String, jobName: String, unitID: Int64, attempt: Int, documentPath: String, documentText: String,
                spec: JobSpec, memoryBudgetMB: Int, modelPath: String, threads: Int?) {
        self.jobID = jobID
        self.jobName = jobName
        self.unitID = unitID
        self.attempt = attempt
        self.documentPath = documentPath
        self.documentText = documentText
        self.spec = spec
        self.memoryBudgetMB = memoryBudgetMB
        self.modelPath = modelPath
        self.threads = threads
    }
}

/// Progress of one unit, for the display. Counts are cumulative within the unit.
public enum UnitEvent: Sendable, Equatable {
    /// The document is tokenized: its token count, and how many are kept after the overflow policy.
    case tokenized(documentTokens: Int, keptTokens: Int)
    /// Document prefill progress.
    case prefill(doneTokens: Int, totalTokens: Int)
    /// Decode progress of one prompt.
    case decode(promptIndex: Int, generatedTokens: Int)
    /// One prompt finished.
    case promptFinished(promptIndex: Int)
}

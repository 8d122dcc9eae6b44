// The batch store: jobs, their documents and work units, leases, outputs and metrics.
//
// A work unit is one (job, document). Its life: `pending` → leased by one runner (`leased`, with a
// lease row that expires unless renewed) → `done` (outputs + metrics written in the same
// transaction that checks the lease) or back to `pending` (failure with attempts left, or a clean
// release) or `failed` (attempts exhausted). The runner and the CLI see only this protocol;
// `SQLiteStore` implements it, and `PostgresStore` (target PostgresStore) for many machines.
import Foundation

public protocol Store: Sendable {
    // MARK: Jobs

    /// Records a job and one unit per document. Idempotent: a job id already present keeps its
    /// units; only documents it did not have yet are added.
    func submit(_ submission: JobSubmission) throws -> SubmitReceipt

    /// The job with this id, or else the latest job with this name; `StoreError.jobNotFound`.
    func job(_ reference: String) throws -> JobRecord

    /// Every job, oldest first.
    func jobs() throws -> [JobRecord]

    // MARK: Leasing (runners)

    /// Units that `leaseNextUnit` could hand out now: pending, or leased with an expired lease.
    func leasableUnitCount() throws -> Int

    /// Leases one unit in a single write transaction, so that two runners never get the same unit:
    /// a pending unit, or one whose lease expired (its runner died). Increments its attempts.
    func leaseNextUnit(owner: String, leaseSeconds: Double) throws -> LeasedUnit?

    /// Extends a lease that is still ours; `StoreError.leaseLost` when it is not.
    @discardableResult
    func renew(_ lease: LeaseRecord, leaseSeconds: Double) throws -> LeaseRecord

    /// In one transaction: checks the lease is still ours (else `StoreError.leaseLost`, writing
    /// nothing), writes the outputs and metrics, marks the unit done and drops the lease.
    func complete(_ lease: LeaseRecord, outputs: [OutputRecord], metrics: MetricsRecord) throws

    /// Records a failed attempt: the unit goes back to pending, or to failed when `final`.
    func fail(_ lease: LeaseRecord, error: String, final: Bool) throws

    /// Gives the unit back untouched (cancelled run): pending again, the attempt not counted.
    func release(_ lease: LeaseRecord) throws

    // MARK: Reading (status, results; never blocked by a writing runner)

    /// Aggregates per job (all jobs when `jobID` is nil), oldest job first.
    func statistics(jobID: String?) throws -> [JobStatistics]

    /// The units of a job with their state and last error, in unit order.
    func units(jobID: String) throws -> [UnitSummary]

    /// Every output of a job: one record per (unit, prompt), in unit then prompt order.
    func results(jobID: String) throws -> [ResultRecord]

    /// The metrics of a job's done units with their documents, in unit order (`pipeline report`).
    func metrics(jobID: String) throws -> [UnitMetrics]

    /// The most recently finished units' metrics with their job's spec, newest first (the refit's data).
    func recordedUnits(limit: Int) throws -> [RecordedUnit]

    // MARK: Calibration (eval, router)

    /// Appends a fidelity measurement; returns it with its id.
    @discardableResult
    func record(_ calibration: CalibrationRecord) throws -> CalibrationRecord

    /// Every calibration row, oldest first.
    func calibrations() throws -> [CalibrationRecord]

    // MARK: Machine profiles (calibrate, refit → router)

    /// Appends a machine profile (Planner's `MachineProfile` as JSON: the store keeps it opaque)
    /// measured with `threads` threads; `source` is "calibrate" or "refit".
    func saveMachineProfile(json: Data, threads: Int, source: String) throws

    /// The newest profile's JSON, of any thread count when `threads` is nil; nil when none.
    func latestMachineProfile(threads: Int?) throws -> Data?

    // MARK: Fleet (status by host, moving a store)

    /// Leases not yet expired, by unit (`status` groups them by host).
    func activeLeases() throws -> [ActiveLease]

    /// Every row, in one read transaction; `StoreError.copyRefused` while a lease is live.
    func snapshot() throws -> StoreSnapshot

    /// Writes a snapshot into this store, ids kept, in one transaction; `StoreError.copyRefused`
    /// unless this store holds no job, unit, calibration or profile yet.
    func restore(_ snapshot: StoreSnapshot) throws
}

/// A done unit's metrics with its document.
public struct UnitMetrics: Sendable, Hashable {
    public var documentPath: String
    public var metrics: MetricsRecord
    /// When the unit was recorded done (its wall time ends there).
    public var finishedAt: Date?

    public init(documentPath: String, metrics: MetricsRecord, finishedAt: Date? = nil) {
        self.documentPath = documentPath
        self.metrics = metrics
        self.finishedAt = finishedAt
    }

    /// Seconds the job was being worked on: the union of its units' wall-time intervals (units
    /// leased together overlap, so their wall times are not added). Units without a finish time
    /// count their wall time alone.
    public static func busySeconds(_ units: [UnitMetrics]) -> Double {
        busySeconds(spans: units.map { ($0.metrics.wallSeconds, $0.finishedAt) })
    }

    /// `busySeconds` over (wall seconds, finish time) pairs: what the stores' job statistics sum.
    public static func busySeconds(spans units: [(wallSeconds: Double, finishedAt: Date?)]) -> Double {
        var spans = units.compactMap { u in u.finishedAt.map { ($0.timeIntervalSince1970 - u.wallSeconds, $0.timeIntervalSince1970) } }
            .sorted { $0.0 < $1.0 }
        var total = units.filter { $0.finishedAt == nil }.reduce(0) { $0 + $1.wallSeconds }
        guard var current = spans.first else { return total }
        spans.removeFirst()
        for span in spans {
            if span.0 <= current.1 { current.1 = max(current.1, span.1) } else { total += current.1 - current.0; current = span }
        }
        return total + current.1 - current.0
    }
}

/// A done unit's metrics with what its job asked for.
public struct RecordedUnit: Sendable, Hashable {
    public var metrics: MetricsRecord
    /// The job's canonical spec (JSON): max_new_tokens, prompts, fidelity, strategy.
    public var specJSON: String
    public var promptCount: Int

    public init(metrics: MetricsRecord, specJSON: String, promptCount: Int) {
        self.metrics = metrics
        self.specJSON = specJSON
        self.promptCount = promptCount
    }
}

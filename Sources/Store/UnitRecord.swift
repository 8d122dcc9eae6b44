import Foundation

/// Where a work unit is in its life (see Store.swift).
public enum UnitState: String, Codable, Sendable, CaseIterable {
    case pending, leased, done, failed
}

/// One work unit: a (job, document) pair. All prompts of the job run over the document in one unit.
public struct UnitRecord: Codable, Hashable, Sendable {
    public var id: Int64?
    public var jobID: String
    public var documentID: Int64
    public var state: UnitState
    /// Leases taken so far (a released lease is given back).
    public var attempts: Int
    /// The last failure, as the runner encoded it (JSON of a `PipelineError`).
    public var lastError: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Leases of this unit that expired with their runner (killed or crashed mid-unit) and were
    /// taken over. The runner gives up on a unit after two (`RunnerOptions.maxAbandonedLeases`).
    public var abandonedLeases: Int = 0

    enum CodingKeys: String, CodingKey {
        case id, state, attempts
        case jobID = "job_id", documentID = "document_id", lastError = "last_error", createdAt = "created_at"
        case startedAt = "started_at", finishedAt = "finished_at", abandonedLeases = "abandoned_leases"
    }

    public init(id: Int64? = nil, jobID: String, documentID: Int64, state: UnitState = .pending, attempts: Int = 0,
                lastError: String? = nil, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil) {
        self.id = id
        self.jobID = jobID
        self.documentID = documentID
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

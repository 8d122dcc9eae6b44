import Foundation

/// A validated job ready to be recorded: the Pipeline target parses and canonicalises the job
/// file, resolves its document patterns and fingerprints the documents; the store only records.
public struct JobSubmission: Sendable, Equatable {
    public var job: JobRecord
    /// Resolved documents, in unit order; duplicates are ignored.
    public var documents: [DocumentRecord]

    public init(job: JobRecord, documents: [DocumentRecord]) {
        self.job = job
        self.documents = documents
    }
}

/// What `submit` did.
public struct SubmitReceipt: Sendable, Equatable {
    public var jobID: String
    /// False when a job with this id was already there (the same content was submitted before).
    public var created: Bool
    /// Units added by this call (0 for a plain resubmission).
    public var unitsAdded: Int
    /// Units the job has now.
    public var unitCount: Int

    public init(jobID: String, created: Bool, unitsAdded: Int, unitCount: Int) {
        self.jobID = jobID
        self.created = created
        self.unitsAdded = unitsAdded
        self.unitCount = unitCount
    }
}

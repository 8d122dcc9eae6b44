import Foundation

/// One submitted job: its canonical spec (JSON, as validated by the Pipeline target) and hash.
/// Its id is derived from the hash, so the same content is the same job.
public struct JobRecord: Codable, Hashable, Sendable {
    public var id: String
    /// Submission order; "the latest job with a name" is the one with the highest sequence.
    public var sequence: Int64?
    public var name: String
    public var specJSON: String
    public var specHash: String
    /// The job file as submitted (absolute path).
    public var sourcePath: String
    /// The `model` field resolved against the job file's folder; nil means the runner's default.
    public var modelPath: String?
    public var promptCount: Int
    public var submittedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, sequence, name
        case specJSON = "spec_json", specHash = "spec_hash", sourcePath = "source_path", modelPath = "model_path"
        case promptCount = "prompt_count", submittedAt = "submitted_at"
    }

    public init(id: String, sequence: Int64? = nil, name: String, specJSON: String, specHash: String,
                sourcePath: String, modelPath: String?, promptCount: Int, submittedAt: Date) {
        self.id = id
        self.sequence = sequence
        self.name = name
        self.specJSON = specJSON
        self.specHash = specHash
        self.sourcePath = sourcePath
        self.modelPath = modelPath
        self.promptCount = promptCount
        self.submittedAt = submittedAt
    }
}

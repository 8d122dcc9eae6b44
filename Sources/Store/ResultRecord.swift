import Foundation

/// One output joined with its unit's document: a line of `pipeline results`.
public struct ResultRecord: Codable, Hashable, Sendable {
    public var jobID: String
    public var unitID: Int64
    public var documentPath: String
    public var output: OutputRecord
    /// The mix the unit ran and why.
    public var strategyMix: String?
    public var routeReason: String?

    public init(jobID: String, unitID: Int64, documentPath: String, output: OutputRecord) {
        self.jobID = jobID
        self.unitID = unitID
        self.documentPath = documentPath
        self.output = output
    }
}

import Foundation

/// A unit as `status JOB` lists it.
public struct UnitSummary: Codable, Hashable, Sendable {
    public var unitID: Int64
    public var documentPath: String
    public var state: UnitState
    public var attempts: Int
    public var lastError: String?
    /// The current lease holder, when leased.
    public var leaseOwner: String?
    public var tokenCount: Int?
    /// The mix the unit ran and why (done units).
    public var strategyMix: String?
    public var routeReason: String?

    public init(unitID: Int64, documentPath: String, state: UnitState, attempts: Int, lastError: String?,
                leaseOwner: String?, tokenCount: Int?) {
        self.unitID = unitID
        self.documentPath = documentPath
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.leaseOwner = leaseOwner
        self.tokenCount = tokenCount
    }
}

import Foundation

/// A runner's claim on one unit. At most one per unit (the unit id is the key). `token` is new
/// for every lease, so a runner whose lease expired and was retaken can never write for the new
/// holder: every write checks the token.
public struct LeaseRecord: Codable, Hashable, Sendable {
    public var unitID: Int64
    public var token: String
    /// Who holds it: host, pid and a random part (`RunnerIdentity`).
    public var owner: String
    /// The unit's attempt number this lease is (1 for the first lease).
    public var attempt: Int
    public var acquiredAt: Date
    public var renewedAt: Date
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case token, owner, attempt
        case unitID = "unit_id", acquiredAt = "acquired_at", renewedAt = "renewed_at", expiresAt = "expires_at"
    }

    public init(unitID: Int64, token: String, owner: String, attempt: Int, acquiredAt: Date, renewedAt: Date,
                expiresAt: Date) {
        self.unitID = unitID
        self.token = token
        self.owner = owner
        self.attempt = attempt
        self.acquiredAt = acquiredAt
        self.renewedAt = renewedAt
        self.expiresAt = expiresAt
    }
}

import Foundation

/// Everything a store holds, for `pipeline store copy` (moving a store to another backend):
/// rows with their ids, so that outputs and metrics keep pointing at their units. Leased units
/// are exported as pending (their attempt given back), as a release would leave them.
public struct StoreSnapshot: Sendable, Equatable {
    public var jobs: [JobRecord] = []
    public var documents: [DocumentRecord] = []
    public var units: [UnitRecord] = []
    public var outputs: [OutputRecord] = []
    public var metrics: [MetricsRecord] = []
    public var calibrations: [CalibrationRecord] = []
    public var machineProfiles: [MachineProfileRow] = []

    public init() {}
}

/// One stored machine profile (the store keeps the JSON opaque).
public struct MachineProfileRow: Sendable, Equatable {
    public var id: Int64
    public var measuredAt: Date
    public var threads: Int
    public var json: String
    public var source: String

    public init(id: Int64, measuredAt: Date, threads: Int, json: String, source: String) {
        self.id = id
        self.measuredAt = measuredAt
        self.threads = threads
        self.json = json
        self.source = source
    }
}

/// A lease held now (not expired), for `status`: which machine runs what.
public struct ActiveLease: Sendable, Equatable {
    public var unitID: Int64
    public var jobID: String
    public var owner: String
    public var expiresInSeconds: Double

    public init(unitID: Int64, jobID: String, owner: String, expiresInSeconds: Double) {
        self.unitID = unitID
        self.jobID = jobID
        self.owner = owner
        self.expiresInSeconds = expiresInSeconds
    }

    /// The host part of a runner identity (`host:pid:random`, `RunnerOptions.makeOwner`).
    public var host: String {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count >= 3 ? parts.dropLast(2).joined(separator: ":") : owner
    }
}

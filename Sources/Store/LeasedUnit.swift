import Foundation

/// What `leaseNextUnit` hands a runner: the lease and everything needed to run the unit.
public struct LeasedUnit: Sendable, Equatable {
    public var lease: LeaseRecord
    public var unit: UnitRecord
    public var job: JobRecord
    public var document: DocumentRecord
    /// The owner of the expired lease this one replaces, if the previous runner died.
    public var previousOwner: String?

    public init(lease: LeaseRecord, unit: UnitRecord, job: JobRecord, document: DocumentRecord, previousOwner: String?) {
        self.lease = lease
        self.unit = unit
        self.job = job
        self.document = document
        self.previousOwner = previousOwner
    }
}

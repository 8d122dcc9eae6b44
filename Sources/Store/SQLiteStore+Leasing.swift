// Leases: how runners share the units without doing one twice.
//
// Leasing is one write transaction (BEGIN IMMEDIATE): pick a pending unit or one whose lease has
// expired, replace its lease row with ours (new random token), count the attempt. Every later write
// for the unit — renew, complete, fail, release — first checks that the lease row still carries our
// token, in the same transaction, and changes nothing when it does not (`StoreError.leaseLost`).
import Foundation
import GRDB

extension SQLiteStore {
    public func leasableUnitCount() throws -> Int {
        let timestamp = now()
        return try read("count leasable units") { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM unit LEFT JOIN lease ON lease.unit_id = unit.id
                WHERE unit.state = 'pending' OR (unit.state = 'leased' AND (lease.expires_at IS NULL OR lease.expires_at <= ?))
                """, arguments: [timestamp]) ?? 0
        }
    }

    public func leaseNextUnit(owner: String, leaseSeconds: Double) throws -> LeasedUnit? {
        try write("lease a unit") { db in
            let timestamp = now()
            // Fresh work first: units whose runners died holding them last, then fewest attempts.
            guard var unit = try UnitRecord.fetchOne(db, sql: """
                SELECT unit.* FROM unit LEFT JOIN lease ON lease.unit_id = unit.id
                WHERE unit.state = 'pending' OR (unit.state = 'leased' AND (lease.expires_at IS NULL OR lease.expires_at <= ?))
                ORDER BY unit.abandoned_leases, unit.attempts, unit.id
                LIMIT 1
                """, arguments: [timestamp]), let unitID = unit.id
            else { return nil }
            let previous = try LeaseRecord.fetchOne(db, key: unitID)
            try LeaseRecord.deleteOne(db, key: unitID)
            let lease = LeaseRecord(unitID: unitID, token: UUID().uuidString, owner: owner, attempt: unit.attempts + 1,
                                    acquiredAt: timestamp, renewedAt: timestamp,
                                    expiresAt: timestamp.addingTimeInterval(leaseSeconds))
            try lease.insert(db)
            unit.state = .leased
            unit.attempts += 1
            if previous != nil { unit.abandonedLeases += 1 }
            unit.startedAt = timestamp
            try unit.update(db)
            guard let job = try JobRecord.fetchOne(db, key: unit.jobID),
                  let document = try DocumentRecord.fetchOne(db, key: unit.documentID)
            else { throw StoreError.inconsistent(path: path, detail: "unit \(unitID) has no job or document") }
            return LeasedUnit(lease: lease, unit: unit, job: job, document: document, previousOwner: previous?.owner)
        }
    }

    @discardableResult
    public func renew(_ lease: LeaseRecord, leaseSeconds: Double) throws -> LeaseRecord {
        try write("renew lease on unit \(lease.unitID)") { db in
            var current = try checkedLease(lease, db)
            let timestamp = now()
            current.renewedAt = timestamp
            current.expiresAt = timestamp.addingTimeInterval(leaseSeconds)
            try current.update(db)
            return current
        }
    }

    public func complete(_ lease: LeaseRecord, outputs: [OutputRecord], metrics: MetricsRecord) throws {
        try write("complete unit \(lease.unitID)") { db in
            _ = try checkedLease(lease, db)
            for var output in outputs {
                output.unitID = lease.unitID
                try output.insert(db)
            }
            var metrics = metrics
            metrics.unitID = lease.unitID
            try metrics.insert(db)
            try db.execute(sql: """
                UPDATE unit SET state = 'done', last_error = NULL, finished_at = ? WHERE id = ?
                """, arguments: [now(), lease.unitID])
            try db.execute(sql: """
                UPDATE document SET token_count = ? WHERE id = (SELECT document_id FROM unit WHERE id = ?)
                """, arguments: [metrics.documentTokenCount, lease.unitID])
            try LeaseRecord.deleteOne(db, key: lease.unitID)
        }
    }

    public func fail(_ lease: LeaseRecord, error: String, final: Bool) throws {
        try write("record failure of unit \(lease.unitID)") { db in
            _ = try checkedLease(lease, db)
            let state: UnitState = final ? .failed : .pending
            try db.execute(sql: "UPDATE unit SET state = ?, last_error = ?, finished_at = ? WHERE id = ?",
                           arguments: [state.rawValue, error, final ? now() : nil, lease.unitID])
            try LeaseRecord.deleteOne(db, key: lease.unitID)
        }
    }

    public func release(_ lease: LeaseRecord) throws {
        try write("release unit \(lease.unitID)") { db in
            _ = try checkedLease(lease, db)
            try db.execute(sql: "UPDATE unit SET state = 'pending', attempts = max(attempts - 1, 0) WHERE id = ?",
                           arguments: [lease.unitID])
            try LeaseRecord.deleteOne(db, key: lease.unitID)
        }
    }

    /// The lease row for this unit if it still carries our token; else `leaseLost`. An expired
    /// lease that nobody took over is still ours: the work is not lost.
    private func checkedLease(_ lease: LeaseRecord, _ db: Database) throws -> LeaseRecord {
        guard let current = try LeaseRecord.fetchOne(db, key: lease.unitID), current.token == lease.token else {
            throw StoreError.leaseLost(unitID: lease.unitID, owner: lease.owner)
        }
        return current
    }
}

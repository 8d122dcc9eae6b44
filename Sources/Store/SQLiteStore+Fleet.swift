// Live leases (status by host) and whole-store snapshots (store copy) on SQLite.
import Foundation
import GRDB

extension SQLiteStore {
    public func activeLeases() throws -> [ActiveLease] {
        let timestamp = now()
        return try read("read leases") { db in
            try Row.fetchAll(db, sql: """
                SELECT l.unit_id, u.job_id, l.owner, l.expires_at FROM lease l JOIN unit u ON u.id = l.unit_id
                WHERE l.expires_at > ? ORDER BY l.unit_id
                """, arguments: [timestamp]).map { row in
                let expires: Date = row["expires_at"]
                return ActiveLease(unitID: row["unit_id"], jobID: row["job_id"], owner: row["owner"],
                                   expiresInSeconds: expires.timeIntervalSince(timestamp))
            }
        }
    }

    public func snapshot() throws -> StoreSnapshot {
        let timestamp = now()
        return try read("read the whole store") { db in
            let live = try Int.fetchOne(db, sql: "SELECT count(*) FROM lease WHERE expires_at > ?", arguments: [timestamp]) ?? 0
            if live > 0 { throw StoreError.copyRefused(reason: "\(live) units are leased by running runners: stop them (or wait for their leases to expire) first") }
            var snapshot = StoreSnapshot()
            snapshot.jobs = try JobRecord.order(Column("sequence")).fetchAll(db)
            snapshot.documents = try DocumentRecord.order(Column("id")).fetchAll(db)
            snapshot.units = try UnitRecord.order(Column("id")).fetchAll(db).map(\.releasedIfLeased)
            snapshot.outputs = try OutputRecord.order(Column("id")).fetchAll(db)
            snapshot.metrics = try MetricsRecord.order(Column("unit_id")).fetchAll(db)
            snapshot.calibrations = try CalibrationRecord.order(Column("id")).fetchAll(db)
            snapshot.machineProfiles = try Row.fetchAll(db, sql: "SELECT * FROM machine_profiles ORDER BY id").map { row in
                MachineProfileRow(id: row["id"], measuredAt: row["measured_at"], threads: row["threads"],
                                  json: row["profile_json"], source: row["source"])
            }
            return snapshot
        }
    }

    public func restore(_ snapshot: StoreSnapshot) throws {
        try write("restore a store snapshot") { db in
            let held = try Int.fetchOne(db, sql: """
                SELECT (SELECT count(*) FROM job) + (SELECT count(*) FROM unit) + (SELECT count(*) FROM calibration)
                     + (SELECT count(*) FROM machine_profiles)
                """) ?? 0
            if held > 0 { throw StoreError.copyRefused(reason: "the destination \(path) is not empty") }
            for job in snapshot.jobs { try job.insert(db) }
            for var document in snapshot.documents { try document.insert(db) }
            for var unit in snapshot.units { try unit.insert(db) }
            for var output in snapshot.outputs { try output.insert(db) }
            for metrics in snapshot.metrics { try metrics.insert(db) }
            for var calibration in snapshot.calibrations { try calibration.insert(db) }
            for profile in snapshot.machineProfiles {
                try db.execute(sql: "INSERT INTO machine_profiles (id, measured_at, threads, profile_json, source) VALUES (?, ?, ?, ?, ?)",
                               arguments: [profile.id, profile.measuredAt, profile.threads, profile.json, profile.source])
            }
        }
    }
}

extension UnitRecord {
    /// A leased unit as a release leaves it: pending, its attempt given back (for snapshots).
    public var releasedIfLeased: UnitRecord {
        guard state == .leased else { return self }
        var unit = self
        unit.state = .pending
        unit.attempts = max(attempts - 1, 0)
        return unit
    }
}

// Leases on PostgreSQL: how runners on many machines share the units without doing one twice.
//
// A claim is one statement: pick the first pending unit, or leased one whose lease expired (its
// runner died or lost the network: the takeover is the sweep), `FOR UPDATE SKIP LOCKED` so that
// concurrent claims pass each other instead of queueing, and write our lease (new random token,
// expiry = the server's now() + lease seconds) onto the row. Because the lease is on the locked
// row, PostgreSQL re-checks the row's newest version before handing it out: a unit another runner
// claimed a moment ago is skipped. Every later write for the unit — renew, complete, fail,
// release — matches the token in the same statement or transaction and changes nothing when it
// differs (`StoreError.leaseLost`).
import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    static let clearLease = """
        lease_token = NULL, lease_owner = NULL, lease_acquired_at = NULL, lease_renewed_at = NULL, lease_expires_at = NULL
        """

    public func leasableUnitCount() throws -> Int {
        try single("count leasable units") { s in
            try s.query("""
                SELECT count(*) AS n FROM unit
                WHERE state = 'pending' OR (state = 'leased' AND lease_expires_at <= now() + \(s.offset) * interval '1 second')
                """).first?.get("n", Int.self) ?? 0
        }
    }

    public func leaseNextUnit(owner: String, leaseSeconds: Double) throws -> LeasedUnit? {
        let token = UUID().uuidString
        return try single("lease a unit") { s -> LeasedUnit? in
            // Fresh work first: units whose runners died holding them last, then fewest attempts.
            guard let row = try s.query("""
                WITH picked AS (
                    SELECT id, lease_owner AS previous_owner FROM unit
                    WHERE state = 'pending' OR (state = 'leased' AND lease_expires_at <= now() + \(s.offset) * interval '1 second')
                    ORDER BY abandoned_leases, attempts, id LIMIT 1
                    FOR UPDATE SKIP LOCKED
                ), claimed AS (
                    UPDATE unit SET state = 'leased', attempts = unit.attempts + 1,
                        abandoned_leases = unit.abandoned_leases + CASE WHEN picked.previous_owner IS NULL THEN 0 ELSE 1 END,
                        started_at = now() + \(s.offset) * interval '1 second',
                        lease_token = \(token), lease_owner = \(owner),
                        lease_acquired_at = now() + \(s.offset) * interval '1 second',
                        lease_renewed_at = now() + \(s.offset) * interval '1 second',
                        lease_expires_at = now() + (\(s.offset) + \(leaseSeconds)) * interval '1 second'
                    FROM picked WHERE unit.id = picked.id
                    RETURNING unit.*, picked.previous_owner
                )
                SELECT \(unescaped: Columns.select(Columns.unit, from: "claimed", prefix: "u_")), claimed.previous_owner,
                       \(unescaped: Columns.select(Columns.job, from: "j", prefix: "j_")),
                       \(unescaped: Columns.select(Columns.document, from: "d", prefix: "d_"))
                FROM claimed JOIN job j ON j.id = claimed.job_id JOIN document d ON d.id = claimed.document_id
                """).first
            else { return nil }
            return LeasedUnit(lease: try LeaseRecord(unitRow: row, prefix: "u_"), unit: try UnitRecord(row, prefix: "u_"),
                              job: try JobRecord(row, prefix: "j_"), document: try DocumentRecord(row, prefix: "d_"),
                              previousOwner: try row.get("previous_owner"))
        }
    }

    @discardableResult
    public func renew(_ lease: LeaseRecord, leaseSeconds: Double) throws -> LeaseRecord {
        try single("renew lease on unit \(lease.unitID)") { s in
            guard let row = try s.query("""
                UPDATE unit SET lease_renewed_at = now() + \(s.offset) * interval '1 second',
                                lease_expires_at = now() + (\(s.offset) + \(leaseSeconds)) * interval '1 second'
                WHERE id = \(lease.unitID) AND state = 'leased' AND lease_token = \(lease.token)
                RETURNING *
                """).first
            else { throw StoreError.leaseLost(unitID: lease.unitID, owner: lease.owner) }
            return try LeaseRecord(unitRow: row)
        }
    }

    /// One statement, so one round trip: the lease check locks the unit row (FOR UPDATE) and every
    /// write reads from it, so nothing is written when the token does not match; the outputs and
    /// the metrics travel as JSON (`json_populate_record[set]` maps their keys onto the columns).
    public func complete(_ lease: LeaseRecord, outputs: [OutputRecord], metrics: MetricsRecord) throws {
        var m = metrics
        m.unitID = lease.unitID
        let outputsJSON = try Self.json(outputs), metricsJSON = try Self.json(m)
        try single("complete unit \(lease.unitID)") { s in
            let checked = try s.query("""
                WITH checked AS (
                    SELECT id, document_id FROM unit WHERE id = \(lease.unitID) AND state = 'leased' AND lease_token = \(lease.token)
                    FOR UPDATE
                ), written_outputs AS (
                    INSERT INTO output (unit_id, prompt_index, prompt, text, prompt_token_count, generated_token_count,
                                        prefill_seconds, decode_seconds, finish_reason)
                    SELECT checked.id, r.prompt_index, r.prompt, r.text, r.prompt_token_count, r.generated_token_count,
                           r.prefill_seconds, r.decode_seconds, r.finish_reason
                    FROM checked, json_populate_recordset(NULL::output, \(outputsJSON)::json) r
                    RETURNING 1
                ), written_metrics AS (
                    INSERT INTO metrics SELECT (json_populate_record(NULL::metrics, \(metricsJSON)::json)).* FROM checked RETURNING 1
                ), counted AS (
                    UPDATE document SET token_count = \(m.documentTokenCount) FROM checked WHERE document.id = checked.document_id
                    RETURNING 1
                ), finished AS (
                    UPDATE unit SET state = 'done', last_error = NULL, finished_at = now() + \(s.offset) * interval '1 second',
                        \(unescaped: Self.clearLease)
                    FROM checked WHERE unit.id = checked.id
                    RETURNING 1
                )
                SELECT count(*) AS n FROM checked
                """).first?.get("n", Int.self) ?? 0
            if checked == 0 { throw StoreError.leaseLost(unitID: lease.unitID, owner: lease.owner) }
        }
    }

    /// Inserts a metrics row (restore).
    func insert(_ m: MetricsRecord, _ s: Session) throws {
        try s.query("INSERT INTO metrics SELECT (json_populate_record(NULL::metrics, \(try Self.json(m))::json)).*")
    }

    /// A record as JSON with its columns' names (CodingKeys), for json_populate_record. Non-finite
    /// numbers go as the strings float8 reads ("Infinity", "NaN"), as SQLite's REAL keeps them.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func fail(_ lease: LeaseRecord, error: String, final: Bool) throws {
        try single("record failure of unit \(lease.unitID)") { s in
            let changed = try s.execute("""
                UPDATE unit SET state = \(final ? "failed" : "pending"), last_error = \(error),
                    finished_at = CASE WHEN \(final) THEN now() + \(s.offset) * interval '1 second' END,
                    \(unescaped: Self.clearLease)
                WHERE id = \(lease.unitID) AND state = 'leased' AND lease_token = \(lease.token)
                """)
            if changed == 0 { throw StoreError.leaseLost(unitID: lease.unitID, owner: lease.owner) }
        }
    }

    public func release(_ lease: LeaseRecord) throws {
        try single("release unit \(lease.unitID)") { s in
            let changed = try s.execute("""
                UPDATE unit SET state = 'pending', attempts = greatest(attempts - 1, 0), \(unescaped: Self.clearLease)
                WHERE id = \(lease.unitID) AND state = 'leased' AND lease_token = \(lease.token)
                """)
            if changed == 0 { throw StoreError.leaseLost(unitID: lease.unitID, owner: lease.owner) }
        }
    }

    public func activeLeases() throws -> [ActiveLease] {
        try single("read leases") { s in
            try s.query("""
                SELECT id, job_id, lease_owner,
                       extract(epoch FROM lease_expires_at - (now() + \(s.offset) * interval '1 second'))::float8 AS remaining
                FROM unit WHERE state = 'leased' AND lease_expires_at > now() + \(s.offset) * interval '1 second' ORDER BY id
                """).map { r in
                ActiveLease(unitID: try r.get("id"), jobID: try r.get("job_id"), owner: try r.get("lease_owner"),
                            expiresInSeconds: try r.get("remaining"))
            }
        }
    }
}

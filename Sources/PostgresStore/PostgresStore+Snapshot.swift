// Whole-store snapshots on PostgreSQL (`pipeline store copy` to or from this backend): read in
// one REPEATABLE READ transaction, written in one transaction with the rows' ids kept, then the
// identity sequences moved past the copied ids.
import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    public func snapshot() throws -> StoreSnapshot {
        try transaction("read the whole store", readOnly: true) { s in
            let live = try s.query("""
                SELECT count(*) AS n FROM unit WHERE state = 'leased' AND lease_expires_at > now() + \(s.offset) * interval '1 second'
                """).first?.get("n", Int.self) ?? 0
            if live > 0 { throw StoreError.copyRefused(reason: "\(live) units are leased by running runners: stop them (or wait for their leases to expire) first") }
            var snapshot = StoreSnapshot()
            snapshot.jobs = try s.query("SELECT * FROM job ORDER BY sequence").map { try JobRecord($0) }
            snapshot.documents = try s.query("SELECT * FROM document ORDER BY id").map { try DocumentRecord($0) }
            snapshot.units = try s.query("SELECT * FROM unit ORDER BY id").map { try UnitRecord($0).releasedIfLeased }
            snapshot.outputs = try s.query("SELECT * FROM output ORDER BY id").map { try OutputRecord($0) }
            snapshot.metrics = try s.query("SELECT * FROM metrics ORDER BY unit_id").map { try MetricsRecord($0) }
            snapshot.calibrations = try s.query("SELECT * FROM calibration ORDER BY id").map { try CalibrationRecord($0) }
            snapshot.machineProfiles = try s.query("SELECT * FROM machine_profiles ORDER BY id").map { r in
                MachineProfileRow(id: try r.get("id"), measuredAt: try r.get("measured_at"), threads: try r.get("threads"),
                                  json: try r.get("profile_json"), source: try r.get("source"))
            }
            return snapshot
        }
    }

    public func restore(_ snapshot: StoreSnapshot) throws {
        try transaction("restore a store snapshot") { s in
            let held = try s.query("""
                SELECT (SELECT count(*) FROM job) + (SELECT count(*) FROM unit) + (SELECT count(*) FROM calibration)
                     + (SELECT count(*) FROM machine_profiles) AS n
                """).first?.get("n", Int.self) ?? 0
            if held > 0 { throw StoreError.copyRefused(reason: "the destination \(name) is not empty") }
            for j in snapshot.jobs {
                try s.query("""
                    INSERT INTO job (id, sequence, name, spec_json, spec_hash, source_path, model_path, prompt_count, submitted_at)
                    VALUES (\(j.id), \(j.sequence ?? 0), \(j.name), \(j.specJSON), \(j.specHash), \(j.sourcePath), \(j.modelPath),
                            \(j.promptCount), \(j.submittedAt))
                    """)
            }
            for d in snapshot.documents {
                try s.query("""
                    INSERT INTO document (id, path, content_hash, byte_count, token_count)
                    VALUES (\(d.id), \(d.path), \(d.contentHash), \(d.byteCount), \(d.tokenCount))
                    """)
            }
            for u in snapshot.units {
                try s.query("""
                    INSERT INTO unit (id, job_id, document_id, state, attempts, last_error, created_at, started_at, finished_at,
                                      abandoned_leases)
                    VALUES (\(u.id), \(u.jobID), \(u.documentID), \(u.state.rawValue), \(u.attempts), \(u.lastError), \(u.createdAt),
                            \(u.startedAt), \(u.finishedAt), \(u.abandonedLeases))
                    """)
            }
            for o in snapshot.outputs {
                try s.query("""
                    INSERT INTO output (id, unit_id, prompt_index, prompt, text, prompt_token_count, generated_token_count,
                                        prefill_seconds, decode_seconds, finish_reason)
                    VALUES (\(o.id), \(o.unitID), \(o.promptIndex), \(o.prompt), \(o.text), \(o.promptTokenCount),
                            \(o.generatedTokenCount), \(o.prefillSeconds), \(o.decodeSeconds), \(o.finishReason))
                    """)
            }
            for m in snapshot.metrics { try insert(m, s) }
            for c in snapshot.calibrations { _ = try insert(c, s) }
            for p in snapshot.machineProfiles {
                try s.query("""
                    INSERT INTO machine_profiles (id, measured_at, threads, profile_json, source)
                    VALUES (\(p.id), \(p.measuredAt), \(p.threads), \(p.json), \(p.source))
                    """)
            }
            for table in ["document", "unit", "output", "calibration", "machine_profiles"] {
                try s.query("""
                    SELECT setval(pg_get_serial_sequence(\(table), 'id'), coalesce((SELECT max(id) FROM \(unescaped: table)), 0) + 1, false)
                    """)
            }
        }
    }
}

// Submitting jobs and looking them up (PostgreSQL). Submits take a transaction-scoped advisory
// lock, so two machines submitting at once number their jobs without a race.
import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    static let submitLockKey: Int64 = 0x7375_626d_6974

    public func submit(_ submission: JobSubmission) throws -> SubmitReceipt {
        let job = submission.job
        return try transaction("submit job \(job.id)") { s in
            try s.query("SELECT pg_advisory_xact_lock(\(Self.submitLockKey))")
            let created = try s.query("SELECT 1 FROM job WHERE id = \(job.id)").isEmpty
            if created {
                try s.query("""
                    INSERT INTO job (id, sequence, name, spec_json, spec_hash, source_path, model_path, prompt_count, submitted_at)
                    VALUES (\(job.id), (SELECT coalesce(max(sequence), 0) + 1 FROM job), \(job.name), \(job.specJSON),
                            \(job.specHash), \(job.sourcePath), \(job.modelPath), \(job.promptCount), \(job.submittedAt))
                    """)
            }
            var added = 0
            for document in submission.documents {
                var id = try s.query("""
                    SELECT id FROM document WHERE path = \(document.path) AND content_hash IS NOT DISTINCT FROM \(document.contentHash)
                    """).first.map { try $0.get("id", Int64.self) }
                if id == nil {
                    id = try s.query("""
                        INSERT INTO document (path, content_hash, byte_count, token_count)
                        VALUES (\(document.path), \(document.contentHash), \(document.byteCount), \(document.tokenCount)) RETURNING id
                        """).first.map { try $0.get("id", Int64.self) }
                }
                guard let documentID = id else {
                    throw StoreError.inconsistent(path: name, detail: "document \(document.path) has no id after insert")
                }
                added += try s.execute("""
                    INSERT INTO unit (job_id, document_id, created_at) VALUES (\(job.id), \(documentID), now())
                    ON CONFLICT (job_id, document_id) DO NOTHING
                    """)
            }
            let count = try s.query("SELECT count(*) AS n FROM unit WHERE job_id = \(job.id)").first?.get("n", Int.self) ?? 0
            return SubmitReceipt(jobID: job.id, created: created, unitsAdded: added, unitCount: count)
        }
    }

    public func job(_ reference: String) throws -> JobRecord {
        let found = try single("find job \(reference)") { s -> JobRecord? in
            try s.query("""
                SELECT * FROM job WHERE id = \(reference) OR name = \(reference)
                ORDER BY (id = \(reference)) DESC, sequence DESC LIMIT 1
                """).first.map { try JobRecord($0) }
        }
        guard let found else { throw StoreError.jobNotFound(reference: reference) }
        return found
    }

    public func jobs() throws -> [JobRecord] {
        try single("list jobs") { s in try s.query("SELECT * FROM job ORDER BY sequence").map { try JobRecord($0) } }
    }
}

// Status and results: read-only queries, each in one read transaction (a WAL snapshot on disk,
// so they never wait for a runner and never see half a unit).
import Foundation
import GRDB

extension SQLiteStore {
    public func statistics(jobID: String?) throws -> [JobStatistics] {
        try read("read job statistics") { db in
            let jobs: [JobRecord]
            if let jobID {
                jobs = try JobRecord.filter(key: jobID).fetchAll(db)
            } else {
                jobs = try JobRecord.order(Column("sequence")).fetchAll(db)
            }
            return try jobs.map { try statistics(of: $0, db) }
        }
    }

    private func statistics(of job: JobRecord, _ db: Database) throws -> JobStatistics {
        var stats = JobStatistics(job: job)
        let counts = try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM unit WHERE job_id = ? GROUP BY state",
                                      arguments: [job.id])
        for row in counts {
            if let state = UnitState(rawValue: row["state"]) { stats.unitCounts[state] = row["n"] }
        }
        if let sums = try Row.fetchOne(db, sql: """
            SELECT ifnull(sum(m.tokens_in), 0) AS tokens_in, ifnull(sum(m.tokens_out), 0) AS tokens_out,
                   ifnull(sum(m.prefill_seconds), 0) AS prefill, ifnull(sum(m.decode_seconds), 0) AS decode,
                   ifnull(sum(m.document_prefill_seconds), 0) AS document_prefill,
                   ifnull(sum(m.per_prompt_prefill_seconds), 0) AS per_prompt_prefill,
                   ifnull(sum(m.wall_seconds), 0) AS wall, ifnull(max(m.peak_memory_bytes), 0) AS peak,
                   ifnull(max(m.kv_bytes_in_memory), 0) AS kv_memory, ifnull(max(m.kv_bytes_on_disk), 0) AS kv_disk,
                   count(m.truncated_head_tokens) AS truncated
            FROM metrics m JOIN unit u ON u.id = m.unit_id WHERE u.job_id = ?
            """, arguments: [job.id]) {
            stats.tokensIn = sums["tokens_in"]
            stats.tokensOut = sums["tokens_out"]
            stats.prefillSeconds = sums["prefill"]
            stats.decodeSeconds = sums["decode"]
            stats.documentPrefillSeconds = sums["document_prefill"]
            stats.perPromptPrefillSeconds = sums["per_prompt_prefill"]
            stats.wallSeconds = sums["wall"]
            stats.peakMemoryBytes = sums["peak"]
            stats.kvBytesInMemory = sums["kv_memory"]
            stats.kvBytesOnDisk = sums["kv_disk"]
            stats.truncatedUnits = sums["truncated"]
        }
        let spans = try Row.fetchAll(db, sql: """
            SELECT m.wall_seconds AS wall, u.finished_at AS finished FROM metrics m JOIN unit u ON u.id = m.unit_id WHERE u.job_id = ?
            """, arguments: [job.id])
        stats.busySeconds = UnitMetrics.busySeconds(spans: spans.map { (wallSeconds: $0["wall"], finishedAt: $0["finished"]) })
        if let row = try Row.fetchOne(db, sql: """
            SELECT count(*) AS n,
                   avg(abs(m.predicted_seconds - (m.prefill_seconds + m.decode_seconds)) / (m.prefill_seconds + m.decode_seconds)) AS error
            FROM metrics m JOIN unit u ON u.id = m.unit_id
            WHERE u.job_id = ? AND m.predicted_seconds IS NOT NULL AND m.prefill_seconds + m.decode_seconds > 0
            """, arguments: [job.id]) {
            stats.predictedUnits = row["n"]
            stats.meanPredictionError = row["error"]
        }
        let mixes = try Row.fetchAll(db, sql: """
            SELECT m.strategy_mix AS mix, count(*) AS n FROM metrics m JOIN unit u ON u.id = m.unit_id
            WHERE u.job_id = ? GROUP BY m.strategy_mix
            """, arguments: [job.id])
        for row in mixes { stats.strategyMixes[row["mix"]] = row["n"] }
        for row in try Row.fetchAll(db, sql: """
            SELECT m.speculation_source AS source, count(*) AS n, sum(m.drafted_tokens) AS drafted, sum(m.accepted_tokens) AS accepted,
                   sum(m.verification_passes) AS passes, sum(m.drafting_passes) AS drafting
            FROM metrics m JOIN unit u ON u.id = m.unit_id
            WHERE u.job_id = ? AND m.speculation_source IS NOT NULL GROUP BY m.speculation_source
            """, arguments: [job.id]) {
            stats.speculation[row["source"]] = SpeculationTotals(units: row["n"], draftedTokens: row["drafted"] ?? 0,
                                                                 acceptedTokens: row["accepted"] ?? 0, verificationPasses: row["passes"] ?? 0,
                                                                 draftingPasses: row["drafting"] ?? 0)
        }
        return stats
    }

    public func units(jobID: String) throws -> [UnitSummary] {
        try read("list units of job \(jobID)") { db in
            try Row.fetchAll(db, sql: """
                SELECT u.id, d.path, u.state, u.attempts, u.last_error, l.owner, d.token_count, m.strategy_mix, m.route_reason
                FROM unit u JOIN document d ON d.id = u.document_id LEFT JOIN lease l ON l.unit_id = u.id
                LEFT JOIN metrics m ON m.unit_id = u.id
                WHERE u.job_id = ? ORDER BY u.id
                """, arguments: [jobID]).map { row in
                var unit = UnitSummary(unitID: row[0], documentPath: row[1], state: UnitState(rawValue: row[2]) ?? .pending,
                                       attempts: row[3], lastError: row[4], leaseOwner: row[5], tokenCount: row[6])
                unit.strategyMix = row[7]
                unit.routeReason = row[8]
                return unit
            }
        }
    }

    public func results(jobID: String) throws -> [ResultRecord] {
        try read("read results of job \(jobID)") { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT o.*, d.path AS document_path, m.strategy_mix AS route_mix, m.route_reason AS route_reason FROM output o
                JOIN unit u ON u.id = o.unit_id JOIN document d ON d.id = u.document_id LEFT JOIN metrics m ON m.unit_id = u.id
                WHERE u.job_id = ? ORDER BY o.unit_id, o.prompt_index
                """, arguments: [jobID])
            return try rows.map { row in
                let output = try OutputRecord(row: row)
                var result = ResultRecord(jobID: jobID, unitID: output.unitID, documentPath: row["document_path"], output: output)
                result.strategyMix = row["route_mix"]
                result.routeReason = row["route_reason"]
                return result
            }
        }
    }
}

extension SQLiteStore {
    public func metrics(jobID: String) throws -> [UnitMetrics] {
        try read("read metrics of job \(jobID)") { db in
            try Row.fetchAll(db, sql: """
                SELECT m.*, d.path AS document_path, u.finished_at AS unit_finished_at FROM metrics m
                JOIN unit u ON u.id = m.unit_id JOIN document d ON d.id = u.document_id
                WHERE u.job_id = ? ORDER BY u.id
                """, arguments: [jobID]).map { row in
                UnitMetrics(documentPath: row["document_path"], metrics: try MetricsRecord(row: row), finishedAt: row["unit_finished_at"])
            }
        }
    }

    public func recordedUnits(limit: Int) throws -> [RecordedUnit] {
        try read("read recorded units") { db in
            try Row.fetchAll(db, sql: """
                SELECT m.*, j.spec_json AS spec_json, j.prompt_count AS prompt_count FROM metrics m
                JOIN unit u ON u.id = m.unit_id JOIN job j ON j.id = u.job_id
                ORDER BY u.finished_at DESC, m.unit_id DESC LIMIT ?
                """, arguments: [limit]).map { row in
                RecordedUnit(metrics: try MetricsRecord(row: row), specJSON: row["spec_json"], promptCount: row["prompt_count"])
            }
        }
    }
}

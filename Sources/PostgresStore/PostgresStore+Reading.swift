// Status, results and the refit's data on PostgreSQL: each call one REPEATABLE READ, READ ONLY
// transaction (one snapshot; readers never wait for writers and never see half a unit).
import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    public func statistics(jobID: String?) throws -> [JobStatistics] {
        try transaction("read job statistics", readOnly: true) { s in
            let jobs = try s.query("SELECT * FROM job WHERE \(jobID)::text IS NULL OR id = \(jobID) ORDER BY sequence").map { try JobRecord($0) }
            return try jobs.map { try statistics(of: $0, s) }
        }
    }

    private func statistics(of job: JobRecord, _ s: Session) throws -> JobStatistics {
        var stats = JobStatistics(job: job)
        for row in try s.query("SELECT state, count(*) AS n FROM unit WHERE job_id = \(job.id) GROUP BY state") {
            if let state = UnitState(rawValue: try row.get("state")) { stats.unitCounts[state] = try row.get("n", Int.self) }
        }
        if let sums = try s.query("""
            SELECT coalesce(sum(m.tokens_in), 0)::bigint AS tokens_in, coalesce(sum(m.tokens_out), 0)::bigint AS tokens_out,
                   coalesce(sum(m.prefill_seconds), 0)::float8 AS prefill, coalesce(sum(m.decode_seconds), 0)::float8 AS decode,
                   coalesce(sum(m.document_prefill_seconds), 0)::float8 AS document_prefill,
                   coalesce(sum(m.per_prompt_prefill_seconds), 0)::float8 AS per_prompt_prefill,
                   coalesce(sum(m.wall_seconds), 0)::float8 AS wall, coalesce(max(m.peak_memory_bytes), 0)::bigint AS peak,
                   coalesce(max(m.kv_bytes_in_memory), 0)::bigint AS kv_memory, coalesce(max(m.kv_bytes_on_disk), 0)::bigint AS kv_disk,
                   count(m.truncated_head_tokens) AS truncated
            FROM metrics m JOIN unit u ON u.id = m.unit_id WHERE u.job_id = \(job.id)
            """).first {
            stats.tokensIn = try sums.get("tokens_in")
            stats.tokensOut = try sums.get("tokens_out")
            stats.prefillSeconds = try sums.get("prefill")
            stats.decodeSeconds = try sums.get("decode")
            stats.documentPrefillSeconds = try sums.get("document_prefill")
            stats.perPromptPrefillSeconds = try sums.get("per_prompt_prefill")
            stats.wallSeconds = try sums.get("wall")
            stats.peakMemoryBytes = try sums.get("peak")
            stats.kvBytesInMemory = try sums.get("kv_memory")
            stats.kvBytesOnDisk = try sums.get("kv_disk")
            stats.truncatedUnits = try sums.get("truncated")
        }
        let spans = try s.query("""
            SELECT m.wall_seconds AS wall, u.finished_at AS finished FROM metrics m JOIN unit u ON u.id = m.unit_id WHERE u.job_id = \(job.id)
            """).map { (wallSeconds: try $0.get("wall", Double.self), finishedAt: try $0.get("finished", Date?.self)) }
        stats.busySeconds = UnitMetrics.busySeconds(spans: spans)
        if let row = try s.query("""
            SELECT count(*) AS n,
                   avg(abs(m.predicted_seconds - (m.prefill_seconds + m.decode_seconds)) / (m.prefill_seconds + m.decode_seconds))::float8 AS error
            FROM metrics m JOIN unit u ON u.id = m.unit_id
            WHERE u.job_id = \(job.id) AND m.predicted_seconds IS NOT NULL AND m.prefill_seconds + m.decode_seconds > 0
            """).first {
            stats.predictedUnits = try row.get("n")
            stats.meanPredictionError = try row.get("error")
        }
        for row in try s.query("""
            SELECT m.strategy_mix AS mix, count(*) AS n FROM metrics m JOIN unit u ON u.id = m.unit_id
            WHERE u.job_id = \(job.id) GROUP BY m.strategy_mix
            """) {
            stats.strategyMixes[try row.get("mix", String.self)] = try row.get("n", Int.self)
        }
        return stats
    }

    public func units(jobID: String) throws -> [UnitSummary] {
        try single("list units of job \(jobID)") { s in
            try s.query("""
                SELECT u.id, d.path, u.state, u.attempts, u.last_error, u.lease_owner, d.token_count, m.strategy_mix, m.route_reason
                FROM unit u JOIN document d ON d.id = u.document_id LEFT JOIN metrics m ON m.unit_id = u.id
                WHERE u.job_id = \(jobID) ORDER BY u.id
                """).map { r in
                var unit = UnitSummary(unitID: try r.get("id"), documentPath: try r.get("path"),
                                       state: UnitState(rawValue: try r.get("state")) ?? .pending, attempts: try r.get("attempts"),
                                       lastError: try r.get("last_error"), leaseOwner: try r.get("lease_owner"),
                                       tokenCount: try r.get("token_count"))
                unit.strategyMix = try r.get("strategy_mix")
                unit.routeReason = try r.get("route_reason")
                return unit
            }
        }
    }

    public func results(jobID: String) throws -> [ResultRecord] {
        try single("read results of job \(jobID)") { s in
            try s.query("""
                SELECT o.*, d.path AS document_path, m.strategy_mix AS route_mix, m.route_reason AS route_reason FROM output o
                JOIN unit u ON u.id = o.unit_id JOIN document d ON d.id = u.document_id LEFT JOIN metrics m ON m.unit_id = u.id
                WHERE u.job_id = \(jobID) ORDER BY o.unit_id, o.prompt_index
                """).map { r in
                let output = try OutputRecord(r)
                var result = ResultRecord(jobID: jobID, unitID: output.unitID, documentPath: try r.get("document_path"), output: output)
                result.strategyMix = try r.get("route_mix")
                result.routeReason = try r.get("route_reason")
                return result
            }
        }
    }

    public func metrics(jobID: String) throws -> [UnitMetrics] {
        try single("read metrics of job \(jobID)") { s in
            try s.query("""
                SELECT m.*, d.path AS document_path, u.finished_at AS unit_finished_at FROM metrics m
                JOIN unit u ON u.id = m.unit_id JOIN document d ON d.id = u.document_id
                WHERE u.job_id = \(jobID) ORDER BY u.id
                """).map { r in
                    UnitMetrics(documentPath: try r.get("document_path"), metrics: try MetricsRecord(r), finishedAt: try r.get("unit_finished_at"))
                }
        }
    }

    public func recordedUnits(limit: Int) throws -> [RecordedUnit] {
        try single("read recorded units") { s in
            try s.query("""
                SELECT m.*, j.spec_json AS spec_json, j.prompt_count AS prompt_count FROM metrics m
                JOIN unit u ON u.id = m.unit_id JOIN job j ON j.id = u.job_id
                ORDER BY u.finished_at DESC NULLS LAST, m.unit_id DESC LIMIT \(limit)
                """).map { r in
                RecordedUnit(metrics: try MetricsRecord(r), specJSON: try r.get("spec_json"), promptCount: try r.get("prompt_count"))
            }
        }
    }
}

// Calibration rows and machine profiles on PostgreSQL (append-only, read newest or in order).
import Foundation
import PostgresNIO
import Store

extension PostgresStore {
    @discardableResult
    public func record(_ calibration: CalibrationRecord) throws -> CalibrationRecord {
        try single("record calibration of \(calibration.strategy)") { s in
            var row = calibration
            row.id = try insert(calibration, s)
            return row
        }
    }

    /// Inserts a calibration row (with its id when it has one) and returns the id.
    func insert(_ c: CalibrationRecord, _ s: Session) throws -> Int64? {
        try s.query("""
            INSERT INTO calibration (id, strategy, parameters, kv_format, context_tokens, model, steps, documents, mean_kl, max_kl,
                top1_agreement, confident_top1_agreement, perplexity, reference_perplexity, needles, needles_reference_passed,
                needles_kept, probable_top1_agreement, answers_compared, answers_changed, index_bytes, indexed_kv_bytes, measured_at)
            VALUES (coalesce(\(c.id), nextval(pg_get_serial_sequence('calibration', 'id'))), \(c.strategy), \(c.parameters),
                \(c.kvFormat), \(c.contextTokens), \(c.model), \(c.steps), \(c.documents), \(c.meanKL), \(c.maxKL),
                \(c.top1Agreement), \(c.confidentTop1Agreement), \(c.perplexity), \(c.referencePerplexity), \(c.needles),
                \(c.needlesReferencePassed), \(c.needlesKept), \(c.probableTop1Agreement), \(c.answersCompared),
                \(c.answersChanged), \(c.indexBytes), \(c.indexedKVBytes), \(c.measuredAt))
            RETURNING id
            """).first?.get("id")
    }

    public func calibrations() throws -> [CalibrationRecord] {
        try single("read calibrations") { s in try s.query("SELECT * FROM calibration ORDER BY id").map { try CalibrationRecord($0) } }
    }

    public func saveMachineProfile(json: Data, threads: Int, source: String) throws {
        try single("save machine profile") { s -> Void in
            try s.query("""
                INSERT INTO machine_profiles (measured_at, threads, profile_json, source)
                VALUES (now() + \(s.offset) * interval '1 second', \(threads), \(String(decoding: json, as: UTF8.self)), \(source))
                """)
        }
    }

    public func latestMachineProfile(threads: Int?) throws -> Data? {
        try single("read machine profile") { s in
            try s.query("""
                SELECT profile_json FROM machine_profiles WHERE \(threads)::bigint IS NULL OR threads = \(threads) ORDER BY id DESC LIMIT 1
                """).first.map { Data(try $0.get("profile_json", String.self).utf8) }
        }
    }
}

// The store's records read from PostgreSQL rows. Columns are the records' (see their CodingKeys);
// a prefix reads one table's columns out of a join (`SELECT j.id AS j_id, …`).
import Foundation
import PostgresNIO
import Store

extension PostgresRandomAccessRow {
    func get<T: PostgresDecodable>(_ column: String, _ type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

/// Column lists for selects that join several tables.
enum Columns {
    static let job = ["id", "sequence", "name", "spec_json", "spec_hash", "source_path", "model_path", "prompt_count", "submitted_at"]
    static let document = ["id", "path", "content_hash", "byte_count", "token_count"]
    static let unit = ["id", "job_id", "document_id", "state", "attempts", "last_error", "created_at", "started_at", "finished_at",
                       "abandoned_leases", "lease_token", "lease_owner", "lease_acquired_at", "lease_renewed_at", "lease_expires_at"]

    /// `t.a AS pa, t.b AS pb, …`
    static func select(_ columns: [String], from table: String, prefix: String) -> String {
        columns.map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", ")
    }
}

extension JobRecord {
    init(_ r: PostgresRandomAccessRow, prefix p: String = "") throws {
        self.init(id: try r.get(p + "id"), sequence: try r.get(p + "sequence", Int64?.self), name: try r.get(p + "name"),
                  specJSON: try r.get(p + "spec_json"), specHash: try r.get(p + "spec_hash"), sourcePath: try r.get(p + "source_path"),
                  modelPath: try r.get(p + "model_path"), promptCount: try r.get(p + "prompt_count"),
                  submittedAt: try r.get(p + "submitted_at"))
    }
}

extension DocumentRecord {
    init(_ r: PostgresRandomAccessRow, prefix p: String = "") throws {
        self.init(id: try r.get(p + "id", Int64?.self), path: try r.get(p + "path"), contentHash: try r.get(p + "content_hash"),
                  byteCount: try r.get(p + "byte_count"), tokenCount: try r.get(p + "token_count"))
    }
}

extension UnitRecord {
    init(_ r: PostgresRandomAccessRow, prefix p: String = "") throws {
        let state = try r.get(p + "state", String.self)
        self.init(id: try r.get(p + "id", Int64?.self), jobID: try r.get(p + "job_id"), documentID: try r.get(p + "document_id"),
                  state: UnitState(rawValue: state) ?? .pending, attempts: try r.get(p + "attempts"),
                  lastError: try r.get(p + "last_error"), createdAt: try r.get(p + "created_at"),
                  startedAt: try r.get(p + "started_at"), finishedAt: try r.get(p + "finished_at"))
        abandonedLeases = try r.get(p + "abandoned_leases")
    }
}

extension LeaseRecord {
    /// The lease columns of a unit row.
    init(unitRow r: PostgresRandomAccessRow, prefix p: String = "") throws {
        self.init(unitID: try r.get(p + "id"), token: try r.get(p + "lease_token"), owner: try r.get(p + "lease_owner"),
                  attempt: try r.get(p + "attempts"), acquiredAt: try r.get(p + "lease_acquired_at"),
                  renewedAt: try r.get(p + "lease_renewed_at"), expiresAt: try r.get(p + "lease_expires_at"))
    }
}

extension OutputRecord {
    init(_ r: PostgresRandomAccessRow) throws {
        self.init(id: try r.get("id", Int64?.self), unitID: try r.get("unit_id"), promptIndex: try r.get("prompt_index"),
                  prompt: try r.get("prompt"), text: try r.get("text"), promptTokenCount: try r.get("prompt_token_count"),
                  generatedTokenCount: try r.get("generated_token_count"), prefillSeconds: try r.get("prefill_seconds"),
                  decodeSeconds: try r.get("decode_seconds"), finishReason: try r.get("finish_reason"))
    }
}

extension MetricsRecord {
    init(_ r: PostgresRandomAccessRow) throws {
        self.init(unitID: try r.get("unit_id"), contentHash: try r.get("content_hash"),
                  documentTokenCount: try r.get("document_token_count"), keptTokenCount: try r.get("kept_token_count"),
                  truncatedHeadTokens: try r.get("truncated_head_tokens"), truncatedTailTokens: try r.get("truncated_tail_tokens"),
                  tokensIn: try r.get("tokens_in"), tokensOut: try r.get("tokens_out"), prefillSeconds: try r.get("prefill_seconds"),
                  prefillTokensPerSecond: try r.get("prefill_tokens_per_second"), decodeSeconds: try r.get("decode_seconds"),
                  decodeTokensPerSecond: try r.get("decode_tokens_per_second"),
                  documentPrefillSeconds: try r.get("document_prefill_seconds"),
                  perPromptPrefillSeconds: try r.get("per_prompt_prefill_seconds"), peakMemoryBytes: try r.get("peak_memory_bytes"),
                  strategyMix: try r.get("strategy_mix"), kvBytesInMemory: try r.get("kv_bytes_in_memory"),
                  kvBytesOnDisk: try r.get("kv_bytes_on_disk"), wallSeconds: try r.get("wall_seconds"), runner: try r.get("runner"))
        kvSnapshot = try r.get("kv_snapshot")
        batchSize = try r.get("batch_size")
        kvPeakResidentBytes = try r.get("kv_peak_resident_bytes")
        predictedSeconds = try r.get("predicted_seconds")
        predictedPrefillSeconds = try r.get("predicted_prefill_seconds")
        predictedDecodeSeconds = try r.get("predicted_decode_seconds")
        predictedPeakMemoryBytes = try r.get("predicted_peak_memory_bytes")
        routeReason = try r.get("route_reason")
        speculationSource = try r.get("speculation_source")
        draftedTokens = try r.get("drafted_tokens")
        acceptedTokens = try r.get("accepted_tokens")
        verificationPasses = try r.get("verification_passes")
        draftingPasses = try r.get("drafting_passes")
    }
}

extension CalibrationRecord {
    init(_ r: PostgresRandomAccessRow) throws {
        self.init(strategy: try r.get("strategy"), parameters: try r.get("parameters"), kvFormat: try r.get("kv_format"),
                  contextTokens: try r.get("context_tokens"), model: try r.get("model"), steps: try r.get("steps"),
                  documents: try r.get("documents"), meanKL: try r.get("mean_kl"), maxKL: try r.get("max_kl"),
                  top1Agreement: try r.get("top1_agreement"), confidentTop1Agreement: try r.get("confident_top1_agreement"),
                  perplexity: try r.get("perplexity"), referencePerplexity: try r.get("reference_perplexity"),
                  needles: try r.get("needles"), needlesReferencePassed: try r.get("needles_reference_passed"),
                  needlesKept: try r.get("needles_kept"), indexBytes: try r.get("index_bytes"),
                  indexedKVBytes: try r.get("indexed_kv_bytes"), measuredAt: try r.get("measured_at"))
        id = try r.get("id")
        probableTop1Agreement = try r.get("probable_top1_agreement")
        answersCompared = try r.get("answers_compared")
        answersChanged = try r.get("answers_changed")
    }
}

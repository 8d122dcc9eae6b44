import Foundation

/// Measurements of one completed unit (one row per unit).
public struct MetricsRecord: Codable, Hashable, Sendable {
    public var unitID: Int64
    /// SHA-256 of the document bytes this unit actually read.
    public var contentHash: String
    /// Tokens in the document before any overflow handling, and tokens kept after it.
    public var documentTokenCount: Int
    public var keptTokenCount: Int
    /// Set when the `truncate-middle` overflow policy cut the document: tokens kept from its head and tail.
    public var truncatedHeadTokens: Int?
    public var truncatedTailTokens: Int?
    /// Document tokens kept + every prompt's tokens; tokens generated over all prompts.
    public var tokensIn: Int
    public var tokensOut: Int
    /// Prefill: the document once plus every prompt appended after it.
    public var prefillSeconds: Double
    public var prefillTokensPerSecond: Double
    public var decodeSeconds: Double
    public var decodeTokensPerSecond: Double
    /// The document prefill alone, and the engine's estimate of prefilling document + prompt
    /// afresh for every prompt (the baseline that KV reuse saves against).
    public var documentPrefillSeconds: Double
    public var perPromptPrefillSeconds: Double
    public var peakMemoryBytes: Int
    /// The strategy mix the engine used, as a short label (for example `lsh(K=10,L=150)+int4`).
    public var strategyMix: String
    public var kvBytesInMemory: Int
    public var kvBytesOnDisk: Int
    /// From lease to completion, including reading the document. Units decoded in one batch
    /// share their wall time: each one's is the batch's.
    public var wallSeconds: Double
    /// The runner that did the work.
    public var runner: String
    /// The document's KV came from a snapshot (`loaded`), was prefilled and saved (`saved`), or
    /// was prefilled without saving (`none`).
    public var kvSnapshot: String?
    /// Units that decoded together with this one (1: alone).
    public var batchSize: Int?
    /// Resident KV at its highest during the unit (under the budget when one is set).
    public var kvPeakResidentBytes: Int?
    /// The router's prediction for this unit before running it (CostModel); nil when none was made.
    public var predictedSeconds: Double?
    public var predictedPrefillSeconds: Double?
    public var predictedDecodeSeconds: Double?
    public var predictedPeakMemoryBytes: Int?
    /// Why the unit ran its mix (the router's reason, or "pinned by the job", and any fallback).
    public var routeReason: String?
    /// Speculative decoding (nil when the unit did not speculate): the draft source, tokens it
    /// drafted, drafts the exact model kept, verification passes, and passes that carried drafts.
    public var speculationSource: String?
    public var draftedTokens: Int?
    public var acceptedTokens: Int?
    public var verificationPasses: Int?
    public var draftingPasses: Int?

    enum CodingKeys: String, CodingKey {
        case runner
        case unitID = "unit_id", contentHash = "content_hash", documentTokenCount = "document_token_count"
        case keptTokenCount = "kept_token_count", truncatedHeadTokens = "truncated_head_tokens"
        case truncatedTailTokens = "truncated_tail_tokens", tokensIn = "tokens_in", tokensOut = "tokens_out"
        case prefillSeconds = "prefill_seconds", prefillTokensPerSecond = "prefill_tokens_per_second"
        case decodeSeconds = "decode_seconds", decodeTokensPerSecond = "decode_tokens_per_second"
        case documentPrefillSeconds = "document_prefill_seconds", perPromptPrefillSeconds = "per_prompt_prefill_seconds"
        case peakMemoryBytes = "peak_memory_bytes", strategyMix = "strategy_mix", kvBytesInMemory = "kv_bytes_in_memory"
        case kvBytesOnDisk = "kv_bytes_on_disk", wallSeconds = "wall_seconds"
        case kvSnapshot = "kv_snapshot", batchSize = "batch_size", kvPeakResidentBytes = "kv_peak_resident_bytes"
        case predictedSeconds = "predicted_seconds", predictedPrefillSeconds = "predicted_prefill_seconds"
        case predictedDecodeSeconds = "predicted_decode_seconds", predictedPeakMemoryBytes = "predicted_peak_memory_bytes"
        case routeReason = "route_reason"
        case speculationSource = "speculation_source", draftedTokens = "drafted_tokens", acceptedTokens = "accepted_tokens"
        case verificationPasses = "verification_passes", draftingPasses = "drafting_passes"
    }

    public init(unitID: Int64, contentHash: String, documentTokenCount: Int, keptTokenCount: Int,
                truncatedHeadTokens: Int?, truncatedTailTokens: Int?, tokensIn: Int, tokensOut: Int,
                prefillSeconds: Double, prefillTokensPerSecond: Double, decodeSeconds: Double,
                decodeTokensPerSecond: Double, documentPrefillSeconds: Double, perPromptPrefillSeconds: Double,
                peakMemoryBytes: Int, strategyMix: String, kvBytesInMemory: Int, kvBytesOnDisk: Int,
                wallSeconds: Double, runner: String) {
        self.unitID = unitID
        self.contentHash = contentHash
        self.documentTokenCount = documentTokenCount
        self.keptTokenCount = keptTokenCount
        self.truncatedHeadTokens = truncatedHeadTokens
        self.truncatedTailTokens = truncatedTailTokens
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.prefillSeconds = prefillSeconds
        self.prefillTokensPerSecond = prefillTokensPerSecond
        self.decodeSeconds = decodeSeconds
        self.decodeTokensPerSecond = decodeTokensPerSecond
        self.documentPrefillSeconds = documentPrefillSeconds
        self.perPromptPrefillSeconds = perPromptPrefillSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.strategyMix = strategyMix
        self.kvBytesInMemory = kvBytesInMemory
        self.kvBytesOnDisk = kvBytesOnDisk
        self.wallSeconds = wallSeconds
        self.runner = runner
    }
}

extension MetricsRecord {
    /// The unit's own engine seconds: its prefill (the document's, or loading its snapshot, and its
    /// prompts') and its decode, with steps shared by a batch counted in equal shares. What the
    /// cost model predicts for the unit, and comparable across batched and lone units.
    public var engineSeconds: Double { prefillSeconds + decodeSeconds }
}

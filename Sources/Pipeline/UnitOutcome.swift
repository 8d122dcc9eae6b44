import Foundation
import Model
import Planner

/// What an executor returns for a unit: one outcome per prompt, in prompt order, and measurements.
public struct UnitOutcome: Sendable, Equatable {
    public var prompts: [PromptOutcome]
    public var measurements: UnitMeasurements

    public init(prompts: [PromptOutcome], measurements: UnitMeasurements) {
        self.prompts = prompts
        self.measurements = measurements
    }
}

public struct PromptOutcome: Sendable, Equatable {
    public var text: String
    public var promptTokenCount: Int
    public var generatedTokenCount: Int
    /// Appending the prompt after the document's KV.
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var finishReason: FinishReason

    public init(text: String, promptTokenCount: Int, generatedTokenCount: Int, prefillSeconds: Double,
                decodeSeconds: Double, finishReason: FinishReason) {
        self.text = text
        self.promptTokenCount = promptTokenCount
        self.generatedTokenCount = generatedTokenCount
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
        self.finishReason = finishReason
    }
}

public enum FinishReason: String, Codable, Sendable {
    /// The model produced its end-of-sequence token.
    case stop
    /// `max_new_tokens` was reached.
    case length
}

/// Per-unit measurements (the store's metrics columns).
public struct UnitMeasurements: Sendable, Equatable {
    /// Document tokens before the overflow policy, and kept after it.
    public var documentTokenCount: Int
    public var keptTokenCount: Int
    /// Set when `truncate-middle` cut the document.
    public var truncation: Truncation?
    /// The document's prefill, done once for all prompts.
    public var documentPrefillSeconds: Double
    /// Baseline for the KV-reuse saving: prefilling document + prompt afresh for every prompt.
    public var perPromptPrefillSeconds: Double
    public var peakMemoryBytes: Int
    public var kvBytesInMemory: Int
    public var kvBytesOnDisk: Int
    /// The strategy mix that ran (the plan's).
    public var strategyMix: StrategyMix
    /// Where the document's KV came from.
    public var kvSnapshot: KVSnapshotUse = .none
    /// Units decoded together with this one (1: alone).
    public var batchSize = 1
    /// Resident KV at its highest during the unit's batch.
    public var kvPeakResidentBytes = 0
    /// Speculative decoding over the unit's prompts: the draft source and its figures (nil: none).
    public var speculationSource: String?
    public var speculation: SpeculationStatistics?

    public init(documentTokenCount: Int, keptTokenCount: Int, truncation: Truncation?, documentPrefillSeconds: Double,
                perPromptPrefillSeconds: Double, peakMemoryBytes: Int, kvBytesInMemory: Int, kvBytesOnDisk: Int,
                strategyMix: StrategyMix) {
        self.documentTokenCount = documentTokenCount
        self.keptTokenCount = keptTokenCount
        self.truncation = truncation
        self.documentPrefillSeconds = documentPrefillSeconds
        self.perPromptPrefillSeconds = perPromptPrefillSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.kvBytesInMemory = kvBytesInMemory
        self.kvBytesOnDisk = kvBytesOnDisk
        self.strategyMix = strategyMix
    }
}

/// How a unit got its document's KV: loaded from a snapshot (no prefill), prefilled and saved,
/// or prefilled without a snapshot (saving failed; the unit goes on).
public enum KVSnapshotUse: String, Codable, Sendable {
    case loaded, saved, none
}

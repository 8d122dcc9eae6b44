// A job file, validated (see the job file reference in README.md).
//
// Parsing and validation live in `JobSpec+Parsing.swift`. The canonical form — this struct encoded
// with sorted keys and every default filled in — is what the store keeps and what the job id is
// derived from: whitespace, key order and spelled-out defaults do not make a new job.
import Foundation
import Planner

public struct JobSpec: Codable, Equatable, Sendable {
    public var name: String
    /// Paths or glob patterns, relative to the job file's folder (or absolute).
    public var documents: [String]
    public var prompts: [String]
    public var maxNewTokens: Int
    public var temperature: Double
    public var seed: Int
    public var fidelity: Fidelity
    public var strategy: StrategyChoice
    public var memoryBudgetMB: Int
    /// A GGUF path relative to the job file's folder; nil: the runner's `--model`.
    public var model: String?
    public var overflow: OverflowPolicy

    public init(name: String, documents: [String], prompts: [String], maxNewTokens: Int = Self.defaultMaxNewTokens,
                temperature: Double = 0, seed: Int = 0, fidelity: Fidelity = .high, strategy: StrategyChoice = .auto,
                memoryBudgetMB: Int = Self.defaultMemoryBudgetMB, model: String? = nil, overflow: OverflowPolicy = .fail) {
        self.name = name
        self.documents = documents
        self.prompts = prompts
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.seed = seed
        self.fidelity = fidelity
        self.strategy = strategy
        self.memoryBudgetMB = memoryBudgetMB
        self.model = model
        self.overflow = overflow
    }

    public static let defaultMaxNewTokens = 256
    public static let defaultMemoryBudgetMB = 1024

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, documents, prompts, temperature, seed, fidelity, strategy, model, overflow
        case maxNewTokens = "max_new_tokens"
        case memoryBudgetMB = "memory_budget_mb"
    }

    /// Sorted-key JSON of the validated spec: the job's identity.
    public func canonicalJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Decodes a spec the store kept (written by `canonicalJSON`).
    public static func stored(_ json: String, jobID: String) throws -> JobSpec {
        do {
            return try JSONDecoder().decode(JobSpec.self, from: Data(json.utf8))
        } catch {
            throw PipelineError.storedSpecUnreadable(jobID: jobID, detail: "\(error)")
        }
    }
}

/// How close to dense, exact inference the engine must stay (README, job file reference, `fidelity`).
public enum Fidelity: String, Codable, Sendable, CaseIterable {
    case exact, high, fast
}

/// What to do with a document longer than the model's context.
public enum OverflowPolicy: String, Codable, Sendable, CaseIterable {
    /// The unit fails, naming the token count and the limit.
    case fail
    /// Keep the head and the tail of the document, drop the middle, and record that it was done.
    case truncateMiddle = "truncate-middle"
}

/// `"auto"` (the router chooses per document) or a pinned strategy mix.
public enum StrategyChoice: Codable, Equatable, Sendable {
    case auto
    case pinned(StrategyMix)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let word = try? container.decode(String.self), word == "auto" {
            self = .auto
        } else {
            self = .pinned(try container.decode(StrategyMix.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .auto: try container.encode("auto")
        case .pinned(let mix): try container.encode(mix)
        }
    }
}

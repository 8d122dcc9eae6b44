import Foundation

/// One fidelity measurement of an approximation against the exact path (dense attention, f16 KV),
/// as `pipeline eval` records it: the strategy mix and the context it was measured at → the
/// metrics the router's fidelity table is built from (docs/architecture.md, "One unit", step 3).
public struct CalibrationRecord: Codable, Hashable, Sendable {
    public var id: Int64?
    /// Decode-attention strategy (`dense`, `topk`, `da-topk`, `lsh`) and its parameters
    /// (the non-default ones as a JSON object, `StrategyMix.parametersJSON`).
    public var strategy: String
    public var parameters: String
    /// KV format of the candidate cache.
    public var kvFormat: String
    /// Mean tokens before the compared positions (documents) — the context the figures hold at.
    public var contextTokens: Int
    /// File name of the model measured.
    public var model: String
    /// Compared decode steps and documents.
    public var steps: Int
    public var documents: Int
    public var meanKL: Double
    public var maxKL: Double
    public var top1Agreement: Double
    /// Top-1 agreement at the steps where the reference's top-1/top-2 logit margin is ≥ 0.1 (not near-ties).
    public var confidentTop1Agreement: Double
    /// Perplexity of the compared continuations under the candidate and under the reference.
    public var perplexity: Double
    public var referencePerplexity: Double
    /// Needle cases run, passed by the reference, and passed by both (nil: none run).
    public var needles: Int?
    public var needlesReferencePassed: Int?
    public var needlesKept: Int?
    /// Top-1 agreement at the steps where dense attention's top-1 probability is ≥ 0.5 (the steps
    /// whose answer a user would call settled): the `high` tier's rule. Nil in rows of older versions.
    public var probableTop1Agreement: Double?
    /// Greedy answers compared with dense's (needle prompts), and how many differ within their
    /// first 32 tokens (reported with the `high` tier, "Accuracy is not all you need").
    public var answersCompared: Int?
    public var answersChanged: Int?
    /// Bytes of the strategy's index and of the KV it covers (nil: no index).
    public var indexBytes: Int?
    public var indexedKVBytes: Int?
    public var measuredAt: Date

    enum CodingKeys: String, CodingKey {
        case id, strategy, parameters, model, steps, documents, perplexity, needles
        case kvFormat = "kv_format", contextTokens = "context_tokens", meanKL = "mean_kl", maxKL = "max_kl"
        case top1Agreement = "top1_agreement", confidentTop1Agreement = "confident_top1_agreement", referencePerplexity = "reference_perplexity"
        case needlesReferencePassed = "needles_reference_passed", needlesKept = "needles_kept"
        case indexBytes = "index_bytes", indexedKVBytes = "indexed_kv_bytes", measuredAt = "measured_at"
        case probableTop1Agreement = "probable_top1_agreement", answersCompared = "answers_compared", answersChanged = "answers_changed"
    }

    public init(strategy: String, parameters: String, kvFormat: String, contextTokens: Int, model: String, steps: Int,
                documents: Int, meanKL: Double, maxKL: Double, top1Agreement: Double, confidentTop1Agreement: Double, perplexity: Double,
                referencePerplexity: Double, needles: Int? = nil, needlesReferencePassed: Int? = nil, needlesKept: Int? = nil,
                indexBytes: Int? = nil, indexedKVBytes: Int? = nil, measuredAt: Date = Date()) {
        self.strategy = strategy
        self.parameters = parameters
        self.kvFormat = kvFormat
        self.contextTokens = contextTokens
        self.model = model
        self.steps = steps
        self.documents = documents
        self.meanKL = meanKL
        self.maxKL = maxKL
        self.top1Agreement = top1Agreement
        self.confidentTop1Agreement = confidentTop1Agreement
        self.perplexity = perplexity
        self.referencePerplexity = referencePerplexity
        self.needles = needles
        self.needlesReferencePassed = needlesReferencePassed
        self.needlesKept = needlesKept
        self.indexBytes = indexBytes
        self.indexedKVBytes = indexedKVBytes
        self.measuredAt = measuredAt
    }
}

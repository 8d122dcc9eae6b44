import Foundation

/// Predicts what one unit (a document and its prompts) costs under a strategy mix on this
/// machine, from the measured profile — FlexGen's cost model turned to long documents on a CPU:
/// the KV terms carry the context length explicitly and prefill attention is quadratic.
///
/// Notation: n document tokens (with the template head), prompts p with tails t_p tokens and up
/// to g_p new tokens (expected g_p = g·r, r the measured fraction of max_new_tokens that answers
/// use), batch B units decoding together, d the depth of a decode step.
///
///   prefill  = a·n + b·n²/2                                         (document, once; or, when its
///                                                                     snapshot exists, kv_mix·n·(1/diskRead + 1/lz4))
///            + Σ_p (a·t_p + b·t_p·(n + t_p/2))                      (each tail after the document)
///   decode   = Σ_p Σ_{s<g_p} [ w/B + c + attn_mix(n + t_p + s) ]
///            = Σ_p g_p·(w/B + c + f_mix + k_mix·(n + t_p + g_p/2))  (attn linear in depth)
///            + i_mix·(n + Σ_p (t_p + g_p))                           (the strategy's index, built once
///                                                                     over the document, extended per prompt)
///   disk     = spill·R_mix·Σ_p g_p                                   (bytes read back per step)
///   memory   = weights + B·(kv_mix·(n + max t_p + g) + index_mix) + buffers
///   seconds  = prefill + decode + disk / diskRead (+ write of spilled pages once)
///
/// a, b: prefill per token and per causal pair; w: a decode step's weight read (shared by the
/// batch); c: per-sequence step work besides attention; f_mix + k_mix·d: the measured attention
/// cost of the mix at depth d; i_mix: seconds per token of building its index (0 for dense);
/// kv_mix: KV bytes per token; index_mix: the strategy's index;
/// spill: the fraction of a sequence's KV beyond its share of the budget; R_mix: the fraction of
/// spilled bytes a step reads (1 for dense, the selected fraction for selecting strategies).
public struct CostModel: Sendable {
    public let profile: MachineProfile
    public let shape: ModelShape

    public init(profile: MachineProfile, shape: ModelShape) {
        self.profile = profile
        self.shape = shape
    }

    public func predict(_ w: UnitWorkload, mix: MixCost, batch: Int = 1, budgetBytes: Int) -> CostPrediction {
        let p = profile
        let n = Double(w.documentTokens)
        let tails = w.promptTokens.map(Double.init)
        let g = Double(w.maxNewTokens) * w.expectedAnswerFraction
        let b = Double(max(1, batch))

        let contextTokens = n + (tails.max() ?? 0) + Double(w.maxNewTokens)
        let kvBytes = mix.kvBytesPerToken * contextTokens
        // A document whose KV snapshot exists is read back (disk, then LZ4) instead of prefilled.
        var prefill = w.snapshotCached
            ? mix.kvBytesPerToken * n * (1 / (p.diskReadMBPerSecond * 1e6) + 1 / (p.lz4DecompressMBPerSecond * 1e6))
            : p.prefillSecondsPerToken * n + p.prefillSecondsPerPair * n * n / 2
        for t in tails { prefill += p.prefillSecondsPerToken * t + p.prefillSecondsPerPair * t * (n + t / 2) }

        let attention = p.attention[mix.costKey]
        var decode = 0.0
        for t in tails {
            let depth = n + t + g / 2
            let attn = attention.map { $0.seconds(atDepth: Int(depth)) } ?? 0
            decode += g * (p.decodeWeightSeconds / b + p.decodePerSequenceSeconds + attn)
        }
        // The index is built over the document on the first sparse step and kept (truncated to the
        // document) across prompts; each prompt extends it over its tail and answer.
        if g > 0, let attention {
            decode += attention.indexBuildSeconds(tokens: Int(n)) + tails.reduce(0) { $0 + attention.indexBuildSeconds(tokens: Int($1 + g)) }
        }

        let perSequenceBudget = Double(budgetBytes) / b
        let spilled = max(0, kvBytes + mix.indexBytes(Int(contextTokens)) - perSequenceBudget)
        let spillFraction = kvBytes > 0 ? min(1, spilled / kvBytes) : 0
        let diskReadBytes = spilled * mix.readFraction * g * Double(tails.count)
        var seconds = prefill + decode
        if spilled > 0 {
            seconds += spilled / (p.diskWriteMBPerSecond * 1e6)
            seconds += diskReadBytes / (p.diskReadMBPerSecond * 1e6)
        }
        let resident = min(kvBytes, perSequenceBudget) * b
        let peak = Double(shape.weightBytes) + resident + Double(mix.indexBytes(Int(contextTokens))) * b + Double(shape.bufferBytes)
        return CostPrediction(prefillSeconds: prefill, decodeSeconds: decode, seconds: seconds, peakMemoryBytes: Int(peak),
                              kvBytes: Int(kvBytes), spillFraction: spillFraction, diskReadBytes: Int(diskReadBytes))
    }
}

/// The model dimensions the cost model needs.
public struct ModelShape: Sendable, Codable, Equatable {
    public var layerCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    /// Bytes of weights read per decode step.
    public var weightBytes: Int
    /// Activation buffers of a forward context.
    public var bufferBytes: Int
    public var contextLength: Int

    public init(layerCount: Int, kvHeadCount: Int, headDim: Int, weightBytes: Int, bufferBytes: Int, contextLength: Int) {
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.weightBytes = weightBytes
        self.bufferBytes = bufferBytes
        self.contextLength = contextLength
    }

    /// Key + value elements per token, over all layers and KV heads.
    public var kvElementsPerToken: Int { 2 * layerCount * kvHeadCount * headDim }
}

/// One unit's work as the router sees it before running it.
public struct UnitWorkload: Sendable, Codable, Equatable {
    public var documentTokens: Int
    public var promptTokens: [Int]
    public var maxNewTokens: Int
    /// The share of max_new_tokens answers actually use (1 until runs are recorded).
    public var expectedAnswerFraction: Double
    /// The document's KV snapshot exists in the mix's format (no prefill).
    public var snapshotCached = false

    public init(documentTokens: Int, promptTokens: [Int], maxNewTokens: Int, expectedAnswerFraction: Double = 1) {
        self.documentTokens = documentTokens
        self.promptTokens = promptTokens
        self.maxNewTokens = maxNewTokens
        self.expectedAnswerFraction = expectedAnswerFraction
    }
}

/// What the cost model needs to know about a strategy mix.
public struct MixCost: Sendable, Equatable {
    /// The key of its measured decode-attention cost in the profile: `<strategy>+<kv>`, e.g. `topk+int8`.
    public var costKey: String
    public var kvBytesPerToken: Double
    /// Bytes of the strategy's index per token of context (sketches, hash tables).
    public var indexBytesPerToken: Double
    /// Fraction of a sequence's KV bytes one decode step reads.
    public var readFraction: Double

    public init(costKey: String, kvBytesPerToken: Double, indexBytesPerToken: Double = 0, readFraction: Double = 1) {
        self.costKey = costKey
        self.kvBytesPerToken = kvBytesPerToken
        self.indexBytesPerToken = indexBytesPerToken
        self.readFraction = readFraction
    }

    func indexBytes(_ tokens: Int) -> Double { indexBytesPerToken * Double(tokens) }
}

public struct CostPrediction: Sendable, Codable, Equatable {
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    /// Everything, disk traffic included.
    public var seconds: Double
    public var peakMemoryBytes: Int
    public var kvBytes: Int
    public var spillFraction: Double
    public var diskReadBytes: Int

    enum CodingKeys: String, CodingKey {
        case seconds
        case prefillSeconds = "prefill_seconds"
        case decodeSeconds = "decode_seconds"
        case peakMemoryBytes = "peak_memory_bytes"
        case kvBytes = "kv_bytes"
        case spillFraction = "spill_fraction"
        case diskReadBytes = "disk_read_bytes"
    }
}

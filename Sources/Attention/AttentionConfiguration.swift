// One decode-attention configuration: the strategy and every parameter it runs with.
//
// This is the single place where a strategy's parameters, their defaults and the ranges the
// engine runs are written. Job files (`strategy` object), the CLI options of generate, bench and
// eval, calibrate, the router and the executor all build strategies from this value, so a value
// accepted by one layer is one every other layer can run. `validate()` states the ranges; a value
// outside them is an `AttentionConfigurationError` naming the parameter, never a `precondition`.
//
// Ranges, and why they end where they do:
//   top_k 1–4096, k_prime top_k–16384: per KV head per step; larger budgets are dense attention.
//   bucket_keep 1–2: the bucketed top-k keeps one or two candidates per bucket.
//   shards 1–64: DA-TOP-k's KV shards (one selection block of 16 pages each at the least).
//   lsh_k 1–16: SimHash codes are 16-bit (`SimHashProjection`); lsh_l 2–256: the ≥ 2-collision
//     rule needs two tables; past 256 tables hashing costs more than dense attention here.
//   sinks 0–64 (one page), window 1–8192, dense_layers 0–1024.
// Model-dependent limits (GQA group and head dimension of the C kernels) are checked by
// `validate(queryHeadsPerKVHead:headDim:)` when the model is known.
import CKernels

public struct AttentionConfiguration: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case dense, topk
        case daTopk = "da-topk"
        case lsh

        public var isDense: Bool { self == .dense }
    }

    public var kind: Kind
    /// topk, da-topk: keys attended per query head in the sparse range.
    public var topK: Int
    /// topk, da-topk: candidates k′ kept by the bucketed top-k and scored exactly.
    public var candidateCount: Int
    /// topk, da-topk: candidates each bucket keeps.
    public var bucketKeep: Int
    /// da-topk: KV shards.
    public var shards: Int
    /// lsh: SimHash bits per table (K) and tables (L).
    public var lshBits: Int
    public var lshTables: Int
    /// Sparse strategies: what stays dense (`DenseExemptions`).
    public var sinks: Int
    public var window: Int
    public var denseLayers: Int

    /// `kind` at the defaults of every parameter.
    public init(_ kind: Kind) {
        self.kind = kind
        topK = 128
        candidateCount = 512
        bucketKeep = 2
        shards = 4
        lshBits = 10
        lshTables = 150
        sinks = 4
        window = 256
        denseLayers = 2
    }

    public static let dense = AttentionConfiguration(.dense)

    // MARK: Parameters

    /// One tunable parameter: its name in job files (the CLI spells it with dashes), the strategies
    /// it applies to, and its range.
    public struct Parameter: Sendable {
        public let name: String
        public let keyPath: WritableKeyPath<AttentionConfiguration, Int> & Sendable
        public let appliesTo: Set<Kind>
        /// Bounds; `k_prime`'s lower bound is `top_k` (see `range(in:)`).
        public let range: ClosedRange<Int>

        /// The range in `configuration` (k′ ≥ k).
        public func range(in configuration: AttentionConfiguration) -> ClosedRange<Int> {
            name == "k_prime" ? max(range.lowerBound, configuration.topK)...range.upperBound : range
        }

        public var optionName: String { name.replacingOccurrences(of: "_", with: "-") }
    }

    static let topKKinds: Set<Kind> = [.topk, .daTopk]
    static let sparseKinds: Set<Kind> = [.topk, .daTopk, .lsh]

    /// Every parameter, in the order errors and help list them.
    public static let parameters: [Parameter] = [
        Parameter(name: "top_k", keyPath: \.topK, appliesTo: topKKinds, range: 1...4096),
        Parameter(name: "k_prime", keyPath: \.candidateCount, appliesTo: topKKinds, range: 1...16384),
        Parameter(name: "bucket_keep", keyPath: \.bucketKeep, appliesTo: topKKinds, range: 1...2),
        Parameter(name: "shards", keyPath: \.shards, appliesTo: [.daTopk], range: 1...64),
        Parameter(name: "lsh_k", keyPath: \.lshBits, appliesTo: [.lsh], range: 1...16),
        Parameter(name: "lsh_l", keyPath: \.lshTables, appliesTo: [.lsh], range: 2...256),
        Parameter(name: "sinks", keyPath: \.sinks, appliesTo: sparseKinds, range: 0...64),
        Parameter(name: "window", keyPath: \.window, appliesTo: sparseKinds, range: 1...8192),
        Parameter(name: "dense_layers", keyPath: \.denseLayers, appliesTo: sparseKinds, range: 0...1024),
    ]

    public static func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// The parameters `kind` uses.
    public static func parameters(of kind: Kind) -> [Parameter] { parameters.filter { $0.appliesTo.contains(kind) } }

    /// Sets `name` to `value` when the parameter applies to this kind and the value is in range.
    /// With `top_k` alone, k′ follows at its default ratio (4k), as the defaults have it.
    public mutating func set(_ name: String, _ value: Int) throws(AttentionConfigurationError) {
        guard let parameter = Self.parameter(named: name) else {
            throw .unknownParameter(name: name, known: Self.parameters.map(\.name))
        }
        guard parameter.appliesTo.contains(kind) else {
            throw .notApplicable(name: name, kind: kind, appliesTo: parameter.appliesTo.map(\.rawValue).sorted())
        }
        guard parameter.range.contains(value) else { throw .outOfRange(name: name, value: value, range: parameter.range) }
        if name == "top_k" && candidateCount == Self(kind).candidateCount && topK == Self(kind).topK {
            candidateCount = value * 4
        }
        self[keyPath: parameter.keyPath] = value
    }

    /// Every parameter in the engine's range (k′ ≥ k included).
    public func validate() throws(AttentionConfigurationError) {
        for parameter in Self.parameters {
            let value = self[keyPath: parameter.keyPath], range = parameter.range(in: self)
            guard range.contains(value) else { throw .outOfRange(name: parameter.name, value: value, range: range) }
        }
    }

    /// The limits of the kernels behind this strategy for a model's attention geometry: the sparse
    /// kernels keep per-row state for at most `CK_SPARSE_MAX_GROUP` query heads per KV head and
    /// handle head dimensions that are multiples of 16 up to `CK_SPARSE_MAX_HEAD_DIM`.
    public func validate(queryHeadsPerKVHead group: Int, headDim: Int) throws(AttentionConfigurationError) {
        try validate()
        guard kind != .dense else { return }
        guard group >= 1 && group <= Int(CK_SPARSE_MAX_GROUP) else {
            throw .unsupportedModel(kind: kind, detail: "\(group) query heads per KV head (at most \(CK_SPARSE_MAX_GROUP))")
        }
        guard headDim % 16 == 0 && headDim >= 16 && headDim <= Int(CK_SPARSE_MAX_HEAD_DIM) else {
            throw .unsupportedModel(kind: kind, detail: "head dimension \(headDim) (a multiple of 16 up to \(CK_SPARSE_MAX_HEAD_DIM))")
        }
    }

    // MARK: Building

    /// The strategy this configuration names. Call `validate()` first: out-of-range values are
    /// programmer errors here.
    public func makeStrategy() -> AttentionStrategy {
        let exemptions = DenseExemptions(denseLayerCount: denseLayers, sinkTokenCount: sinks, windowTokenCount: window)
        let budget = TopKBudget(k: topK, candidateCount: candidateCount, bucketKeep: bucketKeep)
        switch kind {
        case .dense: return DenseAttention()
        case .topk: return TopKAttention(budget: budget, exemptions: exemptions)
        case .daTopk: return ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: shards)
        case .lsh: return LSHAttention(bits: lshBits, tables: lshTables, exemptions: exemptions)
        }
    }

    /// The parameters that differ from the defaults, by name (what a job file needs to spell).
    public var nonDefaultParameters: [(name: String, value: Int)] {
        let defaults = Self(kind)
        var result: [(String, Int)] = []
        for parameter in Self.parameters(of: kind) where self[keyPath: parameter.keyPath] != defaults[keyPath: parameter.keyPath] {
            // k′ at 4k is the default ratio once top_k is set: spelled only when it differs.
            if parameter.name == "k_prime" && candidateCount == topK * 4 { continue }
            result.append((parameter.name, self[keyPath: parameter.keyPath]))
        }
        return result
    }

    /// This configuration with the parameters its kind does not use set to their defaults, so two
    /// configurations that run the same strategy compare equal (the calibration key).
    public var normalized: AttentionConfiguration {
        var result = Self(kind)
        for parameter in Self.parameters(of: kind) { result[keyPath: parameter.keyPath] = self[keyPath: parameter.keyPath] }
        return result
    }

    /// A short label: `lsh(lsh_k=12)`, `topk`, `dense`.
    public var label: String {
        let changed = nonDefaultParameters
        return changed.isEmpty ? kind.rawValue : "\(kind.rawValue)(" + changed.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + ")"
    }

    /// Whether every decode query that sees at most `visibleTokens` tokens is attended densely:
    /// the sparse range (after the sinks, before the window, in whole 64-token pages) never holds
    /// more keys than the strategy's threshold (k for topk / da-topk, 256 for lsh), so the sparse
    /// strategy would run dense attention everywhere (`SparseQueries.split`).
    public func attendsDensely(upToVisibleTokens visibleTokens: Int) -> Bool {
        guard kind != .dense else { return true }
        let exemptions = DenseExemptions(denseLayerCount: denseLayers, sinkTokenCount: sinks, windowTokenCount: window)
        let plan = SparsePlan(visible: visibleTokens, exemptions: exemptions, pageTokenCount: 64)
        return plan.sparseTokenCount <= (kind == .lsh ? LSHAttention.minimumSparseTokens : topK)
    }

    // MARK: Cost-model facts

    /// Bytes of the strategy's index per token per (layer, KV head) of head dimension `headDim`:
    /// topk / da-topk an int4 sketch (40 bytes per 64 keys per 64 channels, `ck_sketch_block_bytes`)
    /// and the f16 key mirror; lsh L 2-byte codes and the key mirror.
    public func indexBytesPerToken(headDim: Int) -> Double {
        let hd = Double(headDim)
        switch kind {
        case .dense: return 0
        case .topk, .daTopk: return 40 * hd / 64 + 2 * hd
        case .lsh: return Double(lshTables) * 2 + 2 * hd
        }
    }

    /// With spilled pages, the share of dense's page loads per decode step a selecting strategy
    /// makes (measured on two 7.6–8.2K-token documents under a 16 MiB budget, BENCHMARKS.md
    /// "Spilled pages"): topk / da-topk 0.45, lsh 0.84; dense 1.
    public var spilledReadFraction: Double {
        switch kind {
        case .dense: 1
        case .topk, .daTopk: 0.45
        case .lsh: 0.84
        }
    }
}

public enum AttentionConfigurationError: Error, Equatable, Sendable {
    case unknownParameter(name: String, known: [String])
    case notApplicable(name: String, kind: AttentionConfiguration.Kind, appliesTo: [String])
    case outOfRange(name: String, value: Int, range: ClosedRange<Int>)
    case unsupportedModel(kind: AttentionConfiguration.Kind, detail: String)
}

extension AttentionConfigurationError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .unknownParameter(name, known):
            "unknown attention parameter \"\(name)\" (known: \(known.joined(separator: ", ")))"
        case let .notApplicable(name, kind, appliesTo):
            "\(name) does not apply to \(kind.rawValue) (it applies to \(appliesTo.joined(separator: ", ")))"
        case let .outOfRange(name, value, range):
            "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), found \(value)"
        case let .unsupportedModel(kind, detail):
            "\(kind.rawValue) attention does not support this model: \(detail)"
        }
    }
}

import ArgumentParser
import Attention

/// Decode-attention strategy and its parameters, shared by bench, generate and eval: every option
/// sets one `AttentionConfiguration` parameter, whose default and range are the library's (one
/// table for job files and the CLI). An option the strategy does not use is a usage error.
struct StrategyOptions: ParsableArguments {
    static let defaults = AttentionConfiguration(.topk)

    @Option(help: "Decode attention strategy: dense, topk (HiRE), da-topk (DA-TOP-k over KV shards), lsh (MagicPIG).")
    var strategy = AttentionConfiguration.Kind.dense.rawValue
    @Option(name: .customLong("k"), help: "topk, da-topk: keys attended per query head in the sparse range (default \(defaults.topK)).")
    var k: Int?
    @Option(name: .customLong("k-prime"), help: "topk, da-topk: candidates scored exactly (default 4 × k).")
    var kPrime: Int?
    @Option(help: "topk, da-topk: candidates each bucket keeps, 1 or 2 (default \(defaults.bucketKeep)).")
    var bucketKeep: Int?
    @Option(help: "da-topk: KV shards (default \(defaults.shards)).")
    var shards: Int?
    @Option(name: .customLong("lsh-k"), help: "lsh: SimHash bits per table, K (default \(defaults.lshBits)).")
    var lshK: Int?
    @Option(name: .customLong("lsh-l"), help: "lsh: hash tables, L (default \(defaults.lshTables)).")
    var lshL: Int?
    @Option(help: "Sparse strategies: attention-sink tokens always attended (default \(defaults.sinks)).")
    var sinks: Int?
    @Option(help: "Sparse strategies: newest tokens always attended, rounded up to whole pages (default \(defaults.window)).")
    var window: Int?
    @Option(help: "Sparse strategies: first layers attended densely (default \(defaults.denseLayers)).")
    var denseLayers: Int?

    /// The options as (job-file parameter name, value), in the configuration's order.
    var given: [(String, Int?)] {
        [("top_k", k), ("k_prime", kPrime), ("bucket_keep", bucketKeep), ("shards", shards), ("lsh_k", lshK), ("lsh_l", lshL),
         ("sinks", sinks), ("window", window), ("dense_layers", denseLayers)]
    }

    /// The configuration these options name; a usage error names the option and its range.
    func configuration() throws -> AttentionConfiguration {
        guard let kind = AttentionConfiguration.Kind(rawValue: strategy) else {
            let known = AttentionConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("attention strategy \"\(strategy)\" is not implemented (available: \(known))")
        }
        var configuration = AttentionConfiguration(kind)
        for case let (name, value?) in given {
            let option = "--" + (name == "top_k" ? "k" : AttentionConfiguration.parameter(named: name)!.optionName)
            do {
                try configuration.set(name, value)
            } catch {
                throw ValidationError("\(option): \(error)")
            }
        }
        do {
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return configuration
    }

    func validate() throws { _ = try configuration() }

    func make() throws -> AttentionStrategy { try configuration().makeStrategy() }
}

import Attention

/// The decode-attention strategies the CLI can build by name. A name that is not implemented is
/// a usage error, never a silent fallback to another strategy.
func makeDecodeAttention(_ options: StrategyOptions) throws -> AttentionStrategy {
    let exemptions = DenseExemptions(denseLayerCount: options.denseLayers, sinkTokenCount: options.sinks,
                                     windowTokenCount: options.window)
    let budget = TopKBudget(k: options.k, candidateCount: options.kPrime, bucketKeep: options.bucketKeep)
    switch options.strategy {
    case "dense": return DenseAttention()
    case "topk": return TopKAttention(budget: budget, exemptions: exemptions)
    case "da-topk": return ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: options.shards)
    case "lsh": return LSHAttention(bits: options.lshK, tables: options.lshL, exemptions: exemptions)
    default: throw CLIFailure(.usage, "attention strategy \"\(options.strategy)\" is not implemented (available: dense, topk, da-topk, lsh)")
    }
}

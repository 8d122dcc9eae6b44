import Attention
import KVCache

extension StrategyMix {
    /// The decode-attention strategy this mix names, at the library defaults for every parameter
    /// the mix leaves open (TopKBudget, DenseExemptions, LSHAttention, ShardedTopKAttention):
    /// the configurations `pipeline eval` calibrates.
    public func makeAttention() -> AttentionStrategy {
        let defaults = TopKBudget(), k = topK ?? defaults.k
        let budget = TopKBudget(k: k, candidateCount: defaults.candidateCount / defaults.k * k) // k′/k as the default
        switch attention {
        case .dense: return DenseAttention()
        case .topk: return TopKAttention(budget: budget)
        case .daTopk: return ShardedTopKAttention(budget: budget, shardCount: shards ?? 4)
        case .lsh: return LSHAttention(bits: lshK ?? 10, tables: lshL ?? 150)
        }
    }

    /// The KV cache format, nil for formats the cache store does not implement (f32).
    public var cacheFormat: KVCacheFormat? { KVCacheFormat(rawValue: kv.rawValue) }

    /// The key of this mix's measured attention cost in a machine profile and of its calibration
    /// rows: `"<strategy>+<kv>"`, e.g. `topk+int8` (parameters at their defaults).
    public var costKey: String { "\(attention.rawValue)+\(kv.rawValue)" }
}

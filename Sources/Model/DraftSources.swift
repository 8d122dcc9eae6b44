import Attention
import Tensor

/// Draft sources by kind with the project's default parameters.
public enum DraftSources {
    /// The self draft's attention: topk (HiRE) with `budget` keys per KV head beyond 4 sinks and a
    /// 64-token window, every layer sparse (a draft can afford what a final answer cannot).
    public static func selfDraftAttention(budget: Int) -> AttentionStrategy {
        TopKAttention(budget: TopKBudget(k: budget, candidateCount: max(budget, 4 * budget), bucketKeep: 2),
                      exemptions: DenseExemptions(denseLayerCount: 0, sinkTokenCount: 4, windowTokenCount: 64))
    }

    public static func make(_ kind: DraftSourceKind, model: LlamaModel, pool: ThreadPool, budget: Int = 256) -> DraftSource {
        // The draft's matmuls take q8 activations (the integer kernels, about twice the fp32
        // matvec's speed here): a draft only has to be likely, the dense verification is exact.
        func selfDraft() -> SelfDraft {
            let context = ForwardContext(model: model, pool: pool, maxTokens: 8, decodeAttention: selfDraftAttention(budget: budget))
            context.activations = .q8
            return SelfDraft(context: context)
        }
        switch kind {
        case .lookup: return LookupDraft()
        case .selfDraft: return selfDraft()
        case .hier: return HierarchicalDraft(lookup: LookupDraft(), fallback: selfDraft())
        }
    }
}

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
        func selfDraft() -> SelfDraft {
            SelfDraft(context: ForwardContext(model: model, pool: pool, maxTokens: 8, decodeAttention: selfDraftAttention(budget: budget)))
        }
        switch kind {
        case .lookup: return LookupDraft()
        case .selfDraft: return selfDraft()
        case .hier: return HierarchicalDraft(lookup: LookupDraft(), fallback: selfDraft())
        }
    }
}

import Attention

/// Self-speculation (MagicDec, arXiv 2408.11049; TriForce's middle level): the target's own
/// weights draft greedily, one token at a time, with a sparse decode attention (topk, lsh, …)
/// over the sequence's own KV instead of dense. The draft steps append to the sequence (their
/// keys and values are the draft model's own), and the sequence is rolled back to where it was
/// before the proposal returns: cache, the strategy's per-sequence index, and tokens.
public final class SelfDraft: DraftSource {
    public var name: String { "self" }
    /// A context of the same model whose decode attention is the draft's strategy.
    public let context: ForwardContext

    public init(context: ForwardContext) {
        self.context = context
    }

    public func propose(sequence: SequenceState, pending: Int32, limit: Int) throws(ModelError) -> [Int32] {
        let start = sequence.tokenCount
        var drafts: [Int32] = []
        var next = pending
        defer { try? sequence.truncate(to: start) }
        while drafts.count < limit {
            let logits = try context.forward([ForwardRequest(sequence, tokens: [next])])[0].last
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            next = Int32(best)
            drafts.append(next)
        }
        try sequence.truncate(to: start)
        return drafts
    }
}

/// TriForce's hierarchy reduced to a chain: the free lookup draft where the sequence's suffix
/// occurs earlier, the self draft where it does not. (Stacked verification, the lookup's tokens
/// checked by the sparse self model before the dense pass, needs a multi-row sparse decode that
/// the attention strategies do not offer; see docs/speculative-decoding.md.)
public final class HierarchicalDraft: DraftSource {
    public var name: String { "hier" }
    public let lookup: LookupDraft
    public let fallback: SelfDraft

    public init(lookup: LookupDraft, fallback: SelfDraft) {
        self.lookup = lookup
        self.fallback = fallback
    }

    public func propose(sequence: SequenceState, pending: Int32, limit: Int) throws(ModelError) -> [Int32] {
        let drafts = try lookup.propose(sequence: sequence, pending: pending, limit: limit)
        return drafts.isEmpty ? try fallback.propose(sequence: sequence, pending: pending, limit: limit) : drafts
    }
}

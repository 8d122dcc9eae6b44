/// What a decode-attention strategy keeps about one sequence between decode steps: key sketches,
/// hash tables, key means (built lazily from the KV cache on the sequence's first sparse decode
/// step, extended as tokens leave the recent window). It lives with the sequence, not with the
/// strategy: one strategy instance serves every sequence of a batch, and a sequence outlives the
/// batch it was decoded in.
public protocol AttentionIndex: AnyObject {
    /// Forgets everything derived from tokens at positions ≥ `tokenCount` (the sequence was rolled back).
    func truncate(to tokenCount: Int)
    /// Bytes the index holds (reported beside the KV it indexes).
    var byteCount: Int { get }
}

/// A sequence's slot for its attention index: `SequenceState` owns one and hands it to every
/// `DecodeQuery`; the strategy that decodes the sequence fills it (replacing an index of another
/// kind or configuration). Not for concurrent use, like the sequence itself.
public final class AttentionIndexSlot {
    public var index: AttentionIndex?

    public init() {}

    public func truncate(to tokenCount: Int) { index?.truncate(to: tokenCount) }
}

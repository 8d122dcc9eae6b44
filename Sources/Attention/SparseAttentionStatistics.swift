/// What the sparse strategies did, summed over decode steps: how much of the KV they skipped and
/// which pages they read. Item counts are per (sequence, layer, KV head) step.
public struct SparseAttentionStatistics: Sendable, Codable, Equatable {
    /// Steps attended sparsely, and densely (dense layers, contexts too short to skip anything).
    public var sparseHeadSteps = 0
    public var denseHeadSteps = 0
    /// Keys in the sparse ranges (what dense attention would have read there).
    public var sparseTokens = 0
    /// Keys scored exactly (topk: candidates; lsh: samples; da-topk: the keys shards returned).
    public var candidateTokens = 0
    /// Keys attended in the sparse ranges.
    public var selectedTokens = 0
    /// Pages in the sparse ranges; distinct pages read for the values of selected keys; pages read
    /// for sinks and windows.
    public var sparsePages = 0
    public var valuePagesRead = 0
    public var densePagesRead = 0
    /// Pages read to build or extend the per-sequence indexes.
    public var indexPagesRead = 0
    /// Bytes of shard messages (DA-TOP-k): requests and replies.
    public var bytesExchanged = 0

    public init() {}

    /// Fraction of the sparse ranges' pages whose values were read.
    public var valuePageFraction: Double { sparsePages > 0 ? Double(valuePagesRead) / Double(sparsePages) : 0 }

    mutating func add(_ o: SparseAttentionStatistics) {
        sparseHeadSteps += o.sparseHeadSteps; denseHeadSteps += o.denseHeadSteps
        sparseTokens += o.sparseTokens; candidateTokens += o.candidateTokens; selectedTokens += o.selectedTokens
        sparsePages += o.sparsePages; valuePagesRead += o.valuePagesRead; densePagesRead += o.densePagesRead
        indexPagesRead += o.indexPagesRead; bytesExchanged += o.bytesExchanged
    }
}

/// Strategies that report `SparseAttentionStatistics`.
public protocol SparseAttentionStrategy: AttentionStrategy {
    var statistics: SparseAttentionStatistics { get }
    func resetStatistics()
    /// Bytes of a sequence's index (nil when the slot holds no index of this strategy).
    func indexByteCount(_ slot: AttentionIndexSlot) -> IndexSize?
}

/// An index's memory beside the KV it indexes (f16 keys and values of the indexed tokens).
public struct IndexSize: Sendable, Codable, Equatable {
    /// The strategy's own structures (sketches; hash tables, norms, means).
    public var indexBytes: Int
    /// The token-major key mirror the exact scores read (KeyMirror).
    public var mirrorBytes: Int
    /// f16 bytes of the keys and values those structures cover.
    public var indexedKVBytes: Int
}

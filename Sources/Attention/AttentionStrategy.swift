import KVCache
import Tensor

/// How a decode step attends over a sequence's KV cache. Implementations: dense (exact,
/// FlashDecoding-style split over threads), topk (HiRE), da-topk (DA-TOP-k over KV shards), lsh
/// (MagicPIG). Every implementation produces, per query head, the softmax-weighted sum of values
/// over the keys it chooses to visit; partial results over disjoint key sets merge exactly
/// through log-sum-exp (`ck_attn_merge`).
///
/// An instance owns scratch memory: use one per forward context, not concurrently. What a
/// strategy keeps per sequence lives in the sequence's `AttentionIndexSlot` (`DecodeQuery.index`).
public protocol AttentionStrategy: AnyObject {
    var name: String { get }
    /// The strategy's parameters, `key=value` joined by commas (empty for none): calibration rows
    /// and reports name a configuration by `name` and this.
    var parameterDescription: String { get }
    /// Attends the queries of one layer, one query token per sequence. Throws when a page it
    /// loads fails (only a strategy that `prefetchesOwnPages` loads pages).
    func decode(_ queries: [DecodeQuery], layer: Int, pool: ThreadPool) throws(KVCacheError)
    /// False (the default): the forward pass prefetches every page of the layer before `decode`
    /// (`KVCache.prefetch`). A strategy that reads only pages it selects returns true and
    /// prefetches those itself (the sparse strategies: `SelectedPages`), so a spilled cache loads
    /// only them.
    var prefetchesOwnPages: Bool { get }
}

extension AttentionStrategy {
    public var prefetchesOwnPages: Bool { false }
}

extension AttentionStrategy {
    public var parameterDescription: String { "" }
}

/// One sequence's query token at one layer.
public struct DecodeQuery {
    public let cache: KVCache
    /// Keys visible to the query: positions 0..<visibleTokenCount (stored, maybe not yet committed).
    public let visibleTokenCount: Int
    /// `[headCount][headDim]` fp32, already scaled by 1/sqrt(headDim).
    public let q: UnsafePointer<Float>
    /// `[headCount][headDim]` result.
    public let out: UnsafeMutablePointer<Float>
    public let headCount: Int
    /// The sequence's per-sequence strategy state (a fresh slot when the caller keeps none).
    public let index: AttentionIndexSlot

    public init(cache: KVCache, visibleTokenCount: Int, q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, headCount: Int,
                index: AttentionIndexSlot = AttentionIndexSlot()) {
        self.cache = cache
        self.visibleTokenCount = visibleTokenCount
        self.q = q
        self.out = out
        self.headCount = headCount
        self.index = index
    }
}

/// A growable scratch buffer of floats.
final class FloatScratch {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(_ capacity: Int = 0) {
        self.capacity = max(capacity, 16)
        pointer = .allocate(capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// At least `count` floats; contents are not preserved when it grows.
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
        }
        return pointer
    }
}

/// The per-sequence key/value store: what a sequence's attention reads back at every step.
///
/// Tokens live in fixed-size pages per (layer, KV head). Keys are stored transposed within a
/// page (`[headDim][pageTokenCount]`), so scoring a query against a page is an outer product
/// with no horizontal sums; values row-major (`[pageTokenCount][headDim]`). Formats differ in
/// how a page encodes its numbers (`KVFormat`); attention reads pages through `KVPage`.
///
/// Writing happens layer by layer inside a forward pass: `reserve` makes room first (the only
/// call that allocates), then `store` may run concurrently for different tokens, and `commit`
/// publishes the new token count once every layer holds them.
public protocol KVCache: AnyObject {
    var geometry: KVGeometry { get }
    var format: KVFormat { get }
    /// Tokens stored in every layer.
    var tokenCount: Int { get }
    /// Makes room for tokens up to `tokenCount` (exclusive) in every layer.
    func reserve(tokenCount: Int)
    /// Stores one token's keys and values for all KV heads of `layer` (`[kvHeadCount][headDim]` fp32 each,
    /// keys after RoPE). `position` < the reserved capacity.
    func store(layer: Int, position: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>)
    /// Declares tokens `0..<tokenCount` written in every layer.
    func commit(tokenCount: Int)
    /// Forgets tokens from `tokenCount` on (e.g. to reuse a document's prefix for the next prompt).
    func truncate(to tokenCount: Int)
    /// Page `index` of (`layer`, `kvHead`). Which of its tokens are valid is the caller's
    /// knowledge: during a forward pass, tokens stored but not yet committed are read too.
    func page(layer: Int, kvHead: Int, index: Int) -> KVPage
    /// Bytes of KV held in RAM.
    var residentByteCount: Int { get }
}

extension KVCache {
    public var pageTokenCount: Int { geometry.pageTokenCount }
    /// Pages holding tokens `0..<tokenCount`.
    public func pageCount(for tokenCount: Int) -> Int { (tokenCount + pageTokenCount - 1) / pageTokenCount }
}

/// Shape of a model's KV.
public struct KVGeometry: Sendable, Equatable {
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let pageTokenCount: Int

    public init(layerCount: Int, kvHeadCount: Int, headDim: Int, pageTokenCount: Int = 64) {
        precondition(pageTokenCount == 64, "kernels assume 64-token pages")
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.pageTokenCount = pageTokenCount
    }

    /// f16 bytes of keys + values per token across all layers and heads.
    public var f16BytesPerToken: Int { layerCount * kvHeadCount * headDim * 2 * 2 }
}

/// How a cache encodes its numbers.
public enum KVFormat: String, Sendable, CaseIterable, Codable {
    case f16
}

/// Read access to one page for the attention kernels. Pointers stay valid until the cache is
/// next reserved, truncated or released.
public enum KVPage {
    /// keys `[headDim][64]`, values `[64][headDim]`, both f16.
    case f16(keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>)
}

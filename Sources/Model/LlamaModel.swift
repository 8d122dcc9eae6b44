import CKernels
import Attention
import GGUF
import KVCache
import Tensor

/// A loaded llama-family model: config and weights (read-only, memory-mapped, `Sendable`).
/// Per-sequence state lives in `SequenceState`; scratch for forward passes in `ForwardContext`.
public final class LlamaModel: Sendable {
    public let file: GGUFFile
    public let config: LlamaConfig
    public let weights: LlamaWeights
    /// XXH64 of the GGUF header, metadata and tensor infos (everything before the tensor data),
    /// seeded with the file size: a cheap identity of the model for KV snapshot keys.
    public let contentDigest: UInt64

    public convenience init(path: String) throws(ModelError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw .file(error) }
        try self.init(file: file)
    }

    public init(file: GGUFFile) throws(ModelError) {
        self.file = file
        config = try LlamaConfig(file)
        weights = try LlamaWeights(file: file, config: config)
        let bytes = file.mapping.bytes
        contentDigest = ck_xxh64(bytes.baseAddress, min(file.dataOffset, bytes.count), UInt64(bytes.count))
    }

    public var kvGeometry: KVGeometry {
        KVGeometry(layerCount: config.layerCount, kvHeadCount: config.kvHeadCount, headDim: config.headDim)
    }

    /// A new, empty sequence whose KV cache `cache` makes for this model's geometry.
    public func makeSequence(cache: KVCacheFactory) throws(ModelError) -> SequenceState {
        do {
            return SequenceState(cache: try cache.makeCache(geometry: kvGeometry))
        } catch {
            throw .kvCache(error)
        }
    }

    /// A new, empty sequence over a paged KV cache in `format` (`KVCacheFactory.paged`).
    public func makeSequence(format: KVFormat = .f16, budget: KVMemoryBudget? = nil) throws(ModelError) -> SequenceState {
        try makeSequence(cache: .paged(format, budget: budget))
    }
}

/// One sequence's state: its KV cache and the tokens it holds.
public final class SequenceState {
    public let cache: KVCache
    /// The tokens whose keys and values are in the cache, in order.
    public private(set) var tokens: [Int32] = []
    /// What the decode-attention strategy keeps about this sequence (sketches, hash tables);
    /// truncated with the cache.
    public let attentionIndex = AttentionIndexSlot()

    public init(cache: KVCache) {
        precondition(cache.tokenCount == 0)
        self.cache = cache
    }

    /// A sequence over a cache that already holds `tokens` (a loaded document snapshot).
    public init(cache: KVCache, tokens: [Int32]) {
        precondition(cache.tokenCount == tokens.count)
        self.cache = cache
        self.tokens = tokens
    }

    public var tokenCount: Int { tokens.count }

    /// Keeps only the first `count` tokens (the KV of the rest is forgotten).
    public func truncate(to count: Int) throws(ModelError) {
        precondition(count >= 0 && count <= tokens.count)
        do { try cache.truncate(to: count) } catch { throw .kvCache(error) }
        tokens.removeLast(tokens.count - count)
        attentionIndex.truncate(to: count)
    }

    func append(_ new: some Collection<Int32>) throws(ModelError) {
        do { try cache.commit(tokenCount: tokens.count + new.count) } catch { throw .kvCache(error) }
        tokens.append(contentsOf: new)
    }
}

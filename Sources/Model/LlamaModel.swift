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

    public init(path: String) throws(ModelError) {
        do { file = try GGUFFile(path: path) } catch { throw .file(error) }
        config = try LlamaConfig(file)
        weights = try LlamaWeights(file: file, config: config)
    }

    public init(file: GGUFFile) throws(ModelError) {
        self.file = file
        config = try LlamaConfig(file)
        weights = try LlamaWeights(file: file, config: config)
    }

    public var kvGeometry: KVGeometry {
        KVGeometry(layerCount: config.layerCount, kvHeadCount: config.kvHeadCount, headDim: config.headDim)
    }

    /// A sequence whose cache format is given by name (`KVFormat.rawValue`); nil for unknown names.
    public func makeSequence(formatNamed name: String) -> SequenceState? {
        KVFormat(rawValue: name).map { makeSequence(format: $0) }
    }

    /// A new, empty sequence with its own KV cache.
    public func makeSequence(format: KVFormat = .f16) -> SequenceState {
        switch format {
        case .f16: SequenceState(cache: F16PagedKVCache(geometry: kvGeometry))
        }
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

    public init(cache: KVCache) { self.cache = cache }

    public var tokenCount: Int { tokens.count }

    /// Keeps only the first `count` tokens (the KV of the rest is forgotten).
    public func truncate(to count: Int) {
        precondition(count >= 0 && count <= tokens.count)
        tokens.removeLast(tokens.count - count)
        cache.truncate(to: count)
        attentionIndex.truncate(to: count)
    }

    func append(_ new: some Collection<Int32>) {
        tokens.append(contentsOf: new)
        cache.commit(tokenCount: tokens.count)
    }
}

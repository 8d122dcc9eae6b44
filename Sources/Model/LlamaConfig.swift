import GGUF

/// Hyperparameters of a llama-family model, read from GGUF metadata (`<arch>.*` keys).
public struct LlamaConfig: Sendable, Equatable {
    public enum RopeStyle: Sendable { case adjacentPairs, neox }

    public let architecture: String
    public let layerCount: Int
    public let embeddingLength: Int
    public let feedForwardLength: Int
    public let headCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    public let contextLength: Int
    public let rmsEpsilon: Float
    public let ropeBase: Double
    public let ropeDimensionCount: Int
    /// Positions are divided by this (`rope.scaling.type = linear`).
    public let ropeLinearScale: Double
    public let ropeStyle: RopeStyle
    public let vocabularySize: Int

    public var groupSize: Int { headCount / kvHeadCount }
    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { kvHeadCount * headDim }

    /// Architectures this engine runs. Both use RMSNorm, SwiGLU and GQA; qwen2 adds QKV biases and
    /// rotates halves of each head (NeoX style) where llama rotates adjacent pairs (as llama.cpp
    /// applies RoPE to GGUF weights, whose Q/K rows the converter permuted accordingly).
    public static let architectures = ["llama", "qwen2"]

    public init(_ file: GGUFFile) throws(ModelError) {
        do {
            guard let arch = try file.string("general.architecture") else { throw ModelError.invalidConfig(key: "general.architecture", reason: "missing") }
            guard Self.architectures.contains(arch) else { throw ModelError.unsupportedArchitecture(arch) }
            architecture = arch
            func int(_ k: String) throws -> Int { try file.requireInt("\(arch).\(k)") }
            func positive(_ k: String, _ v: Int) throws -> Int {
                guard v > 0, v < 1 << 24 else { throw ModelError.invalidConfig(key: "\(arch).\(k)", reason: "\(v) is out of range") }
                return v
            }
            layerCount = try positive("block_count", try int("block_count"))
            embeddingLength = try positive("embedding_length", try int("embedding_length"))
            feedForwardLength = try positive("feed_forward_length", try int("feed_forward_length"))
            headCount = try positive("attention.head_count", try int("attention.head_count"))
            kvHeadCount = try positive("attention.head_count_kv", try file.int("\(arch).attention.head_count_kv") ?? headCount)
            guard headCount % kvHeadCount == 0 else {
                throw ModelError.invalidConfig(key: "\(arch).attention.head_count_kv", reason: "\(kvHeadCount) does not divide \(headCount) heads")
            }
            headDim = try positive("attention.key_length", try file.int("\(arch).attention.key_length") ?? embeddingLength / headCount)
            guard headDim % 16 == 0 else { throw ModelError.invalidConfig(key: "\(arch).attention.key_length", reason: "head size \(headDim) is not a multiple of 16") }
            contextLength = try positive("context_length", try file.int("\(arch).context_length") ?? 4096)
            let eps = try file.double("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5
            guard eps.isFinite, eps > 0, eps < 1 else { throw ModelError.invalidConfig(key: "\(arch).attention.layer_norm_rms_epsilon", reason: "\(eps)") }
            rmsEpsilon = Float(eps)
            ropeBase = try file.double("\(arch).rope.freq_base") ?? 10000
            guard ropeBase.isFinite, ropeBase > 1 else {
                throw ModelError.invalidConfig(key: "\(arch).rope.freq_base", reason: "\(ropeBase) (RoPE needs a finite base above 1)")
            }
            ropeDimensionCount = try file.int("\(arch).rope.dimension_count") ?? headDim
            guard ropeDimensionCount >= 2, ropeDimensionCount <= headDim, ropeDimensionCount % 2 == 0 else {
                throw ModelError.invalidConfig(key: "\(arch).rope.dimension_count", reason: "\(ropeDimensionCount) for head size \(headDim)")
            }
            switch try file.string("\(arch).rope.scaling.type") {
            case nil, "none": ropeLinearScale = 1
            case "linear":
                ropeLinearScale = try file.double("\(arch).rope.scaling.factor") ?? 1
                guard ropeLinearScale.isFinite, ropeLinearScale > 0 else {
                    throw ModelError.invalidConfig(key: "\(arch).rope.scaling.factor", reason: "\(ropeLinearScale) (a positive factor)")
                }
            case let other?: throw ModelError.invalidConfig(key: "\(arch).rope.scaling.type", reason: "\"\(other)\" is not supported")
            }
            ropeStyle = arch == "qwen2" ? .neox : .adjacentPairs
            guard let embd = file.tensor(named: TensorNames.tokenEmbedding) else { throw ModelError.missingTensor(TensorNames.tokenEmbedding) }
            vocabularySize = embd.rowCount
        } catch let e as ModelError {
            throw e
        } catch let e as GGUFError {
            throw .file(e)
        } catch {
            throw .invalidConfig(key: "metadata", reason: "\(error)")
        }
    }
}

/// GGUF tensor names of the llama family, in one place (llama.cpp's LLM_TENSOR_* table).
public enum TensorNames {
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    public static let output = "output.weight"
    public static let ropeFrequencies = "rope_freqs.weight"
    public static func attentionNorm(_ l: Int) -> String { "blk.\(l).attn_norm.weight" }
    public static func q(_ l: Int) -> String { "blk.\(l).attn_q.weight" }
    public static func k(_ l: Int) -> String { "blk.\(l).attn_k.weight" }
    public static func v(_ l: Int) -> String { "blk.\(l).attn_v.weight" }
    public static func qBias(_ l: Int) -> String { "blk.\(l).attn_q.bias" }
    public static func kBias(_ l: Int) -> String { "blk.\(l).attn_k.bias" }
    public static func vBias(_ l: Int) -> String { "blk.\(l).attn_v.bias" }
    public static func attentionOutput(_ l: Int) -> String { "blk.\(l).attn_output.weight" }
    public static func ffnNorm(_ l: Int) -> String { "blk.\(l).ffn_norm.weight" }
    public static func gate(_ l: Int) -> String { "blk.\(l).ffn_gate.weight" }
    public static func up(_ l: Int) -> String { "blk.\(l).ffn_up.weight" }
    public static func down(_ l: Int) -> String { "blk.\(l).ffn_down.weight" }
}

import Foundation
import Tensor

/// A decode-attention strategy and KV format (DESIGN.md, "Attention strategies"): pinned by a job,
/// or reported by the engine as what it chose. Parameters left nil mean the engine's defaults.
public struct StrategyMix: Codable, Hashable, Sendable {
    public var attention: AttentionKind
    public var kv: KVFormat
    /// LSH (MagicPIG): bits per table and number of tables.
    public var lshK: Int?
    public var lshL: Int?
    /// Top-k (HiRE, DA-TOP-k): keys kept per step.
    public var topK: Int?
    /// DA-TOP-k: number of KV shards.
    public var shards: Int?
    /// The matmuls' activation format (issue 14); f32 unless a job pins another. Left out of the
    /// JSON when f32, so specs and job ids without it are unchanged (StrategyMix+Activations.swift).
    public var activations: ActivationFormat = .f32

    public init(attention: AttentionKind, kv: KVFormat = .f16, lshK: Int? = nil, lshL: Int? = nil, topK: Int? = nil,
                shards: Int? = nil) {
        self.attention = attention
        self.kv = kv
        self.lshK = lshK
        self.lshL = lshL
        self.topK = topK
        self.shards = shards
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case attention, kv, shards, activations
        case lshK = "lsh_k"
        case lshL = "lsh_l"
        case topK = "top_k"
    }

    /// A short label for status and metrics, e.g. `lsh(K=10,L=150)+int4`.
    public var label: String {
        var parameters: [String] = []
        if let lshK { parameters.append("K=\(lshK)") }
        if let lshL { parameters.append("L=\(lshL)") }
        if let topK { parameters.append("k=\(topK)") }
        if let shards { parameters.append("S=\(shards)") }
        let attentionPart = parameters.isEmpty ? attention.rawValue : "\(attention.rawValue)(\(parameters.joined(separator: ",")))"
        return "\(attentionPart)+\(kv.rawValue)" + (activations == .f32 ? "" : "+\(activations.rawValue)")
    }
}

public enum AttentionKind: String, Codable, Sendable, CaseIterable {
    case dense, topk
    case daTopk = "da-topk"
    case lsh
}

public enum KVFormat: String, Codable, Sendable, CaseIterable {
    case f32, f16, int8, int4
}

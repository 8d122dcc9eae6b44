import Tensor

/// StrategyMix's JSON: every field as synthesized Codable would write it, except `activations`,
/// which is written only when not f32 and read as f32 when absent, so stored specs, job ids and
/// labels of mixes without it stay what they were before the field existed.
extension StrategyMix {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(attention: try c.decode(AttentionKind.self, forKey: .attention), kv: try c.decode(KVFormat.self, forKey: .kv),
                  lshK: try c.decodeIfPresent(Int.self, forKey: .lshK), lshL: try c.decodeIfPresent(Int.self, forKey: .lshL),
                  topK: try c.decodeIfPresent(Int.self, forKey: .topK), shards: try c.decodeIfPresent(Int.self, forKey: .shards))
        activations = try c.decodeIfPresent(ActivationFormat.self, forKey: .activations) ?? .f32
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(attention, forKey: .attention)
        try c.encode(kv, forKey: .kv)
        try c.encodeIfPresent(lshK, forKey: .lshK)
        try c.encodeIfPresent(lshL, forKey: .lshL)
        try c.encodeIfPresent(topK, forKey: .topK)
        try c.encodeIfPresent(shards, forKey: .shards)
        if activations != .f32 { try c.encode(activations, forKey: .activations) }
    }
}

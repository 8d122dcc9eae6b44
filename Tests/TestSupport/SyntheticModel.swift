import Foundation
import GGUF

/// Tiny llama-family GGUF models with random weights, written in code so unit tests never
/// download anything. Every shape rule of the real architectures holds (GQA, tied or separate
/// output, qwen2 biases); weights are valid random blocks of the chosen type.
public struct SyntheticModel: Sendable {
    public var architecture = "llama"
    public var layerCount = 2
    public var embeddingLength = 64
    public var feedForwardLength = 128
    public var headCount = 4
    public var kvHeadCount = 2
    public var vocabularySize = 96
    public var contextLength = 512
    public var ropeBase = 10000.0
    public var weightType: GGMLType = .q8_0
    public var tiedOutput = true
    public var seed: UInt64 = 1
    /// Extra metadata (e.g. a tokenizer); written after the model's own keys.
    public var extraMetadata: [(String, GGUFValue)] = []

    public init() {}

    public var headDim: Int { embeddingLength / headCount }

    /// Random blocks scaled so activations stay O(1) through a few layers.
    func matrix(_ name: String, rows: Int, columns: Int, salt: UInt64, type: GGMLType? = nil) -> GGUFWriter.Tensor {
        let t = type ?? weightType
        let (bs, _) = t.blockGeometry!
        precondition(columns % bs == 0, "\(name): \(columns) columns do not fill \(t) blocks")
        // Weights of magnitude ~0.1: k-quants multiply d by 6-bit (Q4_K/Q5_K) or signed 8-bit (Q6_K)
        // sub-block scales, so their d must be smaller.
        let scale: ClosedRange<Float> = t == .q6_K ? 0.00002...0.0002 : bs == 256 ? 0.0002...0.002 : 0.002...0.02
        let bytes = RandomBlocks.make(t, rows: rows, columns: columns, seed: seed &* 7919 &+ salt, scale: scale, floatStd: 0.08)
        return GGUFWriter.Tensor(name: name, type: t, dims: [columns, rows], data: bytes)
    }

    func vector(_ count: Int, salt: UInt64, around: Float, spread: Float) -> [Float] {
        var rng = SeededRandom(seed: seed &* 104_729 &+ salt)
        return (0..<count).map { _ in around + spread * rng.normal() }
    }

    public func gguf() -> GGUFWriter {
        var w = GGUFWriter()
        let a = architecture
        w.set("general.architecture", .string(a))
        w.set("general.name", .string("synthetic-\(a)"))
        w.set("\(a).block_count", .uint32(UInt32(layerCount)))
        w.set("\(a).context_length", .uint32(UInt32(contextLength)))
        w.set("\(a).embedding_length", .uint32(UInt32(embeddingLength)))
        w.set("\(a).feed_forward_length", .uint32(UInt32(feedForwardLength)))
        w.set("\(a).attention.head_count", .uint32(UInt32(headCount)))
        w.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeadCount)))
        w.set("\(a).rope.freq_base", .float32(Float(ropeBase)))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-5))
        for (k, v) in extraMetadata { w.set(k, v) }

        let d = embeddingLength, q = headCount * headDim, kv = kvHeadCount * headDim, f = feedForwardLength
        w.add(matrix("token_embd.weight", rows: vocabularySize, columns: d, salt: 1))
        for l in 0..<layerCount {
            let s = UInt64(100 * (l + 1))
            w.addF32("blk.\(l).attn_norm.weight", dims: [d], values: vector(d, salt: s + 1, around: 1, spread: 0.1))
            w.add(matrix("blk.\(l).attn_q.weight", rows: q, columns: d, salt: s + 2))
            w.add(matrix("blk.\(l).attn_k.weight", rows: kv, columns: d, salt: s + 3))
            w.add(matrix("blk.\(l).attn_v.weight", rows: kv, columns: d, salt: s + 4))
            if a == "qwen2" {
                w.addF32("blk.\(l).attn_q.bias", dims: [q], values: vector(q, salt: s + 5, around: 0, spread: 0.3))
                w.addF32("blk.\(l).attn_k.bias", dims: [kv], values: vector(kv, salt: s + 6, around: 0, spread: 0.3))
                w.addF32("blk.\(l).attn_v.bias", dims: [kv], values: vector(kv, salt: s + 7, around: 0, spread: 0.3))
            }
            w.add(matrix("blk.\(l).attn_output.weight", rows: d, columns: q, salt: s + 8))
            w.addF32("blk.\(l).ffn_norm.weight", dims: [d], values: vector(d, salt: s + 9, around: 1, spread: 0.1))
            w.add(matrix("blk.\(l).ffn_gate.weight", rows: f, columns: d, salt: s + 10))
            w.add(matrix("blk.\(l).ffn_up.weight", rows: f, columns: d, salt: s + 11))
            w.add(matrix("blk.\(l).ffn_down.weight", rows: d, columns: f, salt: s + 12))
        }
        w.addF32("output_norm.weight", dims: [d], values: vector(d, salt: 3, around: 1, spread: 0.1))
        if !tiedOutput { w.add(matrix("output.weight", rows: vocabularySize, columns: d, salt: 4)) }
        return w
    }

    /// Writes the model into `directory` and returns its path.
    @discardableResult
    public func write(in directory: TemporaryDirectory, name: String = "model.gguf") -> String {
        directory.write(name, gguf().bytes())
    }
}

import Foundation
import GGUF
import Model
import Tensor
import Testing
import TestSupport

/// The engine's forward pass on tiny random models against a plain double-precision reference:
/// chunked prefill, batched decode of sequences at different positions, mixed batches, KV
/// rollback; llama (adjacent-pair RoPE, GQA, tied or separate output) and qwen2 (biases, NeoX
/// RoPE); every weight type.
@Suite struct SyntheticForwardTests {
    static func spec(_ arch: String, _ type: GGMLType, tied: Bool = true, heads: Int = 4, kvHeads: Int = 2,
                     embedding: Int = 64) -> SyntheticModel {
        var m = SyntheticModel()
        m.architecture = arch
        m.weightType = type
        m.tiedOutput = tied
        m.headCount = heads
        m.kvHeadCount = kvHeads
        m.embeddingLength = embedding
        if type.blockGeometry!.blockSize == 256 { m.embeddingLength = 256; m.feedForwardLength = 512; m.headCount = 4 }
        m.seed = UInt64(type.rawValue) + (arch == "qwen2" ? 1000 : 0)
        return m
    }

    /// max |a - b| relative to the largest reference logit.
    static func relativeError(_ a: UnsafeBufferPointer<Float>, _ b: [Double]) -> Double {
        let scale = max(1e-6, b.map(abs).max()!)
        return zip(a, b).map { abs(Double($0) - $1) }.max()! / scale
    }

    /// Both sides round K and V to f16; computed in fp32 and in double, a value near a rounding
    /// boundary can land one f16 step (2^-11 relative) apart, which moves logits by ~1e-4–5e-4 of
    /// their range. A wrong kernel or a misplaced position gives errors of order 1.
    static let tolerance = 1e-3

    static let models: [SyntheticModel] = [
        spec("llama", .q8_0), spec("llama", .q4_1, tied: false), spec("llama", .q4_0, heads: 4, kvHeads: 1),
        spec("llama", .q5_0), spec("llama", .q5_1), spec("llama", .f16, heads: 2, kvHeads: 2), spec("llama", .bf16),
        spec("llama", .f32), spec("llama", .q4_K), spec("llama", .q5_K, tied: false), spec("llama", .q6_K),
        spec("qwen2", .q8_0), spec("qwen2", .f16, tied: false),
    ]

    @Test(arguments: models)
    func chunkedPrefillMatchesReference(model spec: SyntheticModel) throws {
        let dir = TemporaryDirectory()
        let path = spec.write(in: dir)
        let model = try LlamaModel(path: path)
        let reference = try ReferenceTransformer(path: path)
        var rng = SeededRandom(seed: 3)
        let tokens = (0..<140).map { _ in Int32.random(in: 0..<Int32(spec.vocabularySize), using: &rng) }
        let expected = reference.forward(tokens)
        // Chunks of 64 force multi-page attention and several GEMM calls per matrix.
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 64)
        let seq = try model.makeSequence()
        var row = 0
        for start in stride(from: 0, to: tokens.count, by: 64) {
            let chunk = Array(tokens[start..<min(tokens.count, start + 64)])
            let view = try context.forward([ForwardRequest(seq, tokens: chunk, logits: .all)])[0]
            for i in 0..<chunk.count {
                let err = Self.relativeError(view[i], expected[row])
                #expect(err < Self.tolerance, "\(spec.architecture) \(spec.weightType) position \(row): relative error \(err)")
                row += 1
            }
        }
    }

    @Test(arguments: [spec("llama", .q8_0), spec("qwen2", .f16), spec("llama", .q4_K)])
    func batchedDecodeAtDifferentPositionsMatchesReference(model spec: SyntheticModel) throws {
        let dir = TemporaryDirectory()
        let path = spec.write(in: dir)
        let model = try LlamaModel(path: path)
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 3), maxTokens: 128)
        var rng = SeededRandom(seed: 4)
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32.random(in: 0..<Int32(spec.vocabularySize), using: &rng) } }
        // Three sequences with prompts of different lengths, then decode steps batched together,
        // one step mixing a prefill chunk with decodes.
        let prompts = [randomTokens(5), randomTokens(70), randomTokens(130)]
        let references = try prompts.map { p -> ReferenceTransformer in
            let r = try ReferenceTransformer(path: path)
            _ = r.forward(p)
            return r
        }
        let sequences = try prompts.map { _ in try model.makeSequence() }
        for (s, p) in zip(sequences, prompts) { try context.prefill(s, tokens: p, logits: false) }
        for step in 0..<6 {
            let next = randomTokens(3)
            var requests = zip(sequences, next).map { ForwardRequest($0, tokens: [$1]) }
            var extra: [Int32] = []
            if step == 3 { extra = randomTokens(9); requests[1] = ForwardRequest(sequences[1], tokens: [next[1]] + extra) }
            let views = try context.forward(requests)
            for i in 0..<3 {
                let expected = references[i].forward(i == 1 ? [next[1]] + extra : [next[i]]).last!
                let err = Self.relativeError(views[i].last, expected)
                #expect(err < Self.tolerance, "sequence \(i) step \(step): relative error \(err)")
            }
        }
    }

    @Test func rollingBackTheCacheReproducesTheSameLogits() throws {
        let dir = TemporaryDirectory()
        let spec = Self.spec("llama", .q8_0)
        let model = try LlamaModel(path: spec.write(in: dir))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 64)
        let seq = try model.makeSequence()
        let document: [Int32] = (0..<100).map { Int32($0 % 90) }
        try context.prefill(seq, tokens: document, logits: false)
        let first = Array(try context.forward([ForwardRequest(seq, tokens: [5, 6, 7])])[0].last)
        try seq.truncate(to: 100)
        _ = try context.forward([ForwardRequest(seq, tokens: [40, 41])])
        try seq.truncate(to: 100)
        let again = Array(try context.forward([ForwardRequest(seq, tokens: [5, 6, 7])])[0].last)
        #expect(first == again)
        #expect(seq.tokenCount == 103)
    }

    @Test func rejectsBadRequests() throws {
        let dir = TemporaryDirectory()
        var spec = Self.spec("llama", .q8_0)
        spec.contextLength = 128
        let model = try LlamaModel(path: spec.write(in: dir))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 1), maxTokens: 64)
        let seq = try model.makeSequence()
        #expect(throws: ModelError.invalidToken(96, vocabularySize: 96)) { try context.forward([ForwardRequest(seq, tokens: [1, 96])]) }
        #expect(throws: ModelError.emptyPrompt) { try context.forward([ForwardRequest(seq, tokens: [])]) }
        #expect(seq.tokenCount == 0, "a rejected request leaves the sequence untouched")
        try context.prefill(seq, tokens: Array(repeating: 3, count: 120), logits: false)
        #expect(throws: ModelError.contextOverflow(tokens: 130, limit: 128)) { try context.forward([ForwardRequest(seq, tokens: Array(repeating: 1, count: 10))]) }
    }
}

extension SyntheticModel: CustomTestStringConvertible {
    public var testDescription: String { "\(architecture) \(weightType)\(tiedOutput ? "" : " untied") \(headCount)/\(kvHeadCount) heads" }
}

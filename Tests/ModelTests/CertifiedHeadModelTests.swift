import Evaluation
import Foundation
import Attention
import KVCache
import Model
import Planner
import Tensor
import Testing
import TestSupport
import Tokenizer

/// The certified LM head and q8 activations on the real model.
@Suite(.serialized) struct CertifiedHeadModelTests {
    static func prompts(_ tokenizer: Tokenizer, count: Int, length: Int) throws -> [[Int32]] {
        let files = ["data/docs/licences/MPL-2.0.txt", "data/docs/licences/GPL-3.txt", "data/docs/manuals/zlib-FAQ.txt",
                     "data/docs/licences/LGPL-2.1.txt"]
        return try files.prefix(count).map { f in
            let text = try String(contentsOfFile: try Paths.requireFile(Paths.inPackage(f)), encoding: .utf8)
            return Array(tokenizer.encode(text, addSpecial: true, parseSpecial: false).prefix(length))
        }
    }

    static func argmax(_ row: UnsafeBufferPointer<Float>) -> Int32 {
        var s = Sampler(SamplerParameters())
        return s.sample(row, history: [])
    }

    /// Greedy decoding of `sequences` documents in one batch for `steps` steps: the certified
    /// head's argmax equals the full layer's at every step (both fed the full layer's tokens).
    func compare(copy: CertifiedHeadCopy, sequences n: Int, steps: Int) throws -> CertifiedLMHead.Statistics {
        let model = try LlamaModel(path: try Paths.requireFile(Paths.realModel))
        let tokenizer = try Tokenizer(gguf: model.file)
        let pool = ThreadPool(threadCount: 2)
        let full = ForwardContext(model: model, pool: pool, maxTokens: 256)
        let certified = ForwardContext(model: model, pool: pool, maxTokens: 256)
        certified.lmHead = .certified
        certified.certifiedHeadCopy = copy
        let ps = try Self.prompts(tokenizer, count: n, length: 48)
        let rs = try ps.map { _ in try model.makeSequence() }, cs = try ps.map { _ in try model.makeSequence() }
        var next: [Int32] = []
        for (i, p) in ps.enumerated() {
            let a = Self.argmax(try full.prefill(rs[i], tokens: p)!.last)
            let b = Self.argmax(try certified.prefill(cs[i], tokens: p)!.last)
            #expect(a == b, "prefill of document \(i): full \(a), certified \(b)")
            next.append(a)
        }
        var mismatches = 0
        for step in 0..<steps {
            let fr = try full.forward(rs.indices.map { ForwardRequest(rs[$0], tokens: [next[$0]]) })
            let cr = try certified.forward(cs.indices.map { ForwardRequest(cs[$0], tokens: [next[$0]]) })
            for i in 0..<n {
                let a = Self.argmax(fr[i].last), b = Self.argmax(cr[i].last)
                if a != b { mismatches += 1; Issue.record("step \(step) document \(i): full \(a), certified \(b)") }
                next[i] = a
            }
            if mismatches > 3 { break }
        }
        let s = try #require(certified.certifiedHeadStatistics)
        #expect(s.rows == n * (steps + 1) && s.certified + s.fallbacks == s.rows)
        return s
    }

    /// Decode steps per document: 64 in the suite (4 documents batched); the FIDELITY.md figure is
    /// the ≥ 2,000-step run, PIPELINE_CERTIFIED_STEPS=512 (15 min in a debug build on a loaded host).
    static let steps = Int(ProcessInfo.processInfo.environment["PIPELINE_CERTIFIED_STEPS"] ?? "") ?? 64

    /// The Q8_0 copy, whose bound is tight enough to certify, over 4 documents decoded as a batch;
    /// the Q4_0 copy's bound does not hold on this model (FIDELITY.md), so its steps fall back to
    /// the full layer (checked over fewer steps).
    @Test func certifiedHeadIsTokenIdentical() throws {
        let s8 = try compare(copy: .q8_0, sequences: 4, steps: Self.steps)
        print("certified head, q8_0 copy: \(s8.certified) of \(s8.rows) rows certified, \(s8.fallbacks) full, "
              + "exact rows \(Double(s8.exactRows) / Double(max(1, s8.certified))) per certified row (max \(s8.maxExactRows))")
        #expect(s8.certified * 10 >= s8.rows * 9, "the q8_0 copy's certificate should hold at ≥ 90% of steps")
        let s4 = try compare(copy: .q4_0, sequences: 1, steps: 16)
        print("certified head, q4_0 copy: \(s4.certified) of \(s4.rows) rows certified, \(s4.fallbacks) full")
    }

    /// q8 activations stay close to f32 over decode steps (prefill in q8 too).
    @Test func q8ActivationsStayCloseToF32() throws {
        let model = try LlamaModel(path: try Paths.requireFile(Paths.realModel))
        let tokenizer = try Tokenizer(gguf: model.file)
        let ids = try Self.prompts(tokenizer, count: 1, length: 200)[0]
        let harness = FidelityHarness(model: model, pool: ThreadPool(threadCount: 2), strategy: DenseAttention(), format: .f16,
                                      activations: .q8)
        let c = try harness.compareContinuation(tokens: ids, steps: 16)
        #expect(c.meanKL < 0.02 && c.top1Agreement >= 14.0 / 16, "q8: mean KL \(c.meanKL), top-1 \(c.top1Agreement)")
        print("q8 activations, 16 steps after 183 tokens: mean KL \(c.meanKL), top-1 \(c.top1Agreement)")
    }
}

import Attention
import Foundation
import KVCache
import Model
import Tensor
import Testing
import TestSupport
import Tokenizer

/// Speculative decoding on tiny random models: at temperature 0 the output is token-identical
/// to plain dense decoding for every draft source and KV format (bit-identical rows: the
/// verification pass computes each row as the single-token step would); at temperature > 0 the
/// emitted tokens follow the target's distribution (chi-square).
@Suite struct SpeculativeDecodingTests {
    static let spec: SyntheticModel = {
        var m = SyntheticModel()
        m.weightType = .q4_1
        m.tiedOutput = false
        // Head dimension 64 (int4 KV needs it), two query heads per KV head.
        m.embeddingLength = 128
        m.feedForwardLength = 256
        m.headCount = 2
        m.kvHeadCount = 1
        m.seed = 15
        return m
    }()

    enum Source: String, CaseIterable, CustomStringConvertible {
        case lookup, selfDraft = "self", hier, oracle
        var description: String { rawValue }
    }

    /// Proposes the reference continuation, with its second token changed on every other pass:
    /// passes that keep all drafts, passes that keep one, and the rollback after each.
    final class OracleDraft: DraftSource {
        let reference: [Int32], promptCount: Int, vocabulary: Int
        var passes = 0
        init(reference: [Int32], promptCount: Int, vocabulary: Int) {
            self.reference = reference
            self.promptCount = promptCount
            self.vocabulary = vocabulary
        }
        var name: String { "oracle" }
        func propose(sequence: SequenceState, pending: Int32, limit: Int) throws(ModelError) -> [Int32] {
            passes += 1
            let next = sequence.tokenCount - promptCount + 1 // reference index after the pending token
            var drafts = Array(reference[min(next, reference.count)..<min(reference.count, next + limit)])
            if passes % 2 == 0, drafts.count > 1 { drafts[1] = (drafts[1] + 1) % Int32(vocabulary) }
            return drafts
        }
    }

    static func selfDraft(_ model: LlamaModel, _ pool: ThreadPool) -> SelfDraft {
        let topk = TopKAttention(budget: TopKBudget(k: 8, candidateCount: 16, bucketKeep: 2),
                                 exemptions: DenseExemptions(denseLayerCount: 0, sinkTokenCount: 4, windowTokenCount: 16))
        return SelfDraft(context: ForwardContext(model: model, pool: pool, maxTokens: 16, decodeAttention: topk))
    }

    /// A prompt with repeats, so lookup finds matches in it as well as in the answer.
    static func prompt(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
        var rng = SeededRandom(seed: seed)
        let phrase = (0..<12).map { _ in Int32.random(in: 0..<Int32(vocabulary), using: &rng) }
        var p: [Int32] = []
        while p.count < count {
            p += Bool.random(using: &rng) ? phrase : (0..<7).map { _ in Int32.random(in: 0..<Int32(vocabulary), using: &rng) }
        }
        return Array(p.prefix(count))
    }

    // 150 prompt tokens + 160 generated: an int4 cache seals pages at 192 and 256 tokens on the way.
    @Test(arguments: KVFormat.allCases, Source.allCases)
    func greedyOutputEqualsPlainDecode(format: KVFormat, source: Source) throws {
        let dir = TemporaryDirectory()
        let model = try LlamaModel(path: Self.spec.write(in: dir))
        let pool = ThreadPool(threadCount: 2)
        let context = ForwardContext(model: model, pool: pool, maxTokens: 64)
        for (seed, penalty) in [(UInt64(1), Float(1)), (2, 1.3)] {
            let prompt = Self.prompt(150, vocabulary: Self.spec.vocabularySize, seed: seed)
            let parameters = SamplerParameters(temperature: 0, repetitionPenalty: penalty)
            let reference = try context.generate(try model.makeSequence(format: format), prompt: prompt, maxNewTokens: 160,
                                                 sampler: parameters).tokens
            let draft: DraftSource = switch source {
            case .lookup: LookupDraft()
            case .selfDraft: Self.selfDraft(model, pool)
            case .hier: HierarchicalDraft(lookup: LookupDraft(), fallback: Self.selfDraft(model, pool))
            case .oracle: OracleDraft(reference: reference, promptCount: prompt.count, vocabulary: Self.spec.vocabularySize)
            }
            let sequence = try model.makeSequence(format: format)
            let (result, stats) = try context.generateSpeculatively(sequence, prompt: prompt, maxNewTokens: 160, sampler: parameters,
                                                                    draft: draft, maxDraftTokens: 6)
            #expect(result.tokens == reference, "\(format) \(source) penalty \(penalty): first difference at \(zip(result.tokens, reference).prefix { $0 == $1 }.count)")
            #expect(stats.draftedTokenCount > 0 && stats.acceptedTokenCount > 0, "\(format) \(source): \(stats)")
            #expect(stats.verificationPassCount < reference.count, "\(format) \(source): no pass kept more than one token")
            if source == .oracle { #expect(stats.acceptedTokenCount < stats.draftedTokenCount, "the oracle's changed drafts were accepted") }
            // The sequence holds the prompt and the answer but the last token (still pending), nothing rejected.
            #expect(Array(sequence.tokens) == prompt + reference.dropLast(), "\(format) \(source): rejected tokens left in the sequence")
        }
    }

    /// One verification pass with a fixed draft [a, b], at temperature 1 with top-k 6: the first
    /// two emitted tokens must follow p(t1) · p(t2 | t1) of the target. a is the target's second
    /// most likely first token (accepted sometimes, rejected often: both branches), b the most
    /// likely after a. 6,000 trials, cells with expected count < 5 pooled; chi-square against the
    /// 0.999 quantile (Wilson–Hilferty), so a correct implementation fails 1 run in 1,000 — the
    /// seed is fixed, so the outcome is the same on every run. Resampling from p instead of
    /// norm(max(0, p − q)) puts p(a)(2 − p(a)) on a, which this detects by a wide margin.
    @Test func sampledTokensFollowTheTargetDistribution() throws {
        let dir = TemporaryDirectory()
        let model = try LlamaModel(path: Self.spec.write(in: dir))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 16)
        let parameters = SamplerParameters(temperature: 1, topK: 6, topP: 1, minP: 0, seed: 99)
        let prompt = Self.prompt(20, vocabulary: Self.spec.vocabularySize, seed: 5), pending: Int32 = 7
        let probe = Sampler(parameters)
        // Exact target distributions by plain forward passes.
        func distribution(after tokens: [Int32]) throws -> [Int32: Double] {
            let s = try model.makeSequence()
            let logits = try context.prefill(s, tokens: tokens)!.last
            let d = probe.distribution(logits, history: s.tokens[...])
            return Dictionary(uniqueKeysWithValues: d.tokens.map { ($0, d.probability(of: $0)) })
        }
        let first = try distribution(after: prompt + [pending])
        var expected: [[Int32]: Double] = [:]
        for (t1, p1) in first {
            for (t2, p2) in try distribution(after: prompt + [pending, t1]) { expected[[t1, t2]] = p1 * p2 }
        }
        let ranked = first.sorted { $0.value > $1.value }.map(\.key)
        let a = ranked[1], b = try distribution(after: prompt + [pending, a]).max { $0.value < $1.value }!.key

        final class FixedDraft: DraftSource {
            let tokens: [Int32]
            init(_ tokens: [Int32]) { self.tokens = tokens }
            var name: String { "fixed" }
            func propose(sequence: SequenceState, pending: Int32, limit: Int) throws(ModelError) -> [Int32] { Array(tokens.prefix(limit)) }
        }
        let sequence = try model.makeSequence()
        try context.prefill(sequence, tokens: prompt, logits: false)
        let stream = SpeculativeStream(sequence: sequence, sampler: Sampler(parameters), draft: FixedDraft([a, b]), maxDraftTokens: 2)
        let plain = SpeculativeStream(sequence: sequence, sampler: Sampler(SamplerParameters(temperature: 1, topK: 6, topP: 1, minP: 0, seed: 7)),
                                      draft: nil, maxDraftTokens: 1)
        let trials = 6_000
        var counts: [[Int32]: Int] = [:]
        var accepted = 0
        for _ in 0..<trials {
            try sequence.truncate(to: prompt.count)
            stream.draftLength = AdaptiveDraftLength(maximum: 2, initial: 2)
            var out = try context.speculate([stream], pending: [pending], limits: [3])[0]
            if out.count == 1 { out += try context.speculate([plain], pending: [out[0]], limits: [1])[0] }
            if out[0] == a { accepted += 1 }
            counts[Array(out.prefix(2)), default: 0] += 1
        }
        #expect(accepted > 0 && accepted < trials, "draft a = \(a) never or always accepted")
        // Pool cells with expected count < 5.
        var observed: [Double] = [], wanted: [Double] = [], pooledObserved = 0.0, pooledWanted = 0.0
        for (cell, p) in expected {
            let e = p * Double(trials), o = Double(counts[cell] ?? 0)
            if e < 5 { pooledObserved += o; pooledWanted += e } else { observed.append(o); wanted.append(e) }
        }
        let outside = counts.filter { expected[$0.key] == nil }.values.reduce(0, +)
        #expect(outside == 0, "\(outside) draws outside the target's support")
        if pooledWanted > 0 { observed.append(pooledObserved); wanted.append(pooledWanted) }
        let chi2 = zip(observed, wanted).map { ($0 - $1) * ($0 - $1) / $1 }.reduce(0, +)
        let df = Double(observed.count - 1), z = 3.090 // one-sided 0.999
        let critical = df * pow(1 - 2 / (9 * df) + z * (2 / (9 * df)).squareRoot(), 3)
        #expect(chi2 < critical, "chi-square \(chi2) ≥ \(critical) at \(Int(df)) degrees of freedom")
    }

    /// The claim the exactness rests on: a row-exact pass over n tokens gives, row by row, the
    /// very bits of n single-token decode steps (one sequence, and two sequences in one pass; the
    /// rows within one page, and across a page boundary).
    @Test(arguments: KVFormat.allCases, [140, 125])
    func rowExactPassEqualsSingleSteps(format: KVFormat, promptLength: Int) throws {
        let dir = TemporaryDirectory()
        let model = try LlamaModel(path: Self.spec.write(in: dir))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 64)
        let prompt = Self.prompt(promptLength, vocabulary: Self.spec.vocabularySize, seed: 3), next: [Int32] = [5, 17, 3, 90, 41, 8]
        let single = try model.makeSequence(format: format)
        try context.prefill(single, tokens: prompt, logits: false)
        var expected: [[Float]] = []
        for t in next { expected.append(Array(try context.forward([ForwardRequest(single, tokens: [t])])[0].last)) }
        let a = try model.makeSequence(format: format), b = try model.makeSequence(format: format)
        try context.prefill(a, tokens: prompt, logits: false)
        try context.prefill(b, tokens: prompt + next.prefix(2), logits: false)
        let views = try context.forward([ForwardRequest(a, tokens: next, logits: .all),
                                         ForwardRequest(b, tokens: Array(next.dropFirst(2)), logits: .all)], rowExact: true)
        for i in next.indices { #expect(Array(views[0][i]) == expected[i], "\(format): row \(i) differs") }
        for i in 2..<next.count { #expect(Array(views[1][i - 2]) == expected[i], "\(format): second sequence, row \(i) differs") }
    }

    /// int4 quantizes a page when it leaves the f16 window (at 192, 256, … tokens): a pass that
    /// commits past that point and is then rolled back leaves a page int4 that single steps would
    /// still read as f16, and the following steps' logits change. The decoder's cap
    /// (`rollbackSafeAppendCount`) stops passes short of it; without it, they differ. On the real
    /// model: the tiny random ones are insensitive to int4 keys (their logits came out equal).
    @Test func int4PassesStopBeforeASealingBoundary() throws {
        let model = try LlamaModel(path: try Paths.requireFile(Paths.realModel))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 64)
        let text = try String(contentsOfFile: Paths.inPackage("data/docs/licences/MPL-2.0.txt"), encoding: .utf8)
        let prompt = Array(try Tokenizer(gguf: model.file).encode(text, addSpecial: true, parseSpecial: false).prefix(186))
        let next: [Int32] = [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000]
        #expect(KVFormat.int4.rollbackSafeAppendCount(after: 186, pageTokenCount: 64) == 5)
        #expect(KVFormat.int4.rollbackSafeAppendCount(after: 191, pageTokenCount: 64) == 1)
        #expect(KVFormat.int8.rollbackSafeAppendCount(after: 191, pageTokenCount: 64) == .max)
        func steps(_ s: SequenceState, _ tokens: ArraySlice<Int32>) throws -> [[Float]] {
            try tokens.map { t throws(ModelError) in Array(try context.forward([ForwardRequest(s, tokens: [t])])[0].last) }
        }
        let reference = try model.makeSequence(format: .int4)
        try context.prefill(reference, tokens: prompt, logits: false)
        let expected = try steps(reference, next[...])
        // A pass within the cap, rolled back to 3 rows, then single steps: identical; a pass past it: not.
        for (rows, crossing) in [(5, false), (8, true)] {
            let s = try model.makeSequence(format: .int4)
            try context.prefill(s, tokens: prompt, logits: false)
            _ = try context.forward([ForwardRequest(s, tokens: Array(next.prefix(rows)), logits: .all)], rowExact: true)
            try s.truncate(to: prompt.count + 3)
            let after = try steps(s, next[3...])
            let same = after == Array(expected[3...])
            #expect(same == !crossing, "rows \(rows): logits after the rollback \(same ? "equal" : "differ")")
        }
    }

    @Test func lookupProposesTheLongestMatchAndForgetsRolledBackTokens() throws {
        let dir = TemporaryDirectory()
        let model = try LlamaModel(path: Self.spec.write(in: dir))
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 1), maxTokens: 64)
        let sequence = try model.makeSequence()
        // "1 2 3 4 5 | 9 3 4 8 | 2 3": suffix (2 3) matched at length 2 → 4 5 …; (3) alone would give 8.
        try context.prefill(sequence, tokens: [1, 2, 3, 4, 5, 9, 3, 4, 8, 2], logits: false)
        let lookup = LookupDraft()
        #expect(try lookup.propose(sequence: sequence, pending: 3, limit: 3) == [4, 5, 9])
        // Pending 8 after "… 2": the suffix "2 8" never occurred; "8" did (→ 2 …).
        #expect(try lookup.propose(sequence: sequence, pending: 8, limit: 2) == [2, 8])
        // Rolled back to 5 tokens: "… 9 3 4 8 2" are gone from the index.
        try sequence.truncate(to: 5)
        #expect(try lookup.propose(sequence: sequence, pending: 3, limit: 2) == [4, 5])
        #expect(try lookup.propose(sequence: sequence, pending: 42, limit: 2) == [])
    }
}

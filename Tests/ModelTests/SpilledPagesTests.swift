import Attention
import Foundation
import KVCache
import Model
import Tensor
import Testing
import TestSupport

/// Decode over a cache whose sealed pages are all on disk (a 0-byte budget), on a tiny random
/// model, in every KV format: a selecting strategy loads only the pages it selects (fewer than
/// dense attention, which loads whole layers) and decodes what it decodes over a cache in RAM
/// (same greedy tokens, same logits); a page that fails to load surfaces as an error.
///
/// The pages read back are bit-identical, so the logits are too up to the threads' summation
/// order. Logits are compared to 1e-4 of their range (a missing or wrong page moves them by far
/// more).
@Suite struct SpilledPagesTests {
    static let model: LlamaModel = {
        var m = SyntheticModel()
        m.layerCount = 3
        m.embeddingLength = 384
        m.feedForwardLength = 256
        m.headCount = 6
        m.kvHeadCount = 2 // headDim 64, GQA group 3
        m.contextLength = 2048
        m.seed = 77
        let dir = TemporaryDirectory("spilled-pages-model")
        return try! LlamaModel(path: m.write(in: dir))
    }()

    static let prompt: [Int32] = {
        var rng = SeededRandom(seed: 5)
        return (0..<1600).map { _ in Int32.random(in: 0..<96, using: &rng) }
    }()

    enum Strategy: String, CaseIterable, Sendable {
        case dense, topk, daTopk = "da-topk", lsh

        func make() -> AttentionStrategy {
            // Every layer sparse, few keys: random heads spread their top keys evenly over the pages.
            let exemptions = DenseExemptions(denseLayerCount: 0, sinkTokenCount: 4, windowTokenCount: 64)
            let budget = TopKBudget(k: 4, candidateCount: 32)
            switch self {
            case .dense: return DenseAttention()
            case .topk: return TopKAttention(budget: budget, exemptions: exemptions)
            case .daTopk: return ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: 3)
            case .lsh: return LSHAttention(bits: 12, tables: 100, exemptions: exemptions)
            }
        }
    }

    struct Run {
        var tokens: [Int32] = []
        var logits: [[Float]] = []
        /// Pages read back from disk at the first decode step (which builds a sparse strategy's
        /// index) and at the later ones (none without a budget).
        var firstStepPageReads = 0
        var laterPageReads = 0
        /// A sparse strategy's count of the pages it attends at the later steps: distinct pages of
        /// the selected keys plus sinks and window pages (per KV head and layer).
        var laterPagesAttended = 0
    }

    /// Prefills the prompt and decodes `steps` greedy tokens with `strategy`, under a 0-byte budget
    /// when `spilled`.
    static func decode(_ strategy: Strategy, format: KVFormat, spilled: Bool, steps: Int = 6) throws -> Run {
        let dir = TemporaryDirectory("spilled-pages")
        let budget = spilled ? KVMemoryBudget(byteLimit: 0, spillDirectory: dir.path) : nil
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 512, decodeAttention: strategy.make())
        let seq = try model.makeSequence(format: format, budget: budget)
        var run = Run()
        var logits = try #require(try context.prefill(seq, tokens: prompt)).last
        var reads = seq.cache.statistics.pageReads, attended = 0
        for step in 0..<steps {
            let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            run.tokens.append(next)
            logits = try context.forward([ForwardRequest(seq, tokens: [next])])[0].last
            run.logits.append(Array(logits))
            let now = seq.cache.statistics.pageReads
            if step == 0 { run.firstStepPageReads = now - reads } else { run.laterPageReads += now - reads }
            reads = now
            if let s = (context.decodeAttention as? SparseAttentionStrategy)?.statistics {
                if step > 0 { run.laterPagesAttended += s.valuePagesRead + s.densePagesRead - attended }
                attended = s.valuePagesRead + s.densePagesRead
            }
        }
        if spilled { #expect(seq.cache.statistics.pageWrites > 0) }
        return run
    }

    /// Largest |a − b| over all steps' logits, relative to the largest |b|.
    static func difference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        guard a.count == b.count else { return .infinity }
        let scale = max(1e-6, b.joined().map { abs($0) }.max() ?? 0)
        return zip(a.joined(), b.joined()).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
    }

    @Test(arguments: KVFormat.allCases)
    func selectingStrategiesLoadOnlyTheirPagesAndDecodeAsInRAM(_ format: KVFormat) throws {
        let dense = try Self.decode(.dense, format: format, spilled: true)
        #expect(Self.difference(dense.logits, try Self.decode(.dense, format: format, spilled: false).logits) < 1e-4)
        for strategy in [Strategy.topk, .daTopk, .lsh] {
            let inRAM = try Self.decode(strategy, format: format, spilled: false)
            let spilled = try Self.decode(strategy, format: format, spilled: true)
            let label = "\(strategy.rawValue), \(format.rawValue)"
            #expect(inRAM.firstStepPageReads + inRAM.laterPageReads == 0)
            #expect(spilled.tokens == inRAM.tokens, "\(label)")
            #expect(Self.difference(spilled.logits, inRAM.logits) < 1e-4, "\(label): logits differ")
            // The first step builds the index: it loads every page of the sparse ranges once, as
            // dense attention does at every step. The later steps load at most the pages they
            // attend (some are in RAM: unsealed), and far fewer than dense attention.
            #expect(spilled.firstStepPageReads == dense.firstStepPageReads, "\(label)")
            #expect(spilled.laterPageReads > 0 && spilled.laterPageReads <= spilled.laterPagesAttended,
                    "\(label): \(spilled.laterPageReads) pages loaded, \(spilled.laterPagesAttended) attended")
            #expect(spilled.laterPageReads < dense.laterPageReads / 2,
                    "\(label): \(spilled.laterPageReads) pages loaded, dense \(dense.laterPageReads)")
        }
    }

    @Test func aPageThatFailsToLoadIsAnError() throws {
        let dir = TemporaryDirectory("spilled-pages")
        let context = ForwardContext(model: Self.model, pool: ThreadPool(threadCount: 2), maxTokens: 512, decodeAttention: Strategy.topk.make())
        let seq = try Self.model.makeSequence(format: .f16, budget: KVMemoryBudget(byteLimit: 0, spillDirectory: dir.path))
        try context.prefill(seq, tokens: Self.prompt, logits: false)
        _ = try context.forward([ForwardRequest(seq, tokens: [1])]) // builds the index
        let path = try #require((seq.cache as? PagedKVCache)?.spillFilePath)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let file = try #require(FileHandle(forWritingAtPath: path))
        try file.write(contentsOf: Data(repeating: 0x5a, count: size))
        try file.close()
        #expect(throws: ModelError.self) { try context.forward([ForwardRequest(seq, tokens: [2])]) }
    }
}

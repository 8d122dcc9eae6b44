import Attention
import Evaluation
import Foundation
import KVCache
import Model
import Planner
import Tensor
import TestSupport
import Testing
import Tokenizer

/// The KV formats on the real model (a few seconds): quantized KV stays close to f16 over decode
/// steps; a document snapshot, and a cache spilled under a 0-byte budget, give bit-identical logits.
@Suite struct KVFormatModelTests {
    static func setUp() throws -> (ForwardContext, [Int32]) {
        let model = try LlamaModel(path: try Paths.requireFile(Paths.realModel))
        let tokenizer = try Tokenizer(gguf: model.file)
        let text = try String(contentsOfFile: Paths.inPackage("data/docs/licences/MPL-2.0.txt"), encoding: .utf8)
        let ids = Array(tokenizer.encode(text, addSpecial: true, parseSpecial: false).prefix(256))
        return (ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 256), ids)
    }

    @Test func quantizedFormatsStayCloseToF16() throws {
        let (context, ids) = try Self.setUp()
        // 256 tokens: int4 quantizes pages 0–1 (tokens < 128), the rest stays in its f16 window.
        for (format, maxMeanKL) in [(KVFormat.int8, 0.005), (.int4, 0.05)] {
            let harness = FidelityHarness(model: context.model, pool: context.pool, strategy: DenseAttention(), format: format)
            let c = try harness.compareContinuation(tokens: ids, steps: 6)
            #expect(c.meanKL < maxMeanKL && c.top1Agreement >= 6.0 / 7, "\(format): mean KL \(c.meanKL), top-1 \(c.top1Agreement)")
        }
    }

    /// `calibrate` shares each prefill between the mixes of one KV format through snapshots: the
    /// figures are those of mixes that each prefill their own, and the second mix prefills nothing.
    @Test func sharedPrefixesChangeNoFigure() throws {
        let (context, ids) = try Self.setUp()
        let model = context.model, dir = TemporaryDirectory("prefixes")
        let needle = NeedleCase(name: "head", prompt: "", answer: "Mozilla")
        func calibration() -> FidelityCalibration {
            FidelityCalibration(model: model, pool: context.pool, documents: [("MPL", ids)], needles: [(needle, Array(ids.prefix(160)))],
                                steps: 6, needleTokens: 6, isEnd: { _ in false }, decode: { $0.map(String.init).joined(separator: " ") })
        }
        var shared = calibration()
        let prefixes = PrefixSnapshots(directory: dir.path)
        shared.prefixes = prefixes
        let alone = calibration()
        for (i, mix) in [StrategyMix(.dense, kv: .int8), StrategyMix(.topk, kv: .int8)].enumerated() {
            let a = try shared.measure(mix, modelName: "m"), b = try alone.measure(mix, modelName: "m")
            #expect(a.total == b.total && a.needles == b.needles, "\(mix.label)")
            // The first mix prefills the reference's and its own prefixes (document, needle); the
            // second, of the same format, loads its two.
            #expect((prefixes.prefilled, prefixes.loaded) == (i == 0 ? (4, 0) : (4, 2)))
        }
    }

    @Test(arguments: KVFormat.allCases)
    func snapshotAndSpilledCacheGiveIdenticalLogits(_ format: KVFormat) throws {
        let (context, ids) = try Self.setUp()
        let model = context.model, dir = TemporaryDirectory("kv-model")
        let storage = KVStorage(root: dir.path)
        // Prefilled in RAM, saved as a snapshot, then continued.
        let original = try model.makeSequence(format: format)
        try context.prefill(original, tokens: ids, logits: false)
        let key = KVSnapshotKey(modelDigest: model.contentDigest, format: format, geometry: model.kvGeometry, tokens: ids)
        try storage.snapshots.save(try #require(original.cache as? PagedKVCache), key: key)
        // The snapshot loaded under a 0-byte budget: every sealed page is read back from disk on each step.
        let budget = storage.makeBudget(megabytes: 0)
        let loaded = SequenceState(cache: try #require(try storage.snapshots.load(key, budget: budget)), tokens: ids)
        let next: [Int32] = [1_000, 2_000, 3_000, 4_000]
        for t in next {
            let views = try context.forward([ForwardRequest(original, tokens: [t]), ForwardRequest(loaded, tokens: [t])])
            #expect(Array(views[0].last) == Array(views[1].last), "\(format): logits differ after token \(t)")
        }
        #expect(loaded.cache.statistics.pageReads > 0 && loaded.cache.statistics.pageWrites == 0)
    }
}

import Attention
import Foundation
import KVCache
import Model
import Planner
import Store
import Testing

/// The router, cost model, batch choice and refit on made-up profiles and calibration rows.
@Suite struct RouterTests {
    static let shape = ModelShape(layerCount: 30, kvHeadCount: 3, headDim: 64, weightBytes: 90 << 20, bufferBytes: 40 << 20, contextLength: 8192)
    static let bytesF16 = Double(30 * 3 * 64 * 2 * 2)

    /// Attention cost per step linear in depth; sparse mixes flat.
    static func profile(decodeScale: Double = 1) -> MachineProfile {
        func cost(_ fixed: Double, _ perToken: Double) -> MachineProfile.AttentionCost {
            MachineProfile.AttentionCost(depths: [1000, 8000], stepSeconds: [fixed + perToken * 1000, fixed + perToken * 8000].map { $0 * decodeScale })
        }
        return MachineProfile(threads: 2, gemmGFLOPS: 100, prefillSecondsPerToken: 2e-3, prefillSecondsPerPair: 1e-8, memoryGBPerSecond: 20,
                              decodeWeightSeconds: 4e-3 * decodeScale, decodePerSequenceSeconds: 1e-3 * decodeScale,
                              diskWriteMBPerSecond: 500, diskReadMBPerSecond: 1000, lz4CompressMBPerSecond: 500, lz4DecompressMBPerSecond: 2000,
                              attention: ["dense+f16": cost(1e-4, 2e-6), "dense+int8": cost(1e-4, 1.2e-6), "topk+f16": cost(1e-3, 2e-7),
                                          "lsh+f16": cost(8e-4, 1.5e-7)])
    }

    static func mix(_ a: String, _ kv: String, perToken: Double = bytesF16) -> MixDescription {
        MixDescription(mix: StrategyMix(AttentionConfiguration.Kind(rawValue: a)!, kv: KVFormat(rawValue: kv)!),
                       cost: MixCost(costKey: "\(a)+\(kv)", kvBytesPerToken: perToken))
    }

    static let candidates = [mix("dense", "f16"), mix("dense", "int8", perToken: bytesF16 / 2), mix("topk", "f16"), mix("lsh", "f16")]

    static func row(_ strategy: String, _ kv: String, top1: Double, kept: Int, passed: Int = 10, parameters: String = "{}",
                    meanKL: Double = 0.004) -> CalibrationRecord {
        var row = CalibrationRecord(strategy: strategy, parameters: parameters, kvFormat: kv, contextTokens: 6000, model: "m.gguf", steps: 512,
                                    documents: 8, meanKL: meanKL, maxKL: 0.1, top1Agreement: top1 - 0.02, confidentTop1Agreement: top1,
                                    perplexity: 3, referencePerplexity: 3, needles: 12, needlesReferencePassed: passed, needlesKept: kept)
        row.probableTop1Agreement = top1
        row.answersCompared = 12
        row.answersChanged = 2
        return row
    }

    static let rows = [row("dense", "int8", top1: 0.995, kept: 10), row("topk", "f16", top1: 0.993, kept: 10), row("lsh", "f16", top1: 0.97, kept: 10)]
    static let work = UnitWorkload(documentTokens: 6000, promptTokens: [30, 30, 30], maxNewTokens: 128)

    func route(_ fidelity: FidelityRequirement, rows: [CalibrationRecord] = Self.rows, profile: MachineProfile? = Self.profile()) -> Route {
        Router(profile: profile, calibrations: rows, shape: Self.shape, modelName: "m.gguf")
            .route(Self.work, fidelity: fidelity, budgetBytes: 1 << 30, candidates: Self.candidates)
    }

    @Test func exactKeepsDenseF16() {
        let r = route(.exact)
        #expect(r.chosen == "dense+f16")
        #expect(r.alternatives.filter(\.eligible).map(\.mix) == ["dense+f16"])
    }

    @Test func highTakesTheCheapestMixWithTop1AndNeedles() {
        let r = route(.high)
        #expect(r.chosen == "topk+f16") // lsh is cheaper but its top-1 is 97%
        let lsh = r.alternatives.first { $0.mix == "lsh+f16" }!
        #expect(!lsh.eligible && lsh.reason.contains("top-1 below 99% where dense is confident"))
        #expect(r.reason.isEmpty == false && r.alternatives.first { $0.mix == "topk+f16" }!.reason.contains("2/12 answers changed"))
        let costs = r.alternatives.filter(\.eligible).map { $0.prediction!.seconds }
        #expect(costs == costs.sorted())
    }

    @Test func fastNeedsOnlyTheNeedles() {
        #expect(route(.fast).chosen == "lsh+f16")
        let lostNeedle = [Self.row("lsh", "f16", top1: 0.999, kept: 9)] + Self.rows.filter { $0.strategy != "lsh" }
        let r = route(.fast, rows: lostNeedle)
        #expect(r.chosen == "topk+f16")
        #expect(r.alternatives.first { $0.mix == "lsh+f16" }!.reason.contains("needle lost"))
    }

    /// The tiers' KL limits: high ≤ 0.005, fast ≤ 0.05; a row without the confident-step figure
    /// (an older version's) never qualifies for high.
    @Test func tiersBoundTheMeanKL() {
        let rows = [Self.row("topk", "f16", top1: 0.999, kept: 10, meanKL: 0.006), Self.row("lsh", "f16", top1: 0.999, kept: 10, meanKL: 0.06)]
        let high = route(.high, rows: rows)
        #expect(high.alternatives.first { $0.mix == "topk+f16" }!.reason.contains("mean KL above 0.005"))
        let fast = route(.fast, rows: rows)
        #expect(fast.chosen == "topk+f16")
        #expect(fast.alternatives.first { $0.mix == "lsh+f16" }!.reason.contains("mean KL above 0.05"))
        var old = Self.row("topk", "f16", top1: 0.999, kept: 10)
        old.probableTop1Agreement = nil
        #expect(route(.high, rows: [old]).alternatives.first { $0.mix == "topk+f16" }!.reason.contains("older version"))
    }

    @Test func uncalibratedOrUnmeasuredMixesAreExcluded() {
        let r = route(.high, rows: [])
        #expect(r.chosen == "dense+f16")
        #expect(r.alternatives.first { $0.mix == "topk+f16" }!.reason.contains("no calibration row"))
        let otherModel = Router(profile: Self.profile(), calibrations: Self.rows, shape: Self.shape, modelName: "other.gguf")
            .route(Self.work, fidelity: .high, budgetBytes: 1 << 30, candidates: Self.candidates)
        #expect(otherModel.chosen == "dense+f16")
        var p = Self.profile()
        p.attention["topk+f16"] = nil
        let unmeasured = route(.high, profile: p)
        #expect(unmeasured.chosen == "dense+int8")
        #expect(unmeasured.alternatives.first { $0.mix == "topk+f16" }!.reason.contains("pipeline calibrate"))
    }

    /// Rows match mixes by value: a row of other parameters, or parameters stored in the old
    /// `key=value` text, does not calibrate the default mix; the same parameters spelled in
    /// another key order do.
    @Test func calibrationRowsMatchByTypedKey() {
        let others = [Self.row("topk", "f16", top1: 0.999, kept: 10, parameters: #"{"top_k":64}"#),
                      Self.row("topk", "f16", top1: 0.999, kept: 10, parameters: "k=128,k'=512,keep=2")]
        let r = route(.high, rows: others)
        #expect(r.alternatives.first { $0.mix == "topk+f16" }!.reason.contains("no calibration row"))
        var pinned = AttentionConfiguration(.topk)
        try! pinned.set("top_k", 64)
        let router = Router(profile: Self.profile(), calibrations: others, shape: Self.shape, modelName: "m.gguf")
        let description = MixDescription(mix: StrategyMix(attention: pinned, kv: .f16), cost: Self.mix("topk", "f16").cost)
        #expect(router.calibration(of: description)?.parameters == #"{"top_k":64}"#)
        #expect(StrategyMix(strategy: "topk", parametersJSON: #"{"k_prime":300,"top_k":64}"#, kv: "f16")
                == StrategyMix(strategy: "topk", parametersJSON: #"{"top_k":64,"k_prime":300}"#, kv: "f16"))
        #expect(StrategyMix(strategy: "topk", parametersJSON: #"{"lsh_k":4}"#, kv: "f16") == nil)
    }

    @Test func withoutAProfileDenseF16AndTheReason() {
        let r = route(.fast, profile: nil)
        #expect(r.chosen == "dense+f16" && r.reason.contains("no machine profile"))
    }

    @Test func costModelChargesSpillsAndCreditsSnapshots() {
        let model = CostModel(profile: Self.profile(), shape: Self.shape)
        let dense = Self.mix("dense", "f16").cost
        let roomy = model.predict(Self.work, mix: dense, budgetBytes: 1 << 30)
        let tight = model.predict(Self.work, mix: dense, budgetBytes: 64 << 20)
        #expect(roomy.spillFraction == 0 && tight.spillFraction > 0.5)
        #expect(tight.seconds > roomy.seconds && tight.peakMemoryBytes < roomy.peakMemoryBytes)
        var cached = Self.work
        cached.snapshotCached = true
        #expect(model.predict(cached, mix: dense, budgetBytes: 1 << 30).prefillSeconds < roomy.prefillSeconds / 5)
        // prefill = a·n + b·n²/2 for the document, plus each tail after it
        let n = 6000.0, expected = 2e-3 * n + 1e-8 * n * n / 2 + 3 * (2e-3 * 30 + 1e-8 * 30 * (n + 15))
        #expect(abs(roomy.prefillSeconds - expected) < 1e-9)
    }

    @Test func costModelChargesTheIndexBuildOncePerDocumentAndPerPromptTail() {
        var withBuild = Self.profile()
        let i = 4e-6 // seconds per indexed token
        let flat = withBuild.attention["topk+f16"]!
        withBuild.attention["topk+f16"] = MachineProfile.AttentionCost(depths: flat.depths, stepSeconds: flat.stepSeconds,
                                                                      indexBuildSecondsPerToken: i)
        let topk = Self.mix("topk", "f16").cost
        let without = CostModel(profile: Self.profile(), shape: Self.shape).predict(Self.work, mix: topk, budgetBytes: 1 << 30)
        let with = CostModel(profile: withBuild, shape: Self.shape).predict(Self.work, mix: topk, budgetBytes: 1 << 30)
        // i·(n + Σ_p (t_p + g_p)): the document once, each prompt's tail and answer
        let expected = i * (6000 + 3 * (30 + 128))
        #expect(abs((with.decodeSeconds - without.decodeSeconds) - expected) < 1e-12)
        #expect(abs((with.seconds - without.seconds) - expected) < 1e-12 && with.prefillSeconds == without.prefillSeconds)
        // No answer, no decode step, no index.
        var silent = Self.work
        silent.maxNewTokens = 0
        #expect(CostModel(profile: withBuild, shape: Self.shape).predict(silent, mix: topk, budgetBytes: 1 << 30).decodeSeconds == 0)
    }

    @Test func theVerificationCurveIsALineInDepth() {
        let curve = MachineProfile.VerificationCost(depths: [32, 2048], extraRowCosts: [0.32, 0.40])
        #expect(abs(curve.extraRowCost(atDepth: 32) - 0.32) < 1e-12 && abs(curve.extraRowCost(atDepth: 2048) - 0.40) < 1e-12)
        #expect(curve.extraRowCost(atDepth: 8000) > 0.6) // extrapolated: 0.32 + 0.08·(7968/2016)
        // A dearer verification lowers the predicted gain of the same acceptance.
        var cheap = SpeculationCostModel(), dear = SpeculationCostModel()
        cheap.extraRowCost = curve.extraRowCost(atDepth: 32)
        dear.extraRowCost = curve.extraRowCost(atDepth: 8000)
        #expect(dear.predictedSpeedup(.lookup, draftTokens: 4) < cheap.predictedSpeedup(.lookup, draftTokens: 4))
    }

    @Test func batchPaysWhenWeightsDominateAndStopsAtTheBudget() {
        let model = CostModel(profile: Self.profile(), shape: Self.shape)
        let dense = Self.mix("dense", "f16").cost
        let roomy = BatchPlanner.choose(model, workload: Self.work, mix: dense, budgetBytes: 4 << 30, maxBatch: 8)
        #expect(roomy.batch >= 4) // w/B: the gains shrink until they fall under 1%
        #expect(roomy.secondsPerUnit == roomy.secondsPerUnit.sorted(by: >))
        // A budget that holds one document's KV: a second one spills every step.
        let kv = Int(Self.bytesF16 * 6300)
        var slowDisk = Self.profile()
        slowDisk.diskReadMBPerSecond = 50
        let tight = BatchPlanner.choose(CostModel(profile: slowDisk, shape: Self.shape), workload: Self.work, mix: dense, budgetBytes: kv, maxBatch: 8)
        #expect(tight.batch == 1)
    }

    @Test func refitRecoversTheMachineFromRecordedUnits() {
        let truth = Self.profile(decodeScale: 1.5)
        var truePrefill = truth
        truePrefill.prefillSecondsPerToken = 3e-3
        truePrefill.prefillSecondsPerPair = 2e-8
        let samples = [2000, 4000, 6000, 8000].map { n in
            let depth = n + 30 + 40
            let perToken = truth.decodeWeightSeconds + truth.decodePerSequenceSeconds + truth.attention["dense+f16"]!.seconds(atDepth: depth)
            return UnitSample(documentTokens: n, snapshotLoaded: false,
                              documentPrefillSeconds: 3e-3 * Double(n) + 2e-8 * Double(n * n) / 2, decodeSeconds: 240 * perToken,
                              generatedTokens: 240, meanDepth: depth, batchSize: 1, costKey: "dense+f16", answerFraction: 0.625)
        }
        let r = ProfileRefit.refit(Self.profile(), samples: samples)
        #expect(abs(r.profile.prefillSecondsPerToken - 3e-3) < 1e-9)
        #expect(abs(r.profile.prefillSecondsPerPair - 2e-8) < 1e-12)
        #expect(abs(r.decodeScale! - 1.5) < 1e-9)
        #expect(abs(r.answerFraction! - 0.625) < 1e-12)
        #expect(abs(r.profile.attention["topk+f16"]!.seconds(atDepth: 5000) - truth.attention["topk+f16"]!.seconds(atDepth: 5000)) < 1e-12)
        // A snapshot load says nothing about prefill speed.
        let loaded = samples.map { s -> UnitSample in var s = s; s.snapshotLoaded = true; s.documentPrefillSeconds = 0.01; return s }
        #expect(ProfileRefit.refit(Self.profile(), samples: loaded).prefillUnits == 0)
    }
}

import Attention
import Evaluation
import Foundation
import KVCache
import Model
import Planner
import Tensor
import TestSupport
import Testing

/// MachineProbe's pieces on tiny inputs: the fits, the attention timing per mix, memory and disk,
/// the stored form, and a whole probe of a synthetic model. Checks shapes and signs, not speeds.
@Suite struct MachineProbeTests {
    @Test func prefillFitRecoversPerTokenAndPerPairCosts() {
        let a = 2e-3, b = 3e-7
        let lengths = [256, 512, 1024]
        let fit = MachineProbe.fitPrefill(lengths: lengths, seconds: lengths.map { a * Double($0) + b * Double($0 * $0) / 2 })
        #expect(abs(fit.perToken - a) < 1e-12 && abs(fit.perPair - b) < 1e-15)
    }

    @Test func noisyFitsKeepCostsNonNegative() {
        // t/n falling with n (noise on a flat series): no negative per-pair cost, the mean per token.
        let flat = MachineProbe.fitPrefill(lengths: [100, 200, 400], seconds: [0.2, 0.39, 0.76])
        #expect(flat.perPair == 0 && abs(flat.perToken - (0.002 + 0.00195 + 0.0019) / 3) < 1e-12)
        // A step time proportional to the batch with a negative free intercept: all per sequence.
        let proportional = fitNonNegativeLine([1, 2, 4], [1.1, 2.0, 4.2])
        #expect(proportional.intercept == 0 && abs(proportional.slope - (1.1 + 4.0 + 16.8) / 21) < 1e-12)
    }

    static func strategies() -> [AttentionStrategy] {
        let exemptions = DenseExemptions(denseLayerCount: 0, sinkTokenCount: 4, windowTokenCount: 64)
        let budget = TopKBudget(k: 16, candidateCount: 64, bucketKeep: 2)
        return [DenseAttention(), TopKAttention(budget: budget, exemptions: exemptions),
                ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: 2),
                LSHAttention(bits: 4, tables: 8, exemptions: exemptions)]
    }

    @Test func attentionIsTimedForEveryStrategyAndFormatAtEveryDepth() throws {
        let geometry = KVGeometry(layerCount: 2, kvHeadCount: 1, headDim: 64)
        let costs = try MachineProbe.attentionCosts(strategies: Self.strategies(), formats: [.f16, .int8, .int4], geometry: geometry,
                                                    headCount: 2, depths: [640, 320], steps: 2, pool: ThreadPool(threadCount: 2))
        let keys = ["dense", "topk", "da-topk", "lsh"].flatMap { s in ["f16", "int8", "int4"].map { "\(s)+\($0)" } }
        #expect(costs.keys.sorted() == keys.sorted())
        for (key, cost) in costs {
            #expect(cost.depths == [320, 640])
            #expect(cost.stepSeconds.count == 2 && cost.stepSeconds.allSatisfy { $0 > 0 })
            // Dense builds no index; a sparse strategy's build cost is measured, never negative.
            if key.hasPrefix("dense+") { #expect(cost.indexBuildSecondsPerToken == 0) }
            #expect(cost.indexBuildSecondsPerToken >= 0 && cost.indexBuildSecondsPerToken.isFinite)
        }
    }

    @Test func profilesStoredBeforeTheIndexBuildTermDecodeWithoutIt() throws {
        let old = #"{"fixedSeconds":0.001,"secondsPerToken":2e-06,"depths":[1000,8000],"stepSeconds":[0.003,0.017]}"#
        let cost = try JSONDecoder().decode(MachineProfile.AttentionCost.self, from: Data(old.utf8))
        #expect(cost.indexBuildSecondsPerToken == 0 && cost.seconds(atDepth: 1000) == 0.003)
        let withBuild = MachineProfile.AttentionCost(depths: [1000, 8000], stepSeconds: [0.003, 0.017], indexBuildSecondsPerToken: 1e-6)
        #expect(try JSONDecoder().decode(MachineProfile.AttentionCost.self, from: JSONEncoder().encode(withBuild)) == withBuild)
    }

    @Test func memoryAndDiskAreMeasuredAndTheDiskFileRemoved() throws {
        #expect(MachineProbe.memoryGBPerSecond(bytes: 4 << 20, pool: ThreadPool(threadCount: 2), passes: 2) > 0)
        let folder = TemporaryDirectory("probe-test")
        let kv = folder.file("kv")
        let disk = try MachineProbe.diskMBPerSecond(directory: kv, bytes: 2 << 20)
        #expect(disk.write > 0 && disk.read > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: kv).isEmpty)
    }

    @Test func aDiskThatCannotBeWrittenIsAnError() throws {
        let folder = TemporaryDirectory("probe-test")
        let file = folder.write("kv", "not a folder")
        #expect(throws: MachineProbeError.self) { try MachineProbe.diskMBPerSecond(directory: file, bytes: 1 << 20) }
    }

    @Test func aSyntheticModelIsProbedIntoACompleteProfileThatRoundTripsThroughJSON() throws {
        var spec = SyntheticModel()
        spec.embeddingLength = 128
        spec.headCount = 2
        spec.kvHeadCount = 1
        let folder = TemporaryDirectory("probe-test")
        let model = try LlamaModel(path: spec.write(in: folder))
        var probe = MachineProbe(model: model, pool: ThreadPool(threadCount: 2), kvDirectory: folder.file("kv"))
        probe.settings.prefillLengths = [32, 64, 128]
        probe.settings.prefillRepetitions = 1
        probe.settings.decodeSteps = 2
        probe.settings.memoryBytes = 4 << 20
        probe.settings.diskBytes = 1 << 20
        probe.settings.codecTokens = 320
        probe.settings.attentionDepths = [320, 448, 4096] // 4096 is beyond the model's context: skipped
        probe.settings.attentionSteps = 1
        var phases: [String] = []
        probe.progress = { phases.append($0) }
        var profile = try probe.run(strategies: Self.strategies())

        #expect(phases.count == 9)
        // The verification curve: at the decode probe's depth and the longest prefill's.
        let verification = try #require(profile.verification)
        #expect(verification.depths == [probe.settings.decodeDepth, 128])
        #expect(verification.extraRowCosts.allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(profile.threads == 2 && profile.refitUnits == 0)
        for value in [profile.memoryGBPerSecond, profile.diskWriteMBPerSecond, profile.diskReadMBPerSecond,
                      profile.lz4CompressMBPerSecond, profile.lz4DecompressMBPerSecond] {
            #expect(value > 0 && value.isFinite)
        }
        // The fitted costs of a model this small are within timing noise: only their signs are sure.
        for value in [profile.gemmGFLOPS, profile.prefillSecondsPerToken, profile.prefillSecondsPerPair, profile.decodeWeightSeconds,
                      profile.decodePerSequenceSeconds] {
            #expect(value >= 0 && value.isFinite)
        }
        #expect(profile.prefillSecondsPerToken + profile.prefillSecondsPerPair > 0)
        #expect(profile.attention.count == 12 && profile.attention["lsh+int4"]?.depths == [320, 448])

        profile.measuredAt = Date(timeIntervalSince1970: 1_800_000_000) // ISO 8601 keeps whole seconds
        #expect(try MachineProfile(json: profile.encodedJSON()) == profile)
    }
}

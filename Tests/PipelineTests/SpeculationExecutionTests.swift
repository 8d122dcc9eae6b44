import Foundation
import Model
import Pipeline
import Planner
import Store
import Testing
import TestSupport

/// The executor with a job's `speculate` field: the same greedy answers as without, per-unit
/// figures recorded, several units verified in one batch; and the field's parsing and canonical
/// form (absent and "auto" keep the job id of files written before the field existed).
@Suite struct SpeculationExecutionTests {
    @Test func speculatingUnitsAnswerAsPlainOnesAndReportAcceptance() throws {
        let w = Workspace()
        var m = SyntheticModel.chat(seed: 21)
        m.embeddingLength = 256
        let modelPath = m.write(in: w.folder, name: "models/spec.gguf")
        let documents = w.documents(2, words: 40)
        func run(_ speculate: SpeculationChoice?) throws -> [UnitOutcome] {
            var spec = JobSpec(name: "spec", documents: documents, prompts: ["First?", "Second?"], maxNewTokens: 24,
                               strategy: .pinned(StrategyMix(.dense, kv: .f16)))
            spec.speculate = speculate
            let executor = ModelUnitExecutor(threads: 2, kvDirectory: w.folder.file("kv"))
            let works = try documents.enumerated().map { i, d in
                UnitWork(jobID: "j", jobName: "spec", unitID: Int64(i + 1), attempt: 1, documentPath: d,
                         documentText: try String(contentsOfFile: d, encoding: .utf8), spec: spec, memoryBudgetMB: 1024,
                         modelPath: modelPath, threads: 2)
            }
            return try executor.execute(batch: works, events: { _, _ in }, isCancelled: { _ in false }).map { try $0.get() }
        }
        let plain = try run(.off)
        for source in DraftSourceKind.allCases {
            let speculative = try run(.pinned(SpeculationSettings(source: source, draftTokens: 4, draftBudget: 16)))
            #expect(speculative.map { $0.prompts.map(\.text) } == plain.map { $0.prompts.map(\.text) }, "\(source)")
            for outcome in speculative {
                let s = try #require(outcome.measurements.speculation)
                #expect(outcome.measurements.speculationSource == source.rawValue)
                #expect(s.verificationPassCount > 0 && s.draftedTokenCount > 0 && s.acceptedTokenCount <= s.draftedTokenCount)
                #expect(outcome.measurements.batchSize == 2)
            }
        }
        #expect(plain.allSatisfy { $0.measurements.speculation == nil })
    }

    @Test func theRouterQuotesTheMeasuredVerificationCostAtTheUnitsDepth() throws {
        let curve = MachineProfile.VerificationCost(depths: [32, 2048], extraRowCosts: [0.3, 0.4])
        var profile = MachineProfile(threads: 2, gemmGFLOPS: 1, prefillSecondsPerToken: 1e-3, prefillSecondsPerPair: 1e-8,
                                     memoryGBPerSecond: 10, decodeWeightSeconds: 4e-3, decodePerSequenceSeconds: 1e-3,
                                     diskWriteMBPerSecond: 100, diskReadMBPerSecond: 100, lz4CompressMBPerSecond: 100,
                                     lz4DecompressMBPerSecond: 100, attention: [:], verification: curve)
        let spec = JobSpec(name: "v", documents: ["d.txt"], prompts: ["p"], maxNewTokens: 100, strategy: .pinned(.exact))
        let work = UnitWork(jobID: "j", jobName: "v", unitID: 1, attempt: 1, documentPath: "d.txt", documentText: "", spec: spec,
                            memoryBudgetMB: 64, modelPath: "m.gguf", threads: 2)
        let shape = ModelShape(layerCount: 2, kvHeadCount: 1, headDim: 64, weightBytes: 1 << 20, bufferBytes: 1 << 20, contextLength: 8192)
        let workload = UnitWorkload(documentTokens: 4000, promptTokens: [20, 40], maxNewTokens: 100)
        let plan = try JobRouter(profile: profile, calibrations: []).plan(work, workload: workload, shape: shape, cachedFormats: [])
        // the mean decode depth: document, longest tail, half the answer
        #expect(plan.verificationExtraRowCost == curve.extraRowCost(atDepth: 4000 + 40 + 50))
        profile.verification = nil // a profile measured before the curve: the speculation model's prior
        #expect(try JobRouter(profile: profile, calibrations: []).plan(work, workload: workload, shape: shape, cachedFormats: [])
            .verificationExtraRowCost == nil)
    }

    /// A run starts from the acceptance earlier runs recorded (cron starts one run at a time):
    /// `auto` tries lookup while too few of its drafts are on record, and decodes plainly once
    /// enough are and they predict a loss.
    @Test func recordedAcceptanceSeedsTheNextRunsChoice() throws {
        func recorded(_ source: String?, drafted: Int?, accepted: Int?) -> RecordedUnit {
            var m = MetricsRecord(unitID: 1, contentHash: "h", documentTokenCount: 100, keptTokenCount: 100, truncatedHeadTokens: nil,
                                  truncatedTailTokens: nil, tokensIn: 110, tokensOut: 20, prefillSeconds: 1, prefillTokensPerSecond: 110,
                                  decodeSeconds: 1, decodeTokensPerSecond: 20, documentPrefillSeconds: 1, perPromptPrefillSeconds: 0,
                                  peakMemoryBytes: 1, strategyMix: "dense+f16", kvBytesInMemory: 1, kvBytesOnDisk: 0, wallSeconds: 2, runner: "r")
            m.speculationSource = source; m.draftedTokens = drafted; m.acceptedTokens = accepted
            return RecordedUnit(metrics: m, specJSON: "{}", promptCount: 1)
        }
        #expect(StoreRefit.speculationModel(recorded: [recorded(nil, drafted: nil, accepted: nil)]) == SpeculationCostModel())
        let low = StoreRefit.speculationModel(recorded: [recorded("lookup", drafted: 400, accepted: 40), recorded(nil, drafted: nil, accepted: nil),
                                                          recorded("lookup", drafted: 400, accepted: 60), recorded("self", drafted: 10, accepted: 9)])
        let w = SpeculationCostModel.priorWeight
        #expect(abs(low.acceptance[.lookup]! - (0.35 * w + 100) / (w + 800)) < 1e-12)
        #expect(!low.needsMeasuring(.lookup) && low.needsMeasuring(.selfDraft))
        #expect(low.choose(among: [.lookup]) == nil)

        // The executor plans with the figures it is given.
        let ws = Workspace()
        let modelPath = SyntheticModel.chat(seed: 21).write(in: ws.folder, name: "models/spec.gguf")
        let document = ws.documents(1, words: 40)[0]
        let spec = JobSpec(name: "auto", documents: [document], prompts: ["First?"], maxNewTokens: 24, strategy: .pinned(.exact))
        let work = UnitWork(jobID: "j", jobName: "auto", unitID: 1, attempt: 1, documentPath: document,
                            documentText: try String(contentsOfFile: document, encoding: .utf8), spec: spec, memoryBudgetMB: 1024,
                            modelPath: modelPath, threads: 2)
        let fresh = try ModelUnitExecutor(threads: 2, kvDirectory: ws.folder.file("kv")).plan(work)
        #expect(fresh.plan.speculation?.source == .lookup)
        let informed = try ModelUnitExecutor(threads: 2, kvDirectory: ws.folder.file("kv"), speculation: low).plan(work)
        #expect(informed.plan.speculation == nil)
    }

    @Test func theFieldParsesAndAutoKeepsTheCanonicalForm() throws {
        func spec(_ extra: String) throws -> JobSpec {
            try JobSpec.parse(Data(#"{"name": "n", "documents": ["a.txt"], "prompts": ["p"]\#(extra)}"#.utf8), file: "job.json")
        }
        let base = try spec("")
        #expect(try !base.canonicalJSON().contains("speculate"))
        #expect(try spec(#", "speculate": "auto""#).canonicalJSON() == base.canonicalJSON())
        #expect(try spec(#", "speculate": "off""#).speculate == .off)
        #expect(try spec(#", "speculate": "lookup""#).speculate == .pinned(SpeculationSettings(source: .lookup)))
        let pinned = try spec(#", "speculate": {"source": "self", "draft_tokens": 6, "draft_budget": 128}"#)
        #expect(pinned.speculate == .pinned(SpeculationSettings(source: .selfDraft, draftTokens: 6, draftBudget: 128)))
        #expect(try JobSpec.stored(pinned.canonicalJSON(), jobID: "x") == pinned)
        for bad in [#""sometimes""#, "3", #"{"source": "oracle"}"#, #"{"source": "lookup", "draft_budget": 8}"#,
                    #"{"source": "lookup", "draft_tokens": 0}"#, #"{"source": "lookup", "gamma": 2}"#] {
            #expect(throws: PipelineError.self, "speculate \(bad)") { _ = try spec(#", "speculate": "# + bad) }
        }
    }
}

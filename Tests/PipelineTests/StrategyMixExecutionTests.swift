import Foundation
import Pipeline
import Testing
import TestSupport

/// The executor runs every mix a job can pin (attention × KV format), saves the document's KV as
/// a snapshot and reuses it: a second unit over the same document loads it instead of prefilling
/// and produces the same greedy answers.
@Suite struct StrategyMixExecutionTests {
    /// Head size 64 (int4 pages need a multiple of 64), three layers (sparse strategies keep the
    /// first two dense), a document long enough for a sparse range beyond k = 128.
    static func model(in w: Workspace) -> String {
        var m = SyntheticModel.chat(seed: 21)
        m.embeddingLength = 256
        m.layerCount = 3
        return m.write(in: w.folder, name: "models/mix.gguf")
    }

    static let mixes: [StrategyMix] = [
        StrategyMix(attention: .dense, kv: .int8), StrategyMix(attention: .dense, kv: .int4), StrategyMix(attention: .topk, kv: .f16),
        StrategyMix(attention: .daTopk, kv: .int8), StrategyMix(attention: .lsh, kv: .int4),
    ]

    @Test(arguments: mixes)
    func pinnedMixRunsAndItsSnapshotIsReused(mix: StrategyMix) throws {
        let w = Workspace()
        let modelPath = Self.model(in: w)
        let document = w.documents(1, words: 50)[0]
        let spec = JobSpec(name: "mix", documents: [document], prompts: ["First?", "Second?"], maxNewTokens: 5, strategy: .pinned(mix))
        let executor = ModelUnitExecutor(threads: 2, kvDirectory: w.folder.file("kv"))
        func run(_ id: Int64) throws -> UnitOutcome {
            let work = UnitWork(jobID: "j", jobName: "mix", unitID: id, attempt: 1, documentPath: document,
                                documentText: try String(contentsOfFile: document, encoding: .utf8), spec: spec,
                                memoryBudgetMB: 1024, modelPath: modelPath, threads: 2)
            return try executor.execute(work, events: { _ in }, isCancelled: { false })
        }
        let first = try run(1), second = try run(2)
        #expect(first.measurements.strategyMix == mix && second.measurements.strategyMix == mix)
        #expect(first.measurements.keptTokenCount > 256)
        #expect(first.measurements.kvSnapshot == .saved)
        #expect(second.measurements.kvSnapshot == .loaded)
        #expect(first.prompts.map(\.text) == second.prompts.map(\.text))
        #expect(first.prompts.allSatisfy { $0.generatedTokenCount > 0 })
        #expect(first.measurements.kvBytesInMemory > 0)
    }

    @Test func aFormatTheCacheStoreLacksFailsClearly() throws {
        let w = Workspace()
        let modelPath = Self.model(in: w)
        let document = w.documents(1, words: 20)[0]
        let spec = JobSpec(name: "f32", documents: [document], prompts: ["Q?"], maxNewTokens: 2,
                           strategy: .pinned(StrategyMix(attention: .dense, kv: .f32)))
        let work = UnitWork(jobID: "j", jobName: "f32", unitID: 1, attempt: 1, documentPath: document,
                            documentText: try String(contentsOfFile: document, encoding: .utf8), spec: spec,
                            memoryBudgetMB: 1024, modelPath: modelPath, threads: 1)
        #expect(throws: PipelineError.self) {
            _ = try ModelUnitExecutor(threads: 1, kvDirectory: w.folder.file("kv")).execute(work, events: { _ in }, isCancelled: { false })
        }
    }
}

import Attention
import Foundation
import KVCache
import Pipeline
import Planner
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
        m.contextLength = 4096
        return m.write(in: w.folder, name: "models/mix.gguf")
    }

    static let mixes: [StrategyMix] = [
        StrategyMix(.dense, kv: .int8), StrategyMix(.dense, kv: .int4), StrategyMix(.topk, kv: .f16),
        StrategyMix(.daTopk, kv: .int8), StrategyMix(.lsh, kv: .int4),
    ]

    static func work(_ spec: JobSpec, document: String, modelPath: String, unit: Int64 = 1) throws -> UnitWork {
        UnitWork(jobID: "j", jobName: spec.name, unitID: unit, attempt: 1, documentPath: document,
                 documentText: try String(contentsOfFile: document, encoding: .utf8), spec: spec,
                 memoryBudgetMB: 1024, modelPath: modelPath, threads: 2)
    }

    @Test(arguments: mixes)
    func pinnedMixRunsAndItsSnapshotIsReused(mix: StrategyMix) throws {
        let w = Workspace()
        let modelPath = Self.model(in: w)
        let document = w.documents(1, words: 150)[0]
        let spec = JobSpec(name: "mix", documents: [document], prompts: ["First?", "Second?"], maxNewTokens: 5, fidelity: .fast,
                           strategy: .pinned(mix))
        let executor = ModelUnitExecutor(threads: 2, kvDirectory: w.folder.file("kv"))
        let firstPlan = try executor.plan(try Self.work(spec, document: document, modelPath: modelPath, unit: 1))
        let first = try executor.execute(firstPlan, events: { _ in }, isCancelled: { false })
        let second = try executor.execute(try Self.work(spec, document: document, modelPath: modelPath, unit: 2), events: { _ in }, isCancelled: { false })
        #expect(first.measurements.strategyMix == mix && second.measurements.strategyMix == mix)
        #expect(first.measurements.keptTokenCount > 700) // a sparse range beyond k and lsh's 256 keys
        #expect(firstPlan.plan.reason == "pinned by the job")
        #expect(first.measurements.kvSnapshot == .saved)
        #expect(second.measurements.kvSnapshot == .loaded)
        #expect(first.prompts.map(\.text) == second.prompts.map(\.text))
        #expect(first.prompts.allSatisfy { $0.generatedTokenCount > 0 })
        #expect(first.measurements.kvBytesInMemory > 0)
    }

    /// Strategy objects at both ends of every parameter's range, for every strategy it applies
    /// to, and every strategy at its defaults over every KV format: what the job parser accepts,
    /// the engine builds and decodes with.
    static let acceptedStrategies: [String] = {
        var objects: [String] = []
        for kind in AttentionConfiguration.Kind.allCases {
            for kv in KVFormat.allCases { objects.append(#"{"attention": "\#(kind.rawValue)", "kv": "\#(kv.rawValue)"}"#) }
            for parameter in AttentionConfiguration.parameters(of: kind) {
                let range = parameter.range(in: AttentionConfiguration(kind))
                for value in [range.lowerBound, range.upperBound] {
                    // k′ must stay ≥ k: pair k's extremes with a k′ that allows them.
                    let extra = parameter.name == "top_k" ? #", "k_prime": \#(max(value, 16384))"# : ""
                    objects.append(#"{"attention": "\#(kind.rawValue)", "\#(parameter.name)": \#(value)\#(extra)}"#)
                }
            }
        }
        return objects
    }()

    @Test func everyStrategyTheParserAcceptsBuildsAndDecodes() throws {
        let w = Workspace()
        let modelPath = Self.model(in: w)
        let document = w.documents(1, words: 400)[0]
        let executor = ModelUnitExecutor(threads: 2, kvDirectory: w.folder.file("kv"))
        for (i, object) in Self.acceptedStrategies.enumerated() {
            let job = #"{"name": "mix", "documents": ["d"], "prompts": ["Q?"], "max_new_tokens": 2, "fidelity": "fast", "strategy": \#(object)}"#
            let spec = try JobSpec.parse(Data(job.utf8), file: "mix.json")
            guard case .pinned(let mix) = spec.strategy else { Issue.record("\(object) not pinned"); continue }
            let planned = try executor.plan(try Self.work(spec, document: document, modelPath: modelPath, unit: Int64(i + 1)))
            let outcome = try executor.execute(planned, events: { _ in }, isCancelled: { false })
            // What ran: the mix, or dense where its sparse range never exceeds its budget (and says so).
            let visible = outcome.measurements.keptTokenCount + 60 + 2
            let ran = mix.attention.attendsDensely(upToVisibleTokens: visible) ? StrategyMix(.dense, kv: mix.kv) : mix
            #expect(outcome.measurements.strategyMix == ran, "\(object)")
            #expect(ran == mix || planned.plan.reason.contains("dense attention ran"), "\(object)")
            #expect(outcome.prompts.count == 1 && outcome.prompts[0].generatedTokenCount > 0, "\(object)")
        }
    }

    /// A GQA group larger than the sparse kernels take (16 query heads per KV head) fails the unit
    /// with the reason, before any kernel runs; dense attention runs the same model.
    @Test func aModelBeyondTheSparseKernelsLimitsFailsTheUnitClearly() throws {
        let w = Workspace()
        var m = SyntheticModel.chat(seed: 5)
        m.embeddingLength = 32 * 16
        m.headCount = 32
        m.kvHeadCount = 1
        m.layerCount = 3
        let modelPath = m.write(in: w.folder, name: "models/wide.gguf")
        let document = w.documents(1, words: 10)[0]
        let executor = ModelUnitExecutor(threads: 1, kvDirectory: w.folder.file("kv"))
        let sparse = JobSpec(name: "g", documents: [document], prompts: ["Q?"], maxNewTokens: 2, fidelity: .fast, strategy: .pinned(StrategyMix(.topk)))
        #expect {
            _ = try executor.execute(try Self.work(sparse, document: document, modelPath: modelPath), events: { _ in }, isCancelled: { false })
        } throws: { error in
            guard case PipelineError.strategyUnsupported(_, _, let reason) = error else { return false }
            return reason.contains("32 query heads per KV head")
        }
        let dense = JobSpec(name: "g", documents: [document], prompts: ["Q?"], maxNewTokens: 2, strategy: .pinned(.exact))
        let outcome = try executor.execute(try Self.work(dense, document: document, modelPath: modelPath), events: { _ in }, isCancelled: { false })
        #expect(outcome.prompts[0].generatedTokenCount > 0)
    }

    /// A short document under a sparse mix runs dense, and the unit's plan (its recorded route) says so.
    @Test func aShortContextRunsDenseAndSaysSo() throws {
        let w = Workspace()
        let modelPath = Self.model(in: w)
        let document = w.documents(1, words: 20)[0]
        let spec = JobSpec(name: "short", documents: [document], prompts: ["Q?"], maxNewTokens: 3, fidelity: .fast,
                           strategy: .pinned(StrategyMix(.topk, kv: .int8)))
        let executor = ModelUnitExecutor(threads: 1, kvDirectory: w.folder.file("kv"))
        let planned = try executor.plan(try Self.work(spec, document: document, modelPath: modelPath))
        #expect(planned.plan.mix == StrategyMix(.dense, kv: .int8))
        #expect(planned.plan.reason.contains("dense attention ran: the context"))
        let outcome = try executor.execute(planned, events: { _ in }, isCancelled: { false })
        #expect(outcome.measurements.strategyMix == StrategyMix(.dense, kv: .int8))
    }
}

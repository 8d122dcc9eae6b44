import Foundation
import Grammar
import Pipeline
import Planner
import Testing
import TestSupport

/// Structured outputs on the real model (SmolLM2-135M, its 49,152-token vocabulary): 22 schemas
/// asked of 12 excerpts (ten of ~150 tokens, two of ~600) of the licences and manuals = 264 answers, decoded as one batch of units
/// (shared decode steps across documents), greedy and sampled. Every answer that stopped must
/// parse and validate with Python's `jsonschema`; answers cut by max_new_tokens must say
/// `length` and have used the whole budget.
@Suite(.serialized) struct StructuredOutputModelTests {
    static func documents(in w: Workspace) throws -> [(path: String, text: String)] {
        try StructuredOutputSchemas.excerpts.enumerated().map { i, e in
            let data = try Data(contentsOf: URL(fileURLWithPath: Paths.inPackage("data/docs/" + e.0)))
            let bytes = Array(data[e.1..<min(data.count, e.1 + e.2)])
            let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{FFFD}", with: "")
            let path = w.folder.file("docs/excerpt-\(i).txt")
            w.folder.write("docs/excerpt-\(i).txt", Array(text.utf8))
            return (path, text)
        }
    }

    /// The outcome lines for the Python validator ({"schema", "output", "finish_reason"}; a null
    /// schema is json_object), and counts.
    static func check(_ outcomes: [[PromptOutcome]], spec: JobSpec, indices: [Int]) throws -> (lines: [String], stopped: Int, cut: Int) {
        var lines: [String] = [], stopped = 0, cut = 0
        for prompts in outcomes {
            #expect(prompts.count == indices.count)
            for (p, i) in zip(prompts, indices) {
                let settings = spec.settings(ofPrompt: i)
                if p.finishReason == .length {
                    cut += 1
                    #expect(p.generatedTokenCount == settings.maxNewTokens, "a cut answer used its whole budget")
                } else {
                    stopped += 1
                }
                var schema: Any = NSNull()
                if case .jsonSchema(_, let s, _)? = settings.responseFormat {
                    schema = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s))
                }
                let line: [String: Any] = ["schema": schema, "output": p.text, "finish_reason": p.finishReason.rawValue]
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: line), as: UTF8.self))
            }
        }
        return (lines, stopped, cut)
    }

    @Test func twoHundredAnswersOverTwentySchemasAllValidate() throws {
        let w = Workspace()
        let documents = try Self.documents(in: w)
        let spec = try StructuredOutputSchemas.spec()
        #expect(spec.prompts.count >= 20)
        let executor = ModelUnitExecutor(threads: 2, kvDirectory: w.folder.file("kv"))
        let works = documents.enumerated().map { i, d in
            UnitWork(jobID: "j", jobName: "structured", unitID: Int64(i + 1), attempt: 1, documentPath: d.path, documentText: d.text,
                     spec: spec, memoryBudgetMB: 1024, modelPath: try! Paths.requireFile(Paths.realModel), threads: 2)
        }
        let results = executor.execute(batch: works, events: { _, _ in }, isCancelled: { _ in false })
        let outcomes = try results.map { try $0.get() }
        #expect(outcomes.allSatisfy { $0.measurements.batchSize > 1 }, "units decoded together")
        let (lines, stopped, cut) = try Self.check(outcomes.map(\.prompts), spec: spec, indices: Array(spec.prompts.indices))
        #expect(lines.count >= 200)
        #expect(stopped >= 200, "at least 200 complete answers to validate: \(stopped) of \(lines.count)")
        #expect(stopped >= lines.count * 3 / 4, "\(stopped) of \(lines.count) answers completed, \(cut) cut")
        let report = try PythonScript.validateJSONOutputs(lines: lines)
        print("structured outputs on the real model: \(lines.count) answers; jsonschema: \(report.output.split(separator: "\n").suffix(2).joined(separator: "; "))")
        #expect(report.status == 0, "\(report.output)")
        #expect(report.output.contains("cut by length: \(cut)\n\(stopped) passed, 0 failed"), "\(report.output)")
    }

    /// The constraint works under every attention strategy and KV format a job can pin.
    @Test(arguments: [StrategyMix(.dense, kv: .int8), StrategyMix(.topk, kv: .f16),
                      StrategyMix(.lsh, kv: .int4), StrategyMix(.daTopk, kv: .int8)])
    func everyStrategyMixKeepsAnswersValid(mix: StrategyMix) throws {
        let w = Workspace()
        let document = try Self.documents(in: w)[0]
        var spec = try StructuredOutputSchemas.spec()
        spec.strategy = .pinned(mix)
        // Two prompts: a greedy one and a sampled one.
        spec.prompts = [spec.prompts[0], spec.prompts[3]]
        spec.promptOptions = [spec.promptOptions![0], spec.promptOptions![3]]
        let work = UnitWork(jobID: "j", jobName: "structured", unitID: 1, attempt: 1, documentPath: document.path,
                            documentText: document.text, spec: spec, memoryBudgetMB: 1024,
                            modelPath: try Paths.requireFile(Paths.realModel), threads: 2)
        let executor = ModelUnitExecutor(threads: 2, kvDirectory: w.folder.file("kv"))
        let planned = try executor.plan(work)
        let outcome = try executor.execute(planned, events: { _ in }, isCancelled: { false })
        // The mix ran, or — on an excerpt shorter than its sinks + window + budget — dense attention
        // over the mix's KV format, recorded as such (the short-context rule).
        let ranDense = outcome.measurements.strategyMix == StrategyMix(.dense, kv: mix.kv)
            && planned.plan.reason.contains("dense attention ran")
        #expect(outcome.measurements.strategyMix == mix || ranDense)
        let (lines, stopped, cut) = try Self.check([outcome.prompts], spec: spec, indices: [0, 1])
        let report = try PythonScript.validateJSONOutputs(lines: lines)
        #expect(report.status == 0 && report.output.contains("\(stopped) passed, 0 failed") && stopped + cut == 2, "\(report.output)")
    }
}

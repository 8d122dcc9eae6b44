import Foundation
import Testing
import Attention
@testable import Pipeline
import Planner

@Suite struct JobSpecTests {
    let file = "jobs/x.json"

    func parse(_ json: String) throws -> JobSpec { try JobSpec.parse(Data(json.utf8), file: file) }

    @Test func aMinimalJobGetsTheDocumentedDefaults() throws {
        let spec = try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"]}"#)
        #expect(spec == JobSpec(name: "j", documents: ["a.txt"], prompts: ["Q?"], maxNewTokens: 256, temperature: 0, seed: 0,
                                fidelity: .high, strategy: .auto, memoryBudgetMB: 1024, model: nil, overflow: .fail))
    }

    @Test func everyFieldIsRead() throws {
        let spec = try parse("""
            {"name": "licence-questions", "documents": ["../d/*.txt", "x.md"], "prompts": ["A", "B", "C"],
             "max_new_tokens": 128, "temperature": 0.7, "seed": 7, "fidelity": "fast", "memory_budget_mb": 512,
             "strategy": {"attention": "lsh", "kv": "int4", "lsh_k": 10, "lsh_l": 150},
             "model": "../m.gguf", "overflow": "truncate-middle"}
            """)
        #expect(spec.maxNewTokens == 128 && spec.temperature == 0.7 && spec.seed == 7 && spec.fidelity == .fast)
        #expect(spec.strategy == .pinned(StrategyMix(.lsh, kv: .int4)))
        #expect(spec.memoryBudgetMB == 512 && spec.model == "../m.gguf" && spec.overflow == .truncateMiddle)
        #expect(StrategyMix(.lsh, kv: .int4).label == "lsh+int4")
        var twelve = AttentionConfiguration(.lsh)
        try twelve.set("lsh_k", 12)
        #expect(StrategyMix(attention: twelve, kv: .int4).label == "lsh(lsh_k=12)+int4")
    }

    /// Whitespace, key order and spelled-out defaults do not change the job's identity; content does.
    @Test func theCanonicalFormIgnoresLayoutAndDefaults() throws {
        let a = try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?"]}"#)
        let b = try parse(#"{ "prompts" : ["Q?"],"documents":["a.txt"], "fidelity": "high", "overflow": "fail", "name":"j", "strategy": "auto" }"#)
        let c = try parse(#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?", "R?"]}"#)
        #expect(try a.canonicalJSON() == b.canonicalJSON())
        #expect(try a.canonicalJSON() != c.canonicalJSON())
        #expect(try JobSpec.stored(a.canonicalJSON(), jobID: "x") == a)
    }

    static let badFiles: [(String, PipelineError)] = {
        let f = "jobs/x.json"
        let ok = #""documents": ["a.txt"], "prompts": ["Q?"]"#
        func field(_ name: String, _ expected: String, _ found: String?) -> PipelineError {
            .invalidJobField(file: f, field: name, expected: expected, found: found)
        }
        let nameRule = "a name of 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        return [
            ("[1, 2]", .jobFileNotJSON(file: f, detail: "the top level is an array of 2, not an object")),
            (#"{"documents": ["a.txt"], "prompts": ["Q?"]}"#, field("name", nameRule, nil)),
            (#"{"name": "has space", \#(ok)}"#, field("name", nameRule, "\"has space\"")),
            (#"{"name": "-dash", \#(ok)}"#, field("name", nameRule, "\"-dash\"")),
            (#"{"name": "j", "prompts": ["Q?"]}"#,
             field("documents", "a non-empty array of strings (each a path or glob pattern)", nil)),
            (#"{"name": "j", "documents": [], "prompts": ["Q?"]}"#,
             field("documents", "a non-empty array of strings (each a path or glob pattern)", "an array of 0")),
            (#"{"name": "j", "documents": "a.txt", "prompts": ["Q?"]}"#,
             field("documents", "a non-empty array of strings (each a path or glob pattern)", "\"a.txt\"")),
            (#"{"name": "j", "documents": ["a.txt", 3], "prompts": ["Q?"]}"#,
             field("documents[1]", "a non-empty path or glob pattern", "3")),
            (#"{"name": "j", "documents": ["a.txt"], "prompts": ["Q?", "  "]}"#, field("prompts[1]", "a non-empty prompt", "\"  \"")),
            (#"{"name": "j", \#(ok), "max_new_tokens": 0}"#, field("max_new_tokens", "an integer from 1 to 8192", "0")),
            (#"{"name": "j", \#(ok), "max_new_tokens": 1.5}"#, field("max_new_tokens", "an integer from 1 to 8192", "1.5")),
            (#"{"name": "j", \#(ok), "max_new_tokens": "128"}"#, field("max_new_tokens", "an integer from 1 to 8192", "\"128\"")),
            (#"{"name": "j", \#(ok), "temperature": -1}"#, field("temperature", "a number from 0.0 to 10.0", "-1")),
            (#"{"name": "j", \#(ok), "seed": true}"#,
             field("seed", "an integer from 0 to \(Int.max)", "true")),
            (#"{"name": "j", \#(ok), "fidelity": "perfect"}"#, field("fidelity", #"one of "exact", "high", "fast""#, "\"perfect\"")),
            (#"{"name": "j", \#(ok), "overflow": "truncate"}"#, field("overflow", #"one of "fail", "truncate-middle""#, "\"truncate\"")),
            (#"{"name": "j", \#(ok), "memory_budget_mb": 8}"#, field("memory_budget_mb", "an integer from 16 to 1048576", "8")),
            (#"{"name": "j", \#(ok), "model": 5}"#, field("model", "a path to a GGUF file, relative to the job file", "5")),
            (#"{"name": "j", \#(ok), "strategy": "fastest"}"#,
             field("strategy", #""auto" or an object such as {"attention": "lsh", "kv": "int4"}"#, "\"fastest\"")),
            (#"{"name": "j", \#(ok), "strategy": {"kv": "int4"}}"#,
             field("strategy.attention", #"one of "dense", "topk", "da-topk", "lsh""#, nil)),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "lsh", "kv": "int3"}}"#,
             field("strategy.kv", #"one of "f16", "int8", "int4""#, "\"int3\"")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "dense", "kv": "f32"}}"#,
             field("strategy.kv", #"one of "f16", "int8", "int4""#, "\"f32\"")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "lsh", "lsh_k": 40}}"#,
             field("strategy.lsh_k", "an integer from 1 to 16", "40")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "lsh", "lsh_l": 1}}"#,
             field("strategy.lsh_l", "an integer from 2 to 256", "1")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "topk", "top_k": 256, "k_prime": 100}}"#,
             field("strategy.k_prime", "an integer from 256 to 16384", "100")),
            (#"{"name": "j", \#(ok), "fidelity": "exact", "strategy": {"attention": "topk"}}"#,
             field("strategy", #"dense attention over f16 KV (or "auto") with "fidelity": "exact""#,
                   #"topk+f16, which is an approximation; ask for "fidelity": "high" or "fast" to pin it"#)),
            (#"{"name": "j", \#(ok), "fidelity": "exact", "strategy": {"attention": "dense", "kv": "int8"}}"#,
             field("strategy", #"dense attention over f16 KV (or "auto") with "fidelity": "exact""#,
                   #"dense+int8, which is an approximation; ask for "fidelity": "high" or "fast" to pin it"#)),
            (#"{"name": "j", \#(ok), "seed": 9223372036854775808}"#,
             field("seed", "an integer from 0 to 9223372036854775807", "9.223372036854776e+18")),
            (#"{"name": "j", \#(ok), "max_new_tokens": 5, "max_new_tokens": 6}"#,
             field("max_new_tokens", "each field given once", "the field a second time")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "lsh", "lsh_k": 8, "lsh_k": 9}}"#,
             field("strategy.lsh_k", "each field given once", "the field a second time")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "dense", "lsh_k": 10}}"#,
             field("strategy.lsh_k", #"no lsh_k here: it applies only with "attention": lsh"#, "10")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "lsh", "lsh_l": 5000}}"#,
             field("strategy.lsh_l", "an integer from 2 to 256", "5000")),
            (#"{"name": "j", \#(ok), "strategy": {"attention": "lsh", "colour": 1}}"#,
             .unknownJobField(file: f, field: "strategy.colour", allowed: ["attention", "bucket_keep", "dense_layers", "k_prime", "kv", "lsh_k",
                                                                           "lsh_l", "shards", "sinks", "top_k", "window"])),
            (#"{"name": "j", \#(ok), "promts": ["typo"]}"#,
             .unknownJobField(file: f, field: "promts", allowed: JobSpec.fieldNames)),
        ]
    }()

    /// Every bad job file is rejected with the error that names the file, the field and what was expected.
    @Test(arguments: badFiles)
    func badJobFilesAreRejectedPrecisely(json: String, expected: PipelineError) {
        #expect(throws: expected) { try parse(json) }
    }

    @Test func invalidJSONNamesTheFile() {
        do {
            _ = try parse(#"{"name": "j", "#)
            Issue.record("expected a JSON error")
        } catch PipelineError.jobFileNotJSON(let named, _) {
            #expect(named == file)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

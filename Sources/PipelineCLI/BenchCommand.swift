import ArgumentParser
import Attention
import Evaluation
import Foundation
import KVCache
import Model
import Tensor

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prefill and decode speed (llama-bench style: ppN, tgN, tgN@dDEPTH).",
        discussion: """
        ppN times the prefill of N random tokens; tgN@dD prefills D tokens untimed, then times N decode \
        steps. Every test runs once untimed, then --repetitions times; the median is reported.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Prompt lengths for the ppN tests (comma-separated; 0 for none).") var promptTokens = "512"
    @Option(help: "Generated tokens for the test at depth 0.") var genTokens = 128
    @Option(help: "Generated tokens for the tests at depths above 0.") var depthGenTokens = 64
    @Option(help: "Context depths for the tg tests (comma-separated).") var depths = "0"
    @Option(help: "KV cache format; a comma-separated list runs the tg tests of all of them in one run, repetitions interleaved.")
    var kv = "f16"
    @OptionGroup var strategyOptions: StrategyOptions
    @OptionGroup var computeOptions: ComputeOptions
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Timed repetitions per test.") var repetitions = 3
    @Option(help: "KV memory budget in MiB: sealed KV pages beyond it spill to --kv-dir (default: no budget).")
    var memoryBudgetMb: Int?
    @Option(help: "Folder of the KV spill files.") var kvDir = Defaults.kvSpillDirectory
    @Option(parsing: .upToNextOption, help: "Text files prefilled into their own caches, then decoded together (replaces the pp/tg tests).")
    var documents: [String] = []
    @Option(help: "Greedy tokens decoded per document with --documents.") var documentGenTokens = 32
    @Flag(help: "With --documents: survey the LZ4 compression of the documents' KV pages in every format instead.")
    var kvCompression = false
    @OptionGroup var speculationOptions: SpeculationOptions
    @Option(help: "With --speculate: a JSON list of {name, prompt} with rendered prompts (the needle files' format), each decoded --gen-tokens.")
    var specCases: String?
    @Flag(help: "Time a row-exact verification pass of 1, 2, 3, 5, 9 rows against one decode step at depth 0 and each of --depths.")
    var verificationCost = false
    @Flag(help: "Print one JSON object per row.") var json = false

    func run() async throws {
        try await reportingErrors {
            let formats = try kv.split(separator: ",").map { name in
                guard let f = KVFormat(rawValue: String(name)) else {
                    throw CLIFailure(.usage, "unknown --kv \(name) (known: \(KVFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return f
            }
            guard let format = formats.first else { throw CLIFailure(.usage, "--kv names no format") }
            let attention = try strategyOptions.make()
            let prompts = try parseList(promptTokens, name: "--prompt-tokens")
            let depthList = try parseList(depths, name: "--depths")
            let model = try LlamaModel(path: modelOptions.modelPath)
            let pool = ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let context = ForwardContext(model: model, pool: pool, maxTokens: 512, decodeAttention: attention)
            let budget = memoryBudgetMb.map { KVStorage(root: kvDir).makeBudget(megabytes: $0) }
            if speculationOptions.sourceNames != ["off"] || verificationCost {
                guard strategyOptions.strategy == "dense" else { throw CLIFailure(.usage, "--speculate verifies with dense attention: use --strategy dense") }
                try runSpeculation(context: context, format: format)
                return
            }
            if !documents.isEmpty {
                try runDocuments(context: context, format: format, budget: budget)
                return
            }
            var bench = EngineBenchmark(context: context, format: format, repetitions: repetitions)
            bench.budget = budget
            var rows: [EngineBenchmark.Row] = []
            let formatsA = try computeOptions.activationFormats(), heads = try computeOptions.heads()
            if formatsA.count > 1 || heads.count > 1 || formatsA != [.f32] || heads != [.full] {
                // Activation formats × LM heads, interleaved: pp with the full head, tg with every pair.
                guard formats.count == 1 else { throw CLIFailure(.usage, "a list of --kv formats and of --activations/--lm-head cannot be combined") }
                context.activations = formatsA.contains(.q8) ? .q8 : .f32
                try computeOptions.applyCopy(to: context)
                ComputeOptions.reportFallbacks(context)
                let ppVariants = formatsA.map { EngineBenchmark.Variant(activations: $0, lmHead: .full) }
                let tgVariants = formatsA.flatMap { a in heads.map { EngineBenchmark.Variant(activations: a, lmHead: $0) } }
                for n in prompts where n > 0 { for row in try bench.promptProcessing(tokens: n, variants: ppVariants) { rows.append(row); emit(row) } }
                for d in depthList {
                    let n = d == 0 ? genTokens : depthGenTokens
                    guard n > 0 else { continue }
                    guard d + n <= model.config.contextLength else {
                        throw CLIFailure(.usage, "depth \(d) + \(n) tokens exceeds the model's context of \(model.config.contextLength)")
                    }
                    for row in try bench.textGeneration(tokens: n, depth: d, variants: tgVariants) { rows.append(row); emit(row) }
                }
                if let s = context.certifiedHeadStatistics { print("  " + ComputeOptions.describe(s, copyBytes: context.certifiedHeadByteCount ?? 0, fullBytes: model.weights.output.byteCount)) }
                return
            }
            for n in prompts where n > 0 { rows.append(try bench.promptProcessing(tokens: n)); emit(rows.last!) }
            for d in depthList {
                let n = d == 0 ? genTokens : depthGenTokens
                guard n > 0 else { continue }
                guard d + n <= model.config.contextLength else {
                    throw CLIFailure(.usage, "depth \(d) + \(n) tokens exceeds the model's context of \(model.config.contextLength)")
                }
                (attention as? SparseAttentionStrategy)?.resetStatistics()
                if formats.count > 1 {
                    for row in try bench.textGeneration(tokens: n, depth: d, formats: formats) { rows.append(row); emit(row) }
                } else {
                    rows.append(try bench.textGeneration(tokens: n, depth: d))
                    emit(rows.last!)
                }
                if let sparse = attention as? SparseAttentionStrategy { emit(sparse.statistics, test: rows.last!.test) }
            }
        }
    }

    private func emit(_ row: EngineBenchmark.Row) {
        if json {
            try? printJSON(row)
        } else {
            let samples = row.samples.map { String(format: "%.1f", $0) }.joined(separator: ", ")
            print(String(format: "%-12@ %9.2f tok/s  (threads %d, kv %@, %@; samples %@)", row.test as NSString,
                         row.tokensPerSecond, row.threads, row.kv as NSString, row.attention as NSString, samples as NSString))
            if let first = row.firstStepSeconds, let amortized = row.amortizedTokensPerSecond {
                print(String(format: "  first step %.2f ms (builds a sparse index); with it amortized over the steps: %.2f tok/s",
                             first * 1e3, amortized))
            }
        }
        fflush(nil) // print() buffers stdout when it is not a terminal: show each line as it comes
    }

    /// What a sparse strategy read during a test (warm-up included), per sparse (layer, KV head) step.
    func emit(_ s: SparseAttentionStatistics, test: String) {
        if json {
            struct Line: Encodable { let test: String; let sparse: SparseAttentionStatistics }
            try? printJSON(Line(test: test, sparse: s))
        } else if s.sparseHeadSteps > 0 {
            let steps = Double(s.sparseHeadSteps)
            print(String(format: "  %@ per sparse head step: %.0f keys in range, %.0f scored exactly, %.0f attended; value pages read %.1f of %.1f (%.0f%%), dense pages %.1f; index pages built %d; shard bytes %.0f",
                         test as NSString, Double(s.sparseTokens) / steps, Double(s.candidateTokens) / steps, Double(s.selectedTokens) / steps,
                         Double(s.valuePagesRead) / steps, Double(s.sparsePages) / steps, 100 * s.valuePageFraction,
                         Double(s.densePagesRead) / steps, s.indexPagesRead, Double(s.bytesExchanged) / steps))
        }
    }

    func parseList(_ s: String, name: String) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 0 else { throw CLIFailure(.usage, "\(name): \"\($0)\" is not a count") }
            return v
        }
    }
}

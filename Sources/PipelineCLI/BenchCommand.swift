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
            if !documents.isEmpty {
                try runDocuments(context: context, format: format, budget: budget)
                return
            }
            var bench = EngineBenchmark(context: context, format: format, repetitions: repetitions)
            bench.budget = budget
            var rows: [EngineBenchmark.Row] = []
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

    private func parseList(_ s: String, name: String) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 0 else { throw CLIFailure(.usage, "\(name): \"\($0)\" is not a count") }
            return v
        }
    }
}

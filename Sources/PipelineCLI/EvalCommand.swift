import ArgumentParser
import Attention
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor
import Tokenizer

/// `pipeline eval`: fidelity of a strategy mix (decode attention × KV format) against the exact
/// path (dense attention, f16 KV), stored as a calibration row.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Fidelity of a strategy and KV format against dense f16: KL, top-1 agreement, perplexity, needles.",
        discussion: """
        Documents (--docs): each is prefilled up to its last --steps + 1 tokens (the model's context at most), then \
        both paths are fed those tokens one decode step at a time; at every step the next-token distributions are \
        compared (mean KL(dense ‖ candidate), top-1 agreement) and both score the true next token (perplexity). \
        Needles (--needles, JSON [{name, prompt, answer}] with the chat template in the prompt): both paths answer \
        greedily; a case passes when the answer contains the code. --recall measures HiRE's stage-1 recall@k at \
        several k′/k instead (dense attention, no calibration row). Results are stored as a calibration row unless --no-store.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var strategyOptions: StrategyOptions
    @Option(help: "KV cache format of the candidate.") var kv = "f16"
    @Option(help: "The candidate's activation format (f32, q8); its calibration row's parameters say so when not f32.")
    var activations = "f32"
    @Option(parsing: .upToNextOption, help: "Text documents for the distribution comparison.") var docs: [String] = []
    @Option(help: "Decode steps compared per document.") var steps = 64
    @Option(parsing: .upToNextOption, help: "Needle case files (JSON).") var needles: [String] = []
    @Option(help: "Tokens generated per needle answer.") var needleTokens = 8
    @Flag(help: "Measure the top-k sketch's recall@k over the documents' decode steps instead.") var recall = false
    @Option(help: "--recall: the k values (comma-separated).") var recallKs = "64,128,256"
    @Option(help: "--recall: the k′/k ratios (comma-separated).") var recallRatios = "2,4,8"
    @Flag(help: "Do not store a calibration row.") var noStore = false
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON lines.") var json = false

    func validate() throws {
        guard steps >= 1, needleTokens >= 1 else { throw ValidationError("--steps and --needle-tokens must be ≥ 1") }
        guard !docs.isEmpty || !needles.isEmpty else { throw ValidationError("give --docs and/or --needles") }
    }

    func run() async throws {
        try await reportingErrors {
            guard let format = KVFormat(rawValue: kv) else {
                throw CLIFailure(.usage, "unknown --kv \(kv) (known: \(KVFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let model = try LlamaModel(path: modelOptions.modelPath)
            let tokenizer = try Tokenizer(gguf: model.file)
            let pool = ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let documents = try docs.map { path in (path, try documentTokens(path, tokenizer: tokenizer, limit: model.config.contextLength - 1)) }
            if recall { return try measureRecall(model: model, pool: pool, documents: documents) }
            let strategy = try strategyOptions.make()
            let activationFormat = try ComputeOptions(activations: activations).activationFormats()
            guard activationFormat.count == 1 else { throw CLIFailure(.usage, "--activations takes one format here") }
            let harness = FidelityHarness(model: model, pool: pool, strategy: strategy, format: format, activations: activationFormat[0])
            var total = FidelityComparison(), index: IndexSize?
            for (path, tokens) in documents {
                let c = try harness.compareContinuation(tokens: tokens, steps: steps)
                index = harness.lastIndexSize ?? index
                total.merge(c)
                emit(EvalLine(document: path, comparison: c), "\(path): \(c.contextTokens) tokens of context, " + Self.summary(c))
            }
            if !documents.isEmpty {
                emit(EvalLine(document: "all", comparison: total), "\(documents.count) documents, \(strategy.name) over \(kv): " + Self.summary(total))
                if let sparse = strategy as? SparseAttentionStrategy { print(Self.describe(sparse.statistics, index: index)) }
            }
            let needleResult = try runNeedles(harness, tokenizer: tokenizer)
            var row = CalibrationRecord(
                strategy: strategy.name,
                parameters: strategy.parameterDescription + (activationFormat[0] == .f32 ? "" : " activations=\(activations)"), kvFormat: kv, contextTokens: total.meanContextTokens,
                model: URL(fileURLWithPath: modelOptions.modelPath).lastPathComponent, steps: total.steps, documents: total.documents,
                meanKL: total.meanKL, maxKL: total.maxKL, top1Agreement: total.top1Agreement,
                confidentTop1Agreement: total.confidentTop1Agreement, perplexity: total.candidatePerplexity,
                referencePerplexity: total.referencePerplexity, needles: needleResult?.cases, needlesReferencePassed: needleResult?.referencePassed,
                needlesKept: needleResult?.kept, indexBytes: index.map { $0.indexBytes + $0.mirrorBytes }, indexedKVBytes: index?.indexedKVBytes)
            if !noStore { row = try SQLiteStore(path: storeOptions.databasePath).record(row) }
            print(Self.markdownRow(row))
        }
    }

    struct EvalLine: Encodable {
        let document: String
        let comparison: FidelityComparison
    }

    /// Needle cases: how many dense f16 passes, and how many of those the candidate keeps.
    private func runNeedles(_ harness: FidelityHarness, tokenizer: Tokenizer) throws -> (cases: Int, referencePassed: Int, kept: Int)? {
        guard !needles.isEmpty else { return nil }
        var cases = 0, referencePassed = 0, kept = 0, candidatePassed = 0
        for file in needles {
            struct Case: Decodable { let name: String; let prompt: String; let answer: String }
            let list: [Case]
            do { list = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: file))) } catch {
                throw CLIFailure(.dataError, "\(file): not a list of {name, prompt, answer}: \(error)")
            }
            for c in list {
                let ids = tokenizer.encode(c.prompt, addSpecial: true, parseSpecial: true)
                let (r, k) = try harness.answer(prompt: ids, maxTokens: needleTokens, isEnd: tokenizer.isEndOfGeneration)
                let answers = [r, k].map { tokenizer.decode($0, skipSpecial: true) }
                let pass = answers.map { $0.contains(c.answer) }
                cases += 1
                if pass[0] { referencePassed += 1; if pass[1] { kept += 1 } }
                if pass[1] { candidatePassed += 1 }
                struct NeedleLine: Encodable { let needle: String; let tokens: Int; let answer: String; let reference: String; let candidate: String }
                emit(NeedleLine(needle: c.name, tokens: ids.count, answer: c.answer, reference: answers[0], candidate: answers[1]),
                     "\(c.name) (\(ids.count) tokens, code \(c.answer)): dense \(pass[0] ? "ok" : "MISS") \(answers[0].debugDescription), "
                     + "candidate \(pass[1] ? "ok" : "MISS") \(answers[1].debugDescription)")
            }
        }
        print("needles: dense f16 passes \(referencePassed)/\(cases), the candidate \(candidatePassed)/\(cases), keeping \(kept) of dense's \(referencePassed)")
        return (cases, referencePassed, kept)
    }

    /// The sketch's recall@k over every document's decode steps (dense attention throughout).
    private func measureRecall(model: LlamaModel, pool: ThreadPool, documents: [(String, [Int32])]) throws {
        let ks = try parseCounts(recallKs, name: "--recall-ks"), ratios = try parseCounts(recallRatios, name: "--recall-ratios")
        let exemptions = DenseExemptions(denseLayerCount: strategyOptions.denseLayers, sinkTokenCount: strategyOptions.sinks,
                                         windowTokenCount: strategyOptions.window)
        let probe = TopKRecallProbe(ks: ks, ratios: ratios, bucketKeep: strategyOptions.bucketKeep, exemptions: exemptions)
        let context = ForwardContext(model: model, pool: pool, maxTokens: 512, decodeAttention: probe)
        for (_, tokens) in documents {
            let seq = try model.makeSequence()
            try context.prefill(seq, tokens: Array(tokens[0..<(tokens.count - steps)]), logits: false)
            for t in tokens[(tokens.count - steps)...] { _ = try context.forward([ForwardRequest(seq, tokens: [t])]) }
        }
        print("| k | k′ | k′/k | recall@k (mean) | recall@k (min) | bucketed top-k formula | candidates | head steps |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in probe.rows {
            print(String(format: "| %d | %d | %d | %.4f | %.3f | %.4f | %.0f | %d |", r.k, r.candidateCount, r.candidateCount / r.k,
                         r.meanRecall, r.minimumRecall, r.meanFormulaRecall, r.meanCandidates, r.steps))
        }
    }

    private func parseCounts(_ s: String, name: String) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v > 0 else { throw CLIFailure(.usage, "\(name): \"\($0)\" is not a count") }
            return v
        }
    }

    /// A document's tokens (no chat template), cut to the model's context.
    private func documentTokens(_ path: String, tokenizer: Tokenizer, limit: Int) throws -> [Int32] {
        let ids = tokenizer.encode(try readTextFile(path), addSpecial: true, parseSpecial: false)
        guard ids.count > steps + 2 else { throw CLIFailure(.dataError, "\(path): \(ids.count) tokens, too few for \(steps) steps") }
        return Array(ids.prefix(limit))
    }

    static func summary(_ c: FidelityComparison) -> String {
        String(format: "%d steps: mean KL %.5f (max %.4f), top-1 agreement %.2f%% (%.2f%% of %d where dense's margin ≥ %.1f), perplexity %.3f (dense %.3f)",
               c.steps, c.meanKL, c.maxKL, c.top1Agreement * 100, c.confidentTop1Agreement * 100, c.confidentSteps,
               Double(FidelityComparison.confidentMargin), c.candidatePerplexity, c.referencePerplexity)
    }

    static func describe(_ s: SparseAttentionStatistics, index: IndexSize?) -> String {
        let steps = Double(max(s.sparseHeadSteps, 1))
        var text = String(format: "per sparse head step: %.0f keys in range, %.0f scored exactly, %.0f attended, value pages read %.1f of %.1f",
                          Double(s.sparseTokens) / steps, Double(s.candidateTokens) / steps, Double(s.selectedTokens) / steps,
                          Double(s.valuePagesRead) / steps, Double(s.sparsePages) / steps)
        if let index {
            text += String(format: "; index %.1f MB (+ key mirror %.1f MB) for %.1f MB of f16 KV", Double(index.indexBytes) / 1e6,
                           Double(index.mirrorBytes) / 1e6, Double(index.indexedKVBytes) / 1e6)
        }
        return text
    }

    /// A row for FIDELITY.md.
    static func markdownRow(_ r: CalibrationRecord) -> String {
        let needles = r.needles.map { "\(r.needlesKept ?? 0)/\(r.needlesReferencePassed ?? 0) (of \($0))" } ?? "—"
        return String(format: "| %@ | %@ | %@ | %d | %d | %.5f | %.4f | %.2f%% | %.2f%% | %.3f (%.3f) | %@ |", r.strategy as NSString,
                      r.parameters as NSString, r.kvFormat as NSString, r.contextTokens, r.steps, r.meanKL, r.maxKL,
                      r.top1Agreement * 100, r.confidentTop1Agreement * 100, r.perplexity, r.referencePerplexity, needles as NSString)
    }

    private func emit<T: Encodable>(_ value: T, _ text: String) {
        if json { try? printJSON(value) } else { print(text) }
        fflush(nil) // print() buffers stdout when it is not a terminal: show each line as it comes
    }
}

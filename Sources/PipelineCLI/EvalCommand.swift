import ArgumentParser
import Attention
import Evaluation
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
    @Option(parsing: .upToNextOption, help: "Text documents for the distribution comparison.") var docs: [String] = []
    @Option(help: "Decode steps compared per document.") var steps = 64
    @Option(parsing: .upToNextOption, help: "Needle case files (JSON).") var needles: [String] = []
    @Option(help: "Tokens generated per needle answer (answers are compared with dense's over their first 32).")
    var needleTokens = FidelityCalibration.answerPrefixTokens
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
            let mix = StrategyMix(attention: try strategyOptions.configuration(), kv: format)
            let calibration = FidelityCalibration(model: model, pool: pool, documents: documents.map { ($0.0, $0.1) },
                                                  needles: try loadNeedleCases(needles, tokenizer: tokenizer), steps: steps,
                                                  needleTokens: needleTokens, isEnd: tokenizer.isEndOfGeneration,
                                                  decode: { tokenizer.decode($0, skipSpecial: true) })
            let result = try calibration.measure(mix, modelName: URL(fileURLWithPath: modelOptions.modelPath).lastPathComponent) { event in
                switch event {
                case let .document(path, c):
                    emit(EvalLine(document: path, comparison: c), "\(path): \(c.contextTokens) tokens of context, " + Self.summary(c))
                case let .needle(c, tokens, reference, candidate):
                    let pass = [reference, candidate].map { $0.contains(c.answer) }
                    struct NeedleLine: Encodable { let needle: String; let tokens: Int; let answer: String; let reference: String; let candidate: String }
                    emit(NeedleLine(needle: c.name, tokens: tokens, answer: c.answer, reference: reference, candidate: candidate),
                         "\(c.name) (\(tokens) tokens, code \(c.answer)): dense \(pass[0] ? "ok" : "MISS") \(reference.debugDescription), "
                         + "candidate \(pass[1] ? "ok" : "MISS") \(candidate.debugDescription)")
                }
            }
            var row = result.row
            if !documents.isEmpty {
                emit(EvalLine(document: "all", comparison: result.total),
                     "\(documents.count) documents, \(mix.label): " + Self.summary(result.total))
                if let sparse = result.harness.strategy as? SparseAttentionStrategy {
                    print(Self.describe(sparse.statistics, index: result.harness.lastIndexSize))
                }
            }
            if !needles.isEmpty {
                let t = result.needles
                print("needles: dense f16 passes \(t.referencePassed)/\(t.cases), the candidate \(t.candidatePassed)/\(t.cases), keeping \(t.kept) "
                      + "of dense's \(t.referencePassed); \(t.changed) of \(t.cases) answers differ from dense's within "
                      + "\(FidelityCalibration.answerPrefixTokens) tokens")
            }
            if !noStore { row = try storeOptions.open().record(row) }
            print(Self.markdownRow(row))
        }
    }

    struct EvalLine: Encodable {
        let document: String
        let comparison: FidelityComparison
    }

    /// Needle cases: how many dense f16 passes, and how many of those the candidate keeps.
    /// The sketch's recall@k over every document's decode steps (dense attention throughout).
    private func measureRecall(model: LlamaModel, pool: ThreadPool, documents: [(String, [Int32])]) throws {
        let ks = try parseCounts(recallKs, name: "--recall-ks"), ratios = try parseCounts(recallRatios, name: "--recall-ratios")
        let c = try strategyOptions.configuration()
        let exemptions = DenseExemptions(denseLayerCount: c.denseLayers, sinkTokenCount: c.sinks, windowTokenCount: c.window)
        let probe = TopKRecallProbe(ks: ks, ratios: ratios, bucketKeep: c.bucketKeep, exemptions: exemptions)
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
        String(format: "%d steps: mean KL %.5f (max %.4f), top-1 agreement %.2f%% (%.2f%% of %d where dense's top-1 p ≥ 0.5; %.2f%% of %d where its margin ≥ %.1f), perplexity %.3f (dense %.3f)",
               c.steps, c.meanKL, c.maxKL, c.top1Agreement * 100, c.probableTop1Agreement * 100, c.probableSteps,
               c.confidentTop1Agreement * 100, c.confidentSteps,
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
        let changed = r.answersCompared.map { "\(r.answersChanged ?? 0)/\($0)" } ?? "—"
        let probable = r.probableTop1Agreement.map { String(format: "%.2f%%", $0 * 100) } ?? "—"
        return String(format: "| %@ | %@ | %@ | %d | %d | %.5f | %.4f | %.2f%% | %@ | %.3f (%.3f) | %@ | %@ |", r.strategy as NSString,
                      r.parameters as NSString, r.kvFormat as NSString, r.contextTokens, r.steps, r.meanKL, r.maxKL,
                      r.top1Agreement * 100, probable as NSString, r.perplexity, r.referencePerplexity, needles as NSString, changed as NSString)
    }

    private func emit<T: Encodable>(_ value: T, _ text: String) {
        if json { try? printJSON(value) } else { print(text) }
        fflush(nil) // print() buffers stdout when it is not a terminal: show each line as it comes
    }
}

/// Needle case files (JSON `[{name, prompt, answer}]`), tokenized with the chat template in the
/// prompt (eval, calibrate).
func loadNeedleCases(_ files: [String], tokenizer: Tokenizer) throws -> [(NeedleCase, [Int32])] {
    try files.flatMap { file in
        let list: [NeedleCase]
        do { list = try JSONDecoder().decode([NeedleCase].self, from: Data(contentsOf: URL(fileURLWithPath: file))) } catch {
            throw CLIFailure(.dataError, "\(file): not a list of {name, prompt, answer}: \(error)")
        }
        return list.map { ($0, tokenizer.encode($0.prompt, addSpecial: true, parseSpecial: true)) }
    }
}

import ArgumentParser
import Foundation
import KVCache
import Model
import Tensor
import Tokenizer

/// `pipeline eval`: fidelity of an approximation against the exact path (dense attention, f16 KV).
/// For now the approximation is the KV format (`--kv`); attention strategies join when they exist.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Fidelity of a KV format against f16: next-token KL and top-1 agreement, needle retrieval.",
        discussion: """
        Documents: each is asked --prompt as one chat turn; the reference (f16) decodes --decode-tokens \
        greedy tokens and the candidate is fed the same tokens, so the two next-token distributions are \
        compared at every step (mean KL(reference ‖ candidate), top-1 agreement). Needles: JSON files of \
        [{name, prompt, answer}] (../shared/reference/needles.json, data/eval/kv-needles.json); both \
        formats answer greedily and pass when the answer contains the code.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "KV format under test.") var kv = "int8"
    @Option(help: "Reference KV format.") var reference = "f16"
    @Option(parsing: .upToNextOption, help: "Text files for the distribution comparison.") var documents: [String] = []
    @Option(help: "The question asked about each document.") var prompt = "Summarize the document."
    @Option(help: "Decode steps compared per document.") var decodeTokens = 64
    @Option(parsing: .upToNextOption, help: "Needle case files (JSON).") var needles: [String] = []
    @Option(help: "Tokens generated per needle answer.") var needleTokens = 8
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON lines.") var json = false

    func run() async throws {
        try await reportingErrors {
            guard let candidate = KVFormat(rawValue: kv), let ref = KVFormat(rawValue: reference) else {
                throw CLIFailure(.usage, "unknown KV format (known: \(KVFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let model = try LlamaModel(path: modelOptions.modelPath)
            let tokenizer = try Tokenizer(gguf: model.file)
            let context = ForwardContext(model: model, pool: ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount),
                                         maxTokens: 512)
            var total = KVFidelityComparison()
            for path in documents {
                let ids = try documentPrompt(path, tokenizer: tokenizer, limit: model.config.contextLength - decodeTokens - 1)
                let (c, _) = try context.compareKV(candidate, reference: ref, prompt: ids, steps: decodeTokens)
                total.merge(c)
                emit(["document": path, "tokens": ids.count, "steps": c.steps, "mean_kl": c.meanKL, "max_kl": c.maxKL, "top1_agreement": c.top1Agreement],
                     "\(path): \(ids.count) tokens, \(c.steps) steps, " + Self.summary(c))
            }
            if !documents.isEmpty {
                emit(["documents": documents.count, "steps": total.steps, "mean_kl": total.meanKL, "max_kl": total.maxKL, "top1_agreement": total.top1Agreement],
                     "\(documents.count) documents, \(total.steps) steps, \(kv) against \(reference): " + Self.summary(total))
            }
            var kept = 0, referencePassed = 0, candidatePassed = 0, cases = 0
            for file in needles {
                struct Case: Decodable { let name: String; let prompt: String; let answer: String }
                let list: [Case]
                do { list = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: file))) } catch {
                    throw CLIFailure(.dataError, "\(file): not a list of {name, prompt, answer}: \(error)")
                }
                for c in list {
                    let ids = tokenizer.encode(c.prompt, addSpecial: true, parseSpecial: true)
                    let answers = try [ref, candidate].map { format in
                        let seq = try model.makeSequence(format: format)
                        let r = try context.generate(seq, prompt: ids, maxNewTokens: needleTokens, sampler: SamplerParameters(temperature: 0),
                                                     isEnd: tokenizer.isEndOfGeneration)
                        return tokenizer.decode(r.tokens, skipSpecial: true)
                    }
                    let pass = answers.map { $0.contains(c.answer) }
                    cases += 1
                    if pass[0] { referencePassed += 1; if pass[1] { kept += 1 } }
                    if pass[1] { candidatePassed += 1 }
                    emit(["needle": c.name, "tokens": ids.count, "answer": c.answer, "reference": answers[0], "candidate": answers[1],
                          "reference_ok": pass[0], "candidate_ok": pass[1]],
                         "\(c.name) (\(ids.count) tokens, code \(c.answer)): \(reference) \(pass[0] ? "ok" : "MISS") \(answers[0].debugDescription), \(kv) \(pass[1] ? "ok" : "MISS") \(answers[1].debugDescription)")
                }
            }
            if cases > 0 {
                emit(["needles": cases, "reference_passed": referencePassed, "candidate_passed": candidatePassed, "kept": kept],
                     "needles: \(reference) passes \(referencePassed)/\(cases), \(kv) passes \(candidatePassed)/\(cases), keeps \(kept) of the \(referencePassed) \(reference) passes")
            }
        }
    }

    static func summary(_ c: KVFidelityComparison) -> String {
        String(format: "mean KL %.5f (max %.4f), top-1 agreement %.2f%%", c.meanKL, c.maxKL, c.top1Agreement * 100)
    }

    /// `<document>\n\n<prompt>` as one user turn of the model's chat template, the document cut to fit.
    private func documentPrompt(_ path: String, tokenizer: Tokenizer, limit: Int) throws -> [Int32] {
        let text = try readTextFile(path)
        let render = { (doc: String) in
            tokenizer.encode(tokenizer.chatTemplate.render([ChatMessage(role: "user", content: doc + "\n\n" + prompt)], addGenerationPrompt: true),
                             addSpecial: true, parseSpecial: true)
        }
        var ids = render(text)
        var chars = text.count
        while ids.count > limit, chars > 0 { // cut the document's end until the turn fits
            chars = chars * limit / ids.count - 16
            ids = render(String(text.prefix(max(0, chars))))
        }
        return ids
    }

    private func emit(_ fields: [String: Any], _ text: String) {
        if json, let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        } else if !json {
            print(text)
        }
        FileHandle.standardOutput.synchronizeFile()
    }
}

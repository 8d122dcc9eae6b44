import ArgumentParser
import Foundation
import KVCache
import Model
import Tensor
import Tokenizer

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text for one prompt (no store). Streams the text, or prints JSON with --json.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The prompt text.") var prompt: String?
    @Option(help: "A file holding the prompt.") var promptFile: String?
    @Flag(help: "Wrap the prompt as a user turn in the model's chat template.") var chat = false
    @Option(help: "Maximum tokens to generate.") var maxTokens = 128
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 0
    @Option(help: "Top-k (0: off).") var topK = 40
    @Option(help: "Top-p.") var topP: Float = 0.95
    @Option(help: "Min-p.") var minP: Float = 0.05
    @Option(help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "KV cache format.") var kv = "f16"
    @OptionGroup var strategyOptions: StrategyOptions
    @OptionGroup var speculationOptions: SpeculationOptions
    @OptionGroup var computeOptions: ComputeOptions
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Keep generating after an end-of-generation token.") var ignoreEos = false
    @Flag(help: "Print {text, prompt_tokens, generated_tokens, prefill/decode tokens per second} as JSON.") var json = false

    func validate() throws {
        guard (prompt == nil) != (promptFile == nil) else { throw ValidationError("give exactly one of --prompt and --prompt-file") }
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
        guard speculationOptions.sourceNames.count == 1 else { throw ValidationError("generate takes one --speculate source") }
        guard speculationOptions.speculate == "off" || strategyOptions.strategy == "dense" else {
            throw ValidationError("--speculate verifies with dense attention: it cannot be combined with --strategy \(strategyOptions.strategy)")
        }
    }

    struct Output: Encodable {
        let text: String
        let promptTokens: Int
        let generatedTokens: Int
        let prefillTokensPerSecond: Double
        let decodeTokensPerSecond: Double
        let stoppedAtEndToken: Bool
        let speculate: String?
        let speculation: SpeculationFigures?
        enum CodingKeys: String, CodingKey {
            case speculate, speculation
            case text
            case promptTokens = "prompt_tokens"
            case generatedTokens = "generated_tokens"
            case prefillTokensPerSecond = "prefill_tokens_per_second"
            case decodeTokensPerSecond = "decode_tokens_per_second"
            case stoppedAtEndToken = "stopped_at_end_token"
        }
    }

    func run() async throws {
        try await reportingErrors {
            guard let format = KVFormat(rawValue: kv) else { throw CLIFailure(.usage, "unknown --kv \(kv) (known: \(KVFormat.allCases.map(\.rawValue).joined(separator: ", ")))") }
            let attention = try strategyOptions.make()
            var text = try prompt ?? readTextFile(promptFile!)
            let model = try LlamaModel(path: modelOptions.modelPath)
            let tokenizer = try Tokenizer(gguf: model.file)
            if chat { text = tokenizer.chatTemplate.render([ChatMessage(role: "user", content: text)], addGenerationPrompt: true) }
            let ids = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            guard !ids.isEmpty else { throw CLIFailure(.dataError, "the prompt has no tokens") }
            let context = ForwardContext(model: model, pool: ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount),
                                         maxTokens: 512, decodeAttention: attention)
            try computeOptions.apply(to: context)
            let sequence = try model.makeSequence(format: format)
            let parameters = SamplerParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                               repetitionPenalty: repeatPenalty, seed: seed)
            var streamed: [UInt8] = []
            let out = FileHandle.standardOutput
            let draft = speculationOptions.makeSource(speculationOptions.speculate, model: model, pool: context.pool)
            let isEnd = { (t: Int32) in !ignoreEos && tokenizer.isEndOfGeneration(t) }
            let onToken = { (token: Int32) -> Bool in
                if !json {
                    // Stream whole UTF-8 characters only: a character may span tokens.
                    streamed += tokenizer.pieceBytes(token)
                    let complete = UTF8Prefix.completeLength(streamed)
                    if complete > 0 { out.write(Data(streamed[..<complete])); streamed.removeFirst(complete) }
                }
                return true
            }
            let (result, statistics) = if let draft {
                try context.generateSpeculatively(sequence, prompt: ids, maxNewTokens: maxTokens, sampler: parameters, draft: draft,
                                                  maxDraftTokens: speculationOptions.draftTokens, isEnd: isEnd, onToken: onToken)
            } else {
                (try context.generate(sequence, prompt: ids, maxNewTokens: maxTokens, sampler: parameters, isEnd: isEnd, onToken: onToken),
                 SpeculationStatistics())
            }
            if json {
                try printJSON(Output(text: tokenizer.decode(result.tokens), promptTokens: ids.count, generatedTokens: result.tokens.count,
                                     prefillTokensPerSecond: result.prefillTokensPerSecond,
                                     decodeTokensPerSecond: result.decodeTokensPerSecond, stoppedAtEndToken: result.stoppedAtEndToken,
                                     speculate: draft?.name, speculation: draft.map { _ in SpeculationFigures(statistics) }))
            } else {
                out.write(Data(streamed))
                out.write(Data("\n".utf8))
                FileHandle.standardError.write(Data(String(format: "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s]\n",
                    ids.count, result.prefillTokensPerSecond, result.tokens.count, result.decodeTokensPerSecond).utf8))
                if let draft {
                    FileHandle.standardError.write(Data(String(format: "[speculate %@: %d drafted, %d accepted (%.1f%%), %.2f per pass, %d verification passes]\n",
                        draft.name as NSString, statistics.draftedTokenCount, statistics.acceptedTokenCount, 100 * statistics.acceptanceRate,
                        statistics.meanAcceptedLength, statistics.verificationPassCount).utf8))
                }
                if let s = context.certifiedHeadStatistics {
                    FileHandle.standardError.write(Data("[\(ComputeOptions.describe(s, copyBytes: context.certifiedHeadByteCount ?? 0, fullBytes: model.weights.output.byteCount))]\n".utf8))
                }
            }
        }
    }
}

/// Reads a UTF-8 text file for a command argument (missing → 66, not UTF-8 → 65).
func readTextFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIFailure(.noInput, "\(path): no such file or not readable")
    }
    guard let s = String(data: data, encoding: .utf8) else { throw CLIFailure(.dataError, "\(path): not UTF-8 text") }
    return s
}

enum UTF8Prefix {
    /// Length of the longest prefix of `bytes` that ends on a UTF-8 character boundary.
    static func completeLength(_ bytes: [UInt8]) -> Int {
        var i = bytes.count
        var back = 0
        while i > 0 && back < 4 {
            let b = bytes[i - 1]
            if b & 0xC0 != 0x80 { // a lead byte (or ASCII): is its sequence complete?
                let need = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return back + 1 >= need ? bytes.count : i - 1
            }
            i -= 1
            back += 1
        }
        return bytes.count
    }
}

import ArgumentParser
import Foundation
import KVCache
import Model
import Tensor
import Tokenizer

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file with llama-perplexity's convention.",
        discussion: """
        The tokens are cut into chunks of --ctx (a trailing partial chunk is dropped); each chunk is \
        evaluated from an empty cache and the second half of each chunk is scored.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The text file.") var file: String
    @Option(help: "Tokens per chunk.") var ctx = 8192
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "KV cache format (f16, int8, int4).") var kv = "f16"
    @OptionGroup var computeOptions: ComputeOptions
    @Flag(help: "Print {perplexity, tokens, ...} as JSON.") var json = false

    func run() async throws {
        try await reportingErrors {
            guard let format = KVFormat(rawValue: kv) else { throw CLIFailure(.usage, "unknown --kv \(kv) (known: \(KVFormat.allCases.map(\.rawValue).joined(separator: ", ")))") }
            let text = try readTextFile(file)
            let model = try LlamaModel(path: modelOptions.modelPath)
            let tokenizer = try Tokenizer(gguf: model.file)
            guard ctx >= 4, ctx <= model.config.contextLength else {
                throw CLIFailure(.usage, "--ctx must be between 4 and the model's context of \(model.config.contextLength)")
            }
            // As llama-perplexity: the file is tokenized with the model's own BOS rule, and the
            // first token of every chunk becomes BOS when the model adds one.
            let tokens = tokenizer.encode(text, addSpecial: true, parseSpecial: false)
            guard tokens.count >= ctx else {
                throw CLIFailure(.dataError, "\(file): \(tokens.count) tokens, fewer than one chunk of \(ctx)")
            }
            let context = ForwardContext(model: model, pool: ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount),
                                         maxTokens: 512)
            try computeOptions.apply(to: context)
            guard context.lmHead == .full else { throw CLIFailure(.usage, "--lm-head certified gives only the argmax; perplexity needs every logit") }
            let result = try context.perplexity(tokens: tokens, contextLength: ctx, bos: tokenizer.addsBOS ? tokenizer.bosID : nil,
                                                format: format)
            if json {
                try printJSON(result)
            } else {
                print(String(format: "perplexity %.4f over %d scored tokens (%d chunks of %d; %d tokens in the file); top-1 accuracy %.2f%%; %.1f s",
                             result.perplexity, result.scoredTokens, result.chunks, ctx, result.tokens, result.top1Accuracy * 100, result.seconds))
            }
        }
    }
}

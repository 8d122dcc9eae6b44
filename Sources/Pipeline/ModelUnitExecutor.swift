import Foundation
import Model
import Tensor
import Tokenizer

/// The runner's engine: runs every prompt of a job over one document on a real GGUF model.
///
/// The model sees each prompt as one chat turn, `<document>\n\n<prompt>`, rendered with the
/// model's chat template. The rendered text is cut into three parts that are tokenized apart —
/// the template's head (up to the document), the document (special-token text in it stays plain
/// text), and the tail (`\n\n<prompt>` plus the template's closing and assistant header) — so
/// the head and document tokens are the same for every prompt: they are prefilled once, and each
/// prompt's tail is appended after them, decoded, then rolled back (DESIGN.md, data flow).
///
/// Models stay loaded across units (keyed by path); one unit runs at a time per executor.
public final class ModelUnitExecutor: UnitExecutor, @unchecked Sendable {
    private let threads: Int
    private let lock = NSLock()
    private var engines: [String: Engine] = [:]

    final class Engine {
        let model: LlamaModel
        let tokenizer: Tokenizer
        let context: ForwardContext
        init(path: String, threads: Int) throws {
            model = try LlamaModel(path: path)
            tokenizer = try Tokenizer(gguf: model.file)
            context = ForwardContext(model: model, pool: ThreadPool(threadCount: threads), maxTokens: 512)
        }
    }

    public init(threads: Int? = nil) {
        self.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
    }

    private func engine(for path: String) throws -> Engine {
        lock.lock()
        defer { lock.unlock() }
        if let e = engines[path] { return e }
        do {
            let e = try Engine(path: path, threads: threads)
            engines[path] = e
            return e
        } catch {
            throw PipelineError.engineUnavailable(modelPath: path, reason: "\(error)")
        }
    }

    /// The mixes this build can run. Anything else pinned by a job fails the unit clearly.
    static func resolve(_ choice: StrategyChoice, document: String) throws -> StrategyMix {
        switch choice {
        case .auto:
            // No router yet: dense attention over f16 KV, which meets every fidelity level.
            return StrategyMix(attention: .dense, kv: .f16)
        case let .pinned(mix):
            guard mix.attention == .dense, mix.kv == .f16 else {
                throw PipelineError.strategyNotImplemented(document: document, strategy: mix.label, available: "dense+f16")
            }
            return mix
        }
    }

    public func execute(_ work: UnitWork, events: @Sendable (UnitEvent) -> Void,
                        isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        let mix = try Self.resolve(work.spec.strategy, document: work.documentPath)
        let engine = try engine(for: work.modelPath)
        let tokenizer = engine.tokenizer, context = engine.context
        let parts = PromptParts(template: tokenizer.chatTemplate)

        // Tokenize and apply the overflow policy; the limit leaves room for the longest prompt
        // and the answer.
        let head = tokenizer.encode(parts.head, addSpecial: true, parseSpecial: true)
        let tails = work.spec.prompts.map { parts.tailTokens(prompt: $0, tokenizer: tokenizer) }
        let document = tokenizer.encode(work.documentText, addSpecial: false, parseSpecial: false)
        let limit = engine.model.config.contextLength - head.count - (tails.map(\.count).max() ?? 0) - work.spec.maxNewTokens
        let (kept, truncation) = try work.spec.overflow.apply(to: document, limit: max(0, limit), documentPath: work.documentPath)
        events(.tokenized(documentTokens: document.count, keptTokens: kept.count))

        // Prefill head + document once.
        guard let sequence = try engine.model.makeSequence(formatNamed: mix.kv.rawValue) else {
            throw PipelineError.strategyNotImplemented(document: work.documentPath, strategy: mix.label, available: "dense+f16")
        }
        let prefix = head + kept
        let t0 = DispatchTime.now().uptimeNanoseconds
        let finished = try context.prefill(sequence, tokens: prefix, logits: false) { done in
            events(.prefill(doneTokens: done, totalTokens: prefix.count))
            return !isCancelled()
        }
        if finished == nil, isCancelled() { throw CancellationError() }
        let documentSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let prefixLength = sequence.tokenCount

        var outcomes: [PromptOutcome] = []
        var baseline = 0.0
        for (index, tail) in tails.enumerated() {
            if isCancelled() { throw CancellationError() }
            try sequence.truncate(to: prefixLength)
            var parameters = SamplerParameters(temperature: Float(work.spec.temperature))
            parameters.seed = UInt64(truncatingIfNeeded: work.spec.seed &+ index)
            var generated = 0
            let result = try context.generate(sequence, prompt: tail, maxNewTokens: work.spec.maxNewTokens, sampler: parameters,
                                              isEnd: tokenizer.isEndOfGeneration) { _ in
                generated += 1
                events(.decode(promptIndex: index, generatedTokens: generated))
                return !isCancelled()
            }
            if isCancelled() { throw CancellationError() }
            outcomes.append(PromptOutcome(text: tokenizer.decode(result.tokens, skipSpecial: true), promptTokenCount: tail.count,
                                          generatedTokenCount: result.tokens.count, prefillSeconds: result.prefillSeconds,
                                          decodeSeconds: result.decodeSeconds,
                                          finishReason: result.stoppedAtEndToken ? .stop : .length))
            // Without reuse every prompt would prefill the document again, at the rate measured here.
            baseline += documentSeconds + result.prefillSeconds
            events(.promptFinished(promptIndex: index))
        }
        try sequence.truncate(to: prefixLength)
        return UnitOutcome(prompts: outcomes, measurements: UnitMeasurements(
            documentTokenCount: document.count, keptTokenCount: kept.count, truncation: truncation,
            documentPrefillSeconds: documentSeconds, perPromptPrefillSeconds: baseline,
            peakMemoryBytes: ProcessMemory.peakResidentBytes(), kvBytesInMemory: sequence.cache.residentByteCount,
            kvBytesOnDisk: 0, strategyMix: mix))
    }
}

/// The chat-template rendering of `<document>\n\n<prompt>` as a user turn, cut around the
/// document and the prompt with markers that cannot occur in user text.
struct PromptParts {
    static let documentMarker = "\u{1}PIPELINE-DOCUMENT\u{1}"
    static let promptMarker = "\u{1}PIPELINE-PROMPT\u{1}"
    let head: String
    let tailTemplate: String

    init(template: ChatTemplate) {
        let rendered = template.render([ChatMessage(role: "user", content: Self.documentMarker + Self.promptMarker)],
                                       addGenerationPrompt: true)
        let a = rendered.range(of: Self.documentMarker)!, b = rendered.range(of: Self.promptMarker)!
        head = String(rendered[..<a.lowerBound])
        tailTemplate = String(rendered[b.upperBound...])
    }

    /// `\n\n<prompt>` as plain text, then the template's closing and assistant header.
    func tailTokens(prompt: String, tokenizer: Tokenizer) -> [Int32] {
        tokenizer.encode("\n\n" + prompt, addSpecial: false, parseSpecial: false)
            + tokenizer.encode(tailTemplate, addSpecial: false, parseSpecial: true)
    }
}

/// The process's peak resident set size (VmHWM), 0 where /proc is unavailable.
public enum ProcessMemory {
    public static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}

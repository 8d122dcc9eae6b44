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
public final class ModelUnitExecutor: BatchUnitExecutor, @unchecked Sendable {
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

    func engine(for path: String) throws -> Engine {
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
        try execute(batch: [work], events: { _, e in events(e) }, isCancelled: { _ in isCancelled() })[0].get()
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

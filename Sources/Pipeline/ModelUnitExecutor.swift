import Attention
import Foundation
import KVCache
import Model
import Planner
import Tensor
import Tokenizer

/// The runner's engine: runs every prompt of a job over one document on a real GGUF model.
///
/// The model sees each prompt as one chat turn, `<document>\n\n<prompt>`, rendered with the
/// model's chat template. The rendered text is cut into three parts that are tokenized apart —
/// the template's head (up to the document), the document (special-token text in it stays plain
/// text), and the tail (`\n\n<prompt>` plus the template's closing and assistant header) — so
/// the head and document tokens are the same for every prompt: they are prefilled once, and each
/// prompt's tail is appended after them, decoded, then rolled back (docs/architecture.md, "One unit").
///
/// The runner asks it for each unit's plan first (`plan(_:)`: tokens, the mix from `UnitPlanning`
/// — the router for `strategy: auto`, a cost for a pinned mix — and speculation), then hands the
/// plan back to `execute`. The document's KV lives in a `PagedKVCache` of the mix's format under the
/// unit's memory budget (pages beyond it spill to `<kvDirectory>/spill`), and is saved as a
/// snapshot under its content key: a later unit or job over the same document, model and format
/// loads it instead of prefilling (docs/kv-cache.md).
///
/// Models stay loaded across units (keyed by path); one batch runs at a time per executor.
public final class ModelUnitExecutor: BatchUnitExecutor, @unchecked Sendable {
    private let threads: Int
    private let planning: UnitPlanning
    let storage: KVStorage
    /// Token tries and grammar maskers for structured outputs (`response_format`).
    let grammars = GrammarCache()
    private let lock = NSLock()
    private var engines: [String: Engine] = [:]
    private let speculationStart: SpeculationCostModel

    final class Engine {
        let model: LlamaModel
        let tokenizer: Tokenizer
        let context: ForwardContext
        let shape: ModelShape
        /// One instance per mix label (strategies own scratch memory).
        private var strategies: [String: AttentionStrategy] = [:]
        /// Speculation's cost model: the executor's starting figures, refitted as units that
        /// speculate finish.
        var speculationModel: SpeculationCostModel
        static let maxTokens = 512

        init(path: String, threads: Int, speculation: SpeculationCostModel) throws {
            speculationModel = speculation
            model = try LlamaModel(path: path)
            tokenizer = try Tokenizer(gguf: model.file)
            context = ForwardContext(model: model, pool: ThreadPool(threadCount: threads), maxTokens: Self.maxTokens)
            shape = ModelShape(model: model, maxTokens: Self.maxTokens)
        }

        func strategy(for mix: StrategyMix) -> AttentionStrategy {
            if let s = strategies[mix.label] { return s }
            let s = mix.makeAttention()
            strategies[mix.label] = s
            return s
        }
    }

    /// `kvDirectory`: spill files and snapshots. The executor only adds to it; the runner's owner
    /// applies the retention policy (`KVStorage.cleanUp`), so planning has no side effects.
    /// `speculation`: the cost model each loaded model's speculation starts from (the prior, or
    /// the acceptance recorded by earlier runs: `StoreRefit.speculationModel`).
    public init(threads: Int? = nil, planning: UnitPlanning = ExactPlanning(), kvDirectory: String = "data/kv",
                speculation: SpeculationCostModel = SpeculationCostModel()) {
        self.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        self.planning = planning
        speculationStart = speculation
        storage = KVStorage(root: kvDirectory)
    }

    func engine(for path: String) throws -> Engine {
        lock.lock()
        defer { lock.unlock() }
        if let e = engines[path] { return e }
        do {
            let e = try Engine(path: path, threads: threads, speculation: speculationStart)
            engines[path] = e
            return e
        } catch {
            throw PipelineError.engineUnavailable(modelPath: path, reason: "\(error)")
        }
    }

    /// The shape the cost model needs of the model at `path`, loading it into the executor's
    /// engine cache (so a run loads each model once, for planning and for its units).
    public func shape(modelPath path: String) throws -> ModelShape { try engine(for: path).shape }

    /// The plan for a unit: its tokens (overflow policy applied), the mix (`UnitPlanning`: the
    /// router for `strategy: auto`, the cost of a pinned mix) checked against the model, and what
    /// its decode speculates with. Loads the model on first use; writes nothing.
    public func plan(_ work: UnitWork) throws -> PlannedUnit {
        let engine = try engine(for: work.modelPath)
        let tokens = try tokenize(work, engine: engine)
        let workload = tokens.workload
        var plan = try planning.plan(work, workload: workload, shape: engine.shape,
                                     cachedFormats: cachedFormats(model: engine.model, prefix: tokens.prefix))
        try check(plan.mix, for: work, model: engine.model)
        // A sparse strategy over a context shorter than its sinks + window + budget attends
        // densely everywhere: run dense (no index to build) and record that dense ran.
        let visible = workload.documentTokens + (workload.promptTokens.max() ?? 0) + workload.maxNewTokens
        if plan.mix.attention.attendsDensely(upToVisibleTokens: visible) && !plan.mix.attention.kind.isDense {
            plan.reason += "; dense attention ran: the context (at most \(visible) tokens) never exceeds "
                + "\(plan.mix.label)'s sinks, window and budget"
            plan.mix = StrategyMix(.dense, kv: plan.mix.kv)
        }
        var speculationModel = engine.speculationModel
        if let c = plan.verificationExtraRowCost { speculationModel.extraRowCost = c }
        plan.speculation = speculation(for: work, mix: plan.mix, model: speculationModel)
        return PlannedUnit(work: work, plan: plan, tokens: tokens)
    }

    /// Refuses a mix this build cannot run on `model` (a GQA group beyond the kernels' limit, a
    /// head size they do not handle), naming the document and the mix.
    func check(_ mix: StrategyMix, for work: UnitWork, model: LlamaModel) throws {
        do {
            try mix.attention.validate(queryHeadsPerKVHead: model.config.headCount / max(1, model.config.kvHeadCount),
                                       headDim: model.config.headDim)
        } catch {
            throw PipelineError.strategyUnsupported(document: work.documentPath, strategy: mix.label, reason: "\(error)")
        }
    }

    /// The KV formats in which a snapshot of `prefix` exists.
    func cachedFormats(model: LlamaModel, prefix: [Int32]) -> Set<String> {
        Set(KVCacheFormat.allCases.filter {
            FileManager.default.fileExists(atPath: storage.snapshots.path(for: KVSnapshotKey(model: model, format: $0, tokens: prefix)))
        }.map(\.rawValue))
    }

    public func execute(_ unit: PlannedUnit, events: @Sendable (UnitEvent) -> Void,
                        isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        try execute(batch: [unit], events: { _, e in events(e) }, isCancelled: { _ in isCancelled() })[0].get()
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

extension KVSnapshotKey {
    /// The key of a document's KV: this model's identity and geometry, `format`, the token ids.
    init(model: LlamaModel, format: KVFormat, tokens: [Int32]) {
        self.init(modelDigest: model.contentDigest, format: format, geometry: model.kvGeometry, tokens: tokens)
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

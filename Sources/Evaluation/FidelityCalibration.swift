// Fidelity rows for the router, out of the box: every candidate mix measured against dense
// attention over f16 KV on a fixed set of documents and needle cases (FidelityHarness), each
// result a `CalibrationRecord` with the figures the fidelity tiers read.
//
// `pipeline calibrate` uses it in two ways: rows measured this way for the default model ship
// in the repository (`data/calibration/<model SHA-256>.json`) and are imported only for a model
// file with that digest; for any other model file `calibrate` measures them on the bundled set.
// `pipeline eval` measures one mix on documents and needles of its own choosing the same way.
import Attention
import CKernels
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor

/// A needle case: a chat-templated prompt whose greedy answer must contain `answer`.
public struct NeedleCase: Codable, Sendable, Equatable {
    public var name: String
    public var prompt: String
    public var answer: String

    public init(name: String, prompt: String, answer: String) {
        self.name = name
        self.prompt = prompt
        self.answer = answer
    }
}

/// What `FidelityCalibration.measure` reports as it goes.
public enum FidelityProgress {
    /// One document compared: its name and the comparison over its steps.
    case document(String, FidelityComparison)
    /// One needle case answered by both paths (prompt tokens, decoded answers).
    case needle(NeedleCase, promptTokens: Int, reference: String, candidate: String)
}

/// The needle results of one mix against dense.
public struct NeedleTally: Sendable, Equatable {
    public var cases = 0
    public var referencePassed = 0
    /// Passed by dense and by the mix.
    public var kept = 0
    public var candidatePassed = 0
    /// Answers that differ from dense's within their first `FidelityCalibration.answerPrefixTokens` tokens.
    public var changed = 0
    public init() {}
}

public struct FidelityCalibration {
    public let model: LlamaModel
    public let pool: ThreadPool
    /// Tokenized documents (each with a BOS when the model wants one), compared over their last `steps` tokens.
    public let documents: [(name: String, tokens: [Int32])]
    public let needles: [(NeedleCase, [Int32])]
    public let steps: Int
    public let needleTokens: Int
    public let isEnd: (Int32) -> Bool
    public let decode: ([Int32]) -> String
    /// Where mixes share prefilled prefixes (nil: every mix prefills its own).
    public var prefixes: PrefixSnapshots?

    public static let answerPrefixTokens = 32

    /// The dense path's results, computed by the first `measure` and reused by the next ones:
    /// logits per document step, answer per needle.
    final class ReferenceCache {
        var logits: [Int: [[Float]]] = [:]
        var answers: [Int: [Int32]] = [:]
    }
    let cache = ReferenceCache()

    public init(model: LlamaModel, pool: ThreadPool, documents: [(name: String, tokens: [Int32])], needles: [(NeedleCase, [Int32])],
                steps: Int, needleTokens: Int = answerPrefixTokens, isEnd: @escaping (Int32) -> Bool, decode: @escaping ([Int32]) -> String) {
        self.model = model
        self.pool = pool
        self.documents = documents
        self.needles = needles
        self.steps = steps
        self.needleTokens = needleTokens
        self.isEnd = isEnd
        self.decode = decode
    }

    /// Measures `mix`; `progress` hears of every document and needle case. Returns the row, the
    /// total comparison, the needle tally and the harness (its strategy's statistics, for printing).
    public func measure(_ mix: StrategyMix, modelName: String, progress: (FidelityProgress) -> Void = { _ in })
        throws -> (row: CalibrationRecord, total: FidelityComparison, needles: NeedleTally, harness: FidelityHarness) {
        let harness = FidelityHarness(model: model, pool: pool, strategy: mix.makeAttention(), format: mix.kv, activations: mix.activations)
        harness.prefixes = prefixes
        var total = FidelityComparison(), index: IndexSize?
        for (i, (name, tokens)) in documents.enumerated() {
            if cache.logits[i] == nil { cache.logits[i] = try harness.referenceLogits(tokens: tokens, steps: steps) }
            let c = try harness.compareContinuation(tokens: tokens, steps: steps, reference: cache.logits[i])
            index = harness.lastIndexSize ?? index
            total.merge(c)
            progress(.document(name, c))
        }
        var tally = NeedleTally()
        for (i, (needle, ids)) in needles.enumerated() {
            if cache.answers[i] == nil { cache.answers[i] = try harness.referenceAnswer(prompt: ids, maxTokens: needleTokens, isEnd: isEnd) }
            let (r, k) = try harness.answer(prompt: ids, maxTokens: needleTokens, isEnd: isEnd, reference: cache.answers[i])
            let answers = [r, k].map(decode)
            let pass = answers.map { $0.contains(needle.answer) }
            tally.cases += 1
            if pass[0] { tally.referencePassed += 1; if pass[1] { tally.kept += 1 } }
            if pass[1] { tally.candidatePassed += 1 }
            if r.prefix(Self.answerPrefixTokens) != k.prefix(Self.answerPrefixTokens) { tally.changed += 1 }
            progress(.needle(needle, promptTokens: ids.count, reference: answers[0], candidate: answers[1]))
        }
        var row = CalibrationRecord(
            strategy: mix.attention.kind.rawValue, parameters: mix.parametersJSON, kvFormat: mix.kv.rawValue,
            contextTokens: total.meanContextTokens, model: modelName, steps: total.steps, documents: total.documents,
            meanKL: total.meanKL, maxKL: total.maxKL, top1Agreement: total.top1Agreement,
            confidentTop1Agreement: total.confidentTop1Agreement, perplexity: total.candidatePerplexity,
            referencePerplexity: total.referencePerplexity, needles: needles.isEmpty ? nil : tally.cases,
            needlesReferencePassed: needles.isEmpty ? nil : tally.referencePassed, needlesKept: needles.isEmpty ? nil : tally.kept,
            indexBytes: index.map { $0.indexBytes + $0.mirrorBytes }, indexedKVBytes: index?.indexedKVBytes)
        row.probableTop1Agreement = documents.isEmpty ? nil : total.probableTop1Agreement
        row.answersCompared = needles.isEmpty ? nil : tally.cases
        row.answersChanged = needles.isEmpty ? nil : tally.changed
        return (row, total, tally, harness)
    }
}

/// Calibration rows shipped with the project for one model file, keyed by its SHA-256.
public struct ShippedCalibration: Codable, Sendable {
    /// SHA-256 of the GGUF file the rows were measured on (lowercase hex).
    public var modelSHA256: String
    public var model: String
    /// How the rows were measured (command, documents, needle files, steps).
    public var measuredWith: String
    public var rows: [CalibrationRecord]

    public init(modelSHA256: String, model: String, measuredWith: String, rows: [CalibrationRecord]) {
        self.modelSHA256 = modelSHA256
        self.model = model
        self.measuredWith = measuredWith
        self.rows = rows
    }

    enum CodingKeys: String, CodingKey {
        case model, rows
        case modelSHA256 = "model_sha256", measuredWith = "measured_with"
    }

    /// The file for a model digest under `folder`.
    public static func path(folder: String, sha256: String) -> String { "\(folder)/\(sha256).json" }
}

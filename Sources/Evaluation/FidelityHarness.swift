import Attention
import CKernels
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor

/// The fidelity harness behind `pipeline eval` (FIDELITY.md): how far an approximation
/// — a decode-attention strategy over a KV format — moves the model from the exact path, dense
/// attention over f16 KV, on real documents.
///
/// Document continuation: both paths prefill the document's head (prefill is always dense; the
/// candidate's cache is in its format), then are fed the document's next tokens one at a time,
/// so every step is a decode step through the strategy; at each step the two next-token
/// distributions are compared (KL(reference ‖ candidate), top-1 agreement) and both score the
/// true next token (perplexity over the continuation). Needles: both paths answer a prompt
/// greedily; a case counts when the answer contains the code. A needle prompt is prefilled as
/// the executor prefills a document and its question: all but its last token first, then the
/// last one, whose logits start the answer.
public final class FidelityHarness {
    public let model: LlamaModel
    public let format: KVFormat
    let reference: ForwardContext
    let candidate: ForwardContext
    /// Where prefilled prefixes are shared with other harnesses (nil: each path prefills its own).
    public var prefixes: PrefixSnapshots?

    /// `activations`: the candidate's matmul activation format, prefill and decode (the reference is f32).
    public init(model: LlamaModel, pool: ThreadPool, strategy: AttentionStrategy, format: KVFormat,
                activations: ActivationFormat = .f32) {
        self.model = model
        self.format = format
        reference = ForwardContext(model: model, pool: pool, maxTokens: 512, decodeAttention: DenseAttention())
        candidate = ForwardContext(model: model, pool: pool, maxTokens: 512, decodeAttention: strategy)
        candidate.activations = activations
    }

    public var strategy: AttentionStrategy { candidate.decodeAttention }
    /// The candidate's index after the last `compareContinuation` (sparse strategies).
    public private(set) var lastIndexSize: IndexSize?

    /// Compares the two paths over the last `steps` + 1 tokens of `tokens` (the rest is the prefix).
    /// `reference`: the dense path's logits per step from `referenceLogits` (several mixes compared
    /// on the same document need them once); nil computes them alongside.
    /// `onStep` sees the comparison so far after every step (progress).
    public func compareContinuation(tokens: [Int32], steps: Int, reference cached: [[Float]]? = nil,
                                    onStep: (FidelityComparison) -> Void = { _ in }) throws(ModelError) -> FidelityComparison {
        precondition(steps >= 1 && tokens.count > steps + 1)
        let prefix = Array(tokens[0..<(tokens.count - steps - 1)])
        let cand = try prefilled(candidate, format: format, tokens: prefix)
        let ref = cached == nil ? try prefilled(reference, format: .f16, tokens: prefix) : nil
        var comparison = FidelityComparison()
        comparison.contextTokens = prefix.count
        comparison.documents = 1
        for j in 0..<steps {
            let fed = tokens[prefix.count + j], next = Int(tokens[prefix.count + j + 1])
            let q = try candidate.forward([ForwardRequest(cand, tokens: [fed])])[0].last
            if let cached {
                cached[j].withUnsafeBufferPointer { comparison.add(reference: $0, candidate: q, next: next) }
            } else if let ref {
                let p = try reference.forward([ForwardRequest(ref, tokens: [fed])])[0].last
                comparison.add(reference: p, candidate: q, next: next)
            }
            onStep(comparison)
        }
        lastIndexSize = (strategy as? SparseAttentionStrategy)?.indexByteCount(cand.attentionIndex)
        return comparison
    }

    /// The dense path's next-token logits at each of the last `steps` positions (as
    /// `compareContinuation` feeds them), to compare several candidates against.
    public func referenceLogits(tokens: [Int32], steps: Int) throws(ModelError) -> [[Float]] {
        precondition(steps >= 1 && tokens.count > steps + 1)
        let prefix = Array(tokens[0..<(tokens.count - steps - 1)])
        let ref = try prefilled(reference, format: .f16, tokens: prefix)
        var rows: [[Float]] = []
        for j in 0..<steps { rows.append(Array(try reference.forward([ForwardRequest(ref, tokens: [tokens[prefix.count + j]])])[0].last)) }
        return rows
    }

    /// Greedy answers of both paths to `prompt` (at most `maxTokens`, stopping at `isEnd`);
    /// `reference`: the dense path's answer when already known.
    public func answer(prompt: [Int32], maxTokens: Int, isEnd: (Int32) -> Bool,
                       reference known: [Int32]? = nil) throws(ModelError) -> (reference: [Int32], candidate: [Int32]) {
        let r: [Int32]
        if let known { r = known } else { r = try referenceAnswer(prompt: prompt, maxTokens: maxTokens, isEnd: isEnd) }
        return (r, try greedyAnswer(candidate, format: format, prompt: prompt, maxTokens: maxTokens, isEnd: isEnd))
    }

    /// The dense path's greedy answer to `prompt`.
    public func referenceAnswer(prompt: [Int32], maxTokens: Int, isEnd: (Int32) -> Bool) throws(ModelError) -> [Int32] {
        try greedyAnswer(reference, format: .f16, prompt: prompt, maxTokens: maxTokens, isEnd: isEnd)
    }

    func greedyAnswer(_ context: ForwardContext, format: KVFormat, prompt: [Int32], maxTokens: Int,
                      isEnd: (Int32) -> Bool) throws(ModelError) -> [Int32] {
        guard let last = prompt.last else { throw .emptyPrompt }
        let sequence = prompt.count > 1 ? try prefilled(context, format: format, tokens: Array(prompt.dropLast()))
                                        : try model.makeSequence(format: format)
        return try context.generate(sequence, prompt: [last], maxNewTokens: maxTokens,
                                    sampler: SamplerParameters(temperature: 0), isEnd: isEnd).tokens
    }

    /// A sequence holding `tokens` prefilled by `context` into a `format` cache: loaded from
    /// `prefixes` when another harness prefilled it alike, else prefilled (and shared).
    func prefilled(_ context: ForwardContext, format: KVFormat, tokens: [Int32]) throws(ModelError) -> SequenceState {
        let prefill = { (sequence: SequenceState) throws(ModelError) in _ = try context.prefill(sequence, tokens: tokens, logits: false) }
        guard let prefixes else {
            let sequence = try model.makeSequence(format: format)
            try prefill(sequence)
            return sequence
        }
        return try prefixes.sequence(model: model, format: format, activations: context.activations, tokens: tokens, prefill: prefill)
    }
}

/// Prefilled prefixes shared by every mix that prefills alike. Prefill is dense for every
/// strategy, so it depends only on the KV format and the activation format: measuring the twelve
/// mixes costs one prefill per KV format, not one per mix. Each prefix is saved once as a KV
/// snapshot (`PagedKVCache+Snapshot.swift`) in a scratch folder and loaded bit-identical by the
/// other mixes, as the executor loads a document's snapshot for every prompt on it.
public final class PrefixSnapshots {
    public let directory: String
    /// Prefixes prefilled and prefixes loaded (what sharing saved).
    public private(set) var prefilled = 0, loaded = 0

    public init(directory: String) { self.directory = directory }

    func sequence(model: LlamaModel, format: KVFormat, activations: ActivationFormat, tokens: [Int32],
                  prefill: (SequenceState) throws(ModelError) -> Void) throws(ModelError) -> SequenceState {
        let store = KVSnapshotStore(directory: "\(directory)/\(activations.rawValue)")
        let key = KVSnapshotKey(modelDigest: model.contentDigest, format: format, geometry: model.kvGeometry, tokens: tokens)
        do {
            if let cache = try store.load(key) {
                loaded += 1
                return SequenceState(cache: cache, tokens: tokens)
            }
        } catch { throw .kvCache(error) }
        let sequence = try model.makeSequence(format: format)
        try prefill(sequence)
        prefilled += 1
        if let cache = sequence.cache as? PagedKVCache {
            do { try store.save(cache, key: key) } catch { throw .kvCache(error) }
        }
        return sequence
    }

    /// Removes the scratch folder.
    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// Per-step comparison of two next-token distributions, summed over steps.
public struct FidelityComparison: Sendable, Codable, Equatable {
    public var steps = 0
    public var klSum = 0.0
    public var maxKL = 0.0
    public var top1Agreements = 0
    /// Steps where the reference's top-1/top-2 logit margin is at least `confidentMargin` (not a
    /// near-tie that any rounding may flip), and the agreements among them.
    public var confidentSteps = 0
    public var confidentAgreements = 0
    public static let confidentMargin: Float = 0.1
    /// Steps where the reference's top-1 probability is at least `probableThreshold`, and the
    /// agreements among them: the `high` fidelity tier's rule.
    public var probableSteps = 0
    public var probableAgreements = 0
    public static let probableThreshold = 0.5
    /// Negative log-likelihoods of the true next tokens under each path.
    public var referenceNLLSum = 0.0
    public var candidateNLLSum = 0.0
    /// Tokens before the compared ones (summed over merged comparisons).
    public var contextTokens = 0
    public var documents = 0

    public init() {}

    public var meanKL: Double { steps > 0 ? klSum / Double(steps) : 0 }
    public var top1Agreement: Double { steps > 0 ? Double(top1Agreements) / Double(steps) : 1 }
    public var confidentTop1Agreement: Double { confidentSteps > 0 ? Double(confidentAgreements) / Double(confidentSteps) : 1 }
    public var probableTop1Agreement: Double { probableSteps > 0 ? Double(probableAgreements) / Double(probableSteps) : 1 }
    public var referencePerplexity: Double { Foundation.exp(referenceNLLSum / Double(max(steps, 1))) }
    public var candidatePerplexity: Double { Foundation.exp(candidateNLLSum / Double(max(steps, 1))) }
    public var meanContextTokens: Int { contextTokens / max(documents, 1) }

    public mutating func merge(_ o: FidelityComparison) {
        steps += o.steps; klSum += o.klSum; maxKL = max(maxKL, o.maxKL); top1Agreements += o.top1Agreements
        confidentSteps += o.confidentSteps; confidentAgreements += o.confidentAgreements
        probableSteps += o.probableSteps; probableAgreements += o.probableAgreements
        referenceNLLSum += o.referenceNLLSum; candidateNLLSum += o.candidateNLLSum
        contextTokens += o.contextTokens; documents += o.documents
    }

    /// Adds one step: KL(p ‖ q) of the softmax distributions of two logit rows, whether their
    /// argmax agree, and both NLLs of token `next` (−1: none).
    public mutating func add(reference p: UnsafeBufferPointer<Float>, candidate q: UnsafeBufferPointer<Float>, next: Int) {
        let lp = ck_logsumexp(p.baseAddress!, Int64(p.count)), lq = ck_logsumexp(q.baseAddress!, Int64(q.count))
        var kl = 0.0, bestP = 0, bestQ = 0, secondP = -Float.infinity
        for i in 0..<p.count {
            let logP = Double(p[i]) - lp
            kl += Foundation.exp(logP) * (logP - (Double(q[i]) - lq))
            if p[i] > p[bestP] { secondP = p[bestP]; bestP = i } else if i != bestP && p[i] > secondP { secondP = p[i] }
            if q[i] > q[bestQ] { bestQ = i }
        }
        steps += 1
        klSum += max(kl, 0)
        maxKL = max(maxKL, kl)
        if bestP == bestQ { top1Agreements += 1 }
        if p[bestP] - secondP >= Self.confidentMargin {
            confidentSteps += 1
            if bestP == bestQ { confidentAgreements += 1 }
        }
        if Double(p[bestP]) - lp >= Foundation.log(Self.probableThreshold) {
            probableSteps += 1
            if bestP == bestQ { probableAgreements += 1 }
        }
        if next >= 0 {
            referenceNLLSum += lp - Double(p[next])
            candidateNLLSum += lq - Double(q[next])
        }
    }
}

import CKernels
import Foundation
import KVCache

/// How far a KV format moves the model's next-token distributions from a reference format, over
/// the decode steps of one or more prompts: mean KL(reference ‖ candidate) and top-1 agreement.
public struct KVFidelityComparison: Codable, Sendable, Equatable {
    public var steps = 0
    public var klSum = 0.0
    public var maxKL = 0.0
    public var top1Agreements = 0

    public init() {}

    public var meanKL: Double { steps > 0 ? klSum / Double(steps) : 0 }
    public var top1Agreement: Double { steps > 0 ? Double(top1Agreements) / Double(steps) : 1 }

    public mutating func merge(_ other: KVFidelityComparison) {
        steps += other.steps
        klSum += other.klSum
        maxKL = max(maxKL, other.maxKL)
        top1Agreements += other.top1Agreements
    }

    /// Adds one step: KL(p ‖ q) of the softmax distributions of two logit rows, and whether their argmax agree.
    mutating func add(reference p: UnsafeBufferPointer<Float>, candidate q: UnsafeBufferPointer<Float>) {
        let lp = ck_logsumexp(p.baseAddress!, Int64(p.count)), lq = ck_logsumexp(q.baseAddress!, Int64(q.count))
        var kl = 0.0, bestP = 0, bestQ = 0
        for i in 0..<p.count {
            let logP = Double(p[i]) - lp
            kl += Foundation.exp(logP) * (logP - (Double(q[i]) - lq))
            if p[i] > p[bestP] { bestP = i }
            if q[i] > q[bestQ] { bestQ = i }
        }
        steps += 1
        klSum += max(kl, 0)
        maxKL = max(maxKL, kl)
        if bestP == bestQ { top1Agreements += 1 }
    }
}

extension ForwardContext {
    /// Prefills `prompt` into a `reference` and a `candidate` sequence, then decodes `steps` greedy
    /// tokens chosen by the reference, feeding the same tokens to the candidate (teacher forcing),
    /// and compares the two distributions at every step — from the prompt's last position on.
    /// Both sequences run in the same batched forward passes. Returns the comparison and the
    /// reference's tokens.
    public func compareKV(_ candidate: KVFormat, reference: KVFormat = .f16, prompt: [Int32], steps: Int) throws(ModelError)
        -> (KVFidelityComparison, [Int32]) {
        let ref = try model.makeSequence(format: reference), cand = try model.makeSequence(format: candidate)
        var comparison = KVFidelityComparison(), generated: [Int32] = []
        var start = 0
        var views: [LogitsView] = []
        while start < prompt.count { // both prompts in the same chunks, logits of the last token only
            let end = min(prompt.count, start + maxTokens / 2), chunk = Array(prompt[start..<end])
            let want: LogitsRequest = end == prompt.count ? .last : .none
            views = try forward([ForwardRequest(ref, tokens: chunk, logits: want), ForwardRequest(cand, tokens: chunk, logits: want)])
            start = end
        }
        for step in 0...steps {
            let p = views[0].last, q = views[1].last
            comparison.add(reference: p, candidate: q)
            guard step < steps else { break }
            var next = 0
            for i in 1..<p.count where p[i] > p[next] { next = i }
            generated.append(Int32(next))
            views = try forward([ForwardRequest(ref, tokens: [Int32(next)]), ForwardRequest(cand, tokens: [Int32(next)])])
        }
        return (comparison, generated)
    }
}

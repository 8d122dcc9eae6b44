import Foundation
import KVCache

/// Speculative decoding verified by exact attention (Leviathan et al. 2023, "Fast Inference from
/// Transformers via Speculative Decoding"; TriForce, arXiv 2404.11912). A pass takes the pending
/// token and up to γ draft tokens, runs them through the target model in one row-exact forward
/// (`ForwardContext.verify`: dense attention over the exact KV, every row bit-identical to the
/// single-token decode step it stands for), and keeps:
///   - temperature 0: the longest draft prefix equal to the target's greedy choices, then the
///     target's own choice at the first difference (or after the last draft);
///   - temperature > 0: each draft d with probability p(d) (the draft distribution is a point
///     mass, so min(1, p/q) = p(d)); at the first rejection a token from p with d removed,
///     renormalised (norm(max(0, p − q))); after the last draft a token from p.
/// Rejected rows are rolled back (cache, the strategy's index, the sequence's tokens).
/// So at temperature 0 the output is token-identical to `generate`, and at temperature > 0 it
/// has the same distribution (not the same draws).
public struct SpeculationStatistics: Sendable, Equatable, Codable {
    public var draftedTokenCount = 0
    public var acceptedTokenCount = 0
    public var verificationPassCount = 0
    /// Passes that carried at least one draft token.
    public var draftingPassCount = 0
    public var draftSeconds = 0.0
    public var verifySeconds = 0.0

    public init() {}

    public var acceptanceRate: Double { draftedTokenCount > 0 ? Double(acceptedTokenCount) / Double(draftedTokenCount) : 0 }
    /// Draft tokens kept per pass that carried drafts.
    public var meanAcceptedLength: Double { draftingPassCount > 0 ? Double(acceptedTokenCount) / Double(draftingPassCount) : 0 }

    public static func + (a: Self, b: Self) -> Self {
        var s = a
        s.draftedTokenCount += b.draftedTokenCount
        s.acceptedTokenCount += b.acceptedTokenCount
        s.verificationPassCount += b.verificationPassCount
        s.draftingPassCount += b.draftingPassCount
        s.draftSeconds += b.draftSeconds
        s.verifySeconds += b.verifySeconds
        return s
    }
}

/// One sequence being decoded speculatively: its sampler, draft source and draft length.
public final class SpeculativeStream {
    public let sequence: SequenceState
    public var sampler: Sampler
    public let draft: DraftSource?
    public var draftLength: AdaptiveDraftLength
    public var statistics = SpeculationStatistics()

    public init(sequence: SequenceState, sampler: Sampler, draft: DraftSource?, maxDraftTokens: Int) {
        self.sequence = sequence
        self.sampler = sampler
        self.draft = draft
        draftLength = AdaptiveDraftLength(maximum: max(1, maxDraftTokens))
    }
}

extension ForwardContext {
    /// One speculative pass for each stream: `pending[i]` is stream i's last sampled token (not
    /// yet in its cache), `limits[i]` how many tokens it may still emit (≥ 1). Drafts of all
    /// streams are verified in one forward pass. Returns per stream the tokens emitted after its
    /// pending one (accepted drafts, then the target's own token): at least one, at most the
    /// limit; the last is the new pending token, the others are now in the cache.
    public func speculate(_ streams: [SpeculativeStream], pending: [Int32], limits: [Int]) throws(ModelError) -> [[Int32]] {
        precondition(streams.count == pending.count && streams.count == limits.count)
        var drafts: [[Int32]] = []
        for (i, s) in streams.enumerated() {
            let base = s.sequence.tokenCount
            let safe = s.sequence.cache.format.rollbackSafeAppendCount(after: base, pageTokenCount: s.sequence.cache.pageTokenCount)
            let room = min(s.draftLength.current, limits[i] - 1, safe - 1, maxTokens / streams.count - 1,
                           model.config.contextLength - base - 1)
            guard room > 0, let source = s.draft else { drafts.append([]); continue }
            let t0 = DispatchTime.now().uptimeNanoseconds
            drafts.append(Array(try source.propose(sequence: s.sequence, pending: pending[i], limit: room).prefix(room)))
            s.statistics.draftSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let requests = streams.indices.map { ForwardRequest(streams[$0].sequence, tokens: [pending[$0]] + drafts[$0], logits: .all) }
        let views = try forward(requests, rowExact: true)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var emitted: [[Int32]] = []
        for (i, s) in streams.enumerated() {
            let base = s.sequence.tokenCount - drafts[i].count - 1
            let out = accept(drafts[i], logits: views[i], stream: s, base: base)
            try s.sequence.truncate(to: base + out.count) // pending + accepted drafts stay
            s.statistics.verificationPassCount += 1
            s.statistics.verifySeconds += seconds / Double(streams.count)
            if !drafts[i].isEmpty {
                s.statistics.draftingPassCount += 1
                s.statistics.draftedTokenCount += drafts[i].count
                s.statistics.acceptedTokenCount += out.count - 1
            }
            s.draftLength.record(drafted: drafts[i].count, accepted: out.count - 1)
            emitted.append(out)
        }
        return emitted
    }

    /// The speculative acceptance rule over one stream's rows (see the type's comment).
    private func accept(_ drafts: [Int32], logits: LogitsView, stream s: SpeculativeStream, base: Int) -> [Int32] {
        var out: [Int32] = []
        let greedy = s.sampler.parameters.temperature <= 0
        for row in 0...drafts.count {
            // Row `row` predicts the token after position base + row; its history is the sequence so far.
            let distribution = s.sampler.distribution(logits[row], history: s.sequence.tokens[..<(base + row + 1)])
            guard row < drafts.count else {
                out.append(greedy ? distribution.tokens[0] : s.sampler.draw(distribution))
                break
            }
            let d = drafts[row]
            if greedy {
                out.append(distribution.tokens[0])
                if distribution.tokens[0] != d { break }
                continue
            }
            if s.sampler.uniform() < distribution.probability(of: d) {
                out.append(d)
                continue
            }
            var residual = distribution
            if let j = residual.tokens.firstIndex(of: d) {
                residual.tokens.remove(at: j)
                residual.weights.remove(at: j)
            }
            out.append(s.sampler.draw(residual))
            break
        }
        return out
    }

    /// `generate` with speculation: the same prefill, then speculative passes. At temperature 0
    /// the tokens equal `generate`'s.
    public func generateSpeculatively(_ sequence: SequenceState, prompt: [Int32], maxNewTokens: Int, sampler parameters: SamplerParameters,
                                      draft: DraftSource?, maxDraftTokens: Int, isEnd: (Int32) -> Bool = { _ in false },
                                      onToken: (Int32) -> Bool = { _ in true }) throws(ModelError) -> (GenerationResult, SpeculationStatistics) {
        var result = GenerationResult()
        result.promptTokenCount = prompt.count
        let stream = SpeculativeStream(sequence: sequence, sampler: Sampler(parameters), draft: draft, maxDraftTokens: maxDraftTokens)
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard let logits = try prefill(sequence, tokens: prompt)?.last else { return (result, stream.statistics) }
        let t1 = DispatchTime.now().uptimeNanoseconds
        result.prefillSeconds = Double(t1 - t0) / 1e9
        guard maxNewTokens > 0 else { return (result, stream.statistics) }
        var t2 = t1
        var next = [stream.sampler.sample(logits, history: sequence.tokens[...])]
        decoding: while true {
            for token in next {
                if isEnd(token) { result.stoppedAtEndToken = true; break decoding }
                result.tokens.append(token)
                if result.tokens.count == 1 { t2 = DispatchTime.now().uptimeNanoseconds }
                if !onToken(token) || result.tokens.count == maxNewTokens { break decoding }
            }
            next = try speculate([stream], pending: [next.last!], limits: [maxNewTokens - result.tokens.count])[0]
        }
        result.decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - t2) / 1e9
        return (result, stream.statistics)
    }
}

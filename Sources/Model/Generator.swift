import Foundation

/// Prefill-then-decode for one sequence: the prompt in chunks of the context's `maxTokens`, then
/// one token at a time until `maxNewTokens`, an end-of-generation token or the callback says stop.
public struct GenerationResult: Sendable {
    public var tokens: [Int32] = []
    public var promptTokenCount = 0
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0
    public var stoppedAtEndToken = false

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokenCount) / prefillSeconds : 0 }
    /// Decode speed over the tokens after the first (the first comes from the prefill's logits).
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(max(0, tokens.count - 1)) / decodeSeconds : 0 }
}

extension ForwardContext {
    /// Appends `tokens` to `sequence` in chunks; returns the logits of the last token.
    @discardableResult
    /// `progress(done)` after each chunk returns false to stop early (the tokens done so far stay).
    public func prefill(_ sequence: SequenceState, tokens: [Int32], logits: Bool = true,
                        progress: (Int) -> Bool = { _ in true }) throws(ModelError) -> LogitsView? {
        guard !tokens.isEmpty else { throw .emptyPrompt }
        var start = 0
        var last: LogitsView?
        while start < tokens.count {
            let end = min(tokens.count, start + maxTokens)
            let want: LogitsRequest = logits && end == tokens.count ? .last : .none
            last = try forward([ForwardRequest(sequence, tokens: Array(tokens[start..<end]), logits: want)])[0]
            start = end
            if !progress(start) { return nil }
        }
        return logits ? last : nil
    }

    /// Generates after `prompt` (appended to `sequence`). `isEnd` marks end-of-generation tokens
    /// (not included in the result); `onToken` returns false to stop early.
    public func generate(_ sequence: SequenceState, prompt: [Int32], maxNewTokens: Int, sampler parameters: SamplerParameters,
                         isEnd: (Int32) -> Bool = { _ in false }, onToken: (Int32) -> Bool = { _ in true }) throws(ModelError) -> GenerationResult {
        var result = GenerationResult()
        result.promptTokenCount = prompt.count
        var sampler = Sampler(parameters)
        // The certified head returns only the argmax's logits: other samplers get the full layer.
        let head = lmHead
        if !parameters.allowsCertifiedHead { lmHead = .full }
        defer { lmHead = head }
        let t0 = DispatchTime.now().uptimeNanoseconds
        guard var logits = try prefill(sequence, tokens: prompt)?.last else { return result }
        let t1 = DispatchTime.now().uptimeNanoseconds
        result.prefillSeconds = Double(t1 - t0) / 1e9
        var t2 = t1
        while result.tokens.count < maxNewTokens {
            let next = sampler.sample(logits, history: sequence.tokens[...])
            if isEnd(next) { result.stoppedAtEndToken = true; break }
            result.tokens.append(next)
            if result.tokens.count == 1 { t2 = DispatchTime.now().uptimeNanoseconds }
            if !onToken(next) || result.tokens.count == maxNewTokens { break }
            logits = try forward([ForwardRequest(sequence, tokens: [next])])[0].last
        }
        result.decodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - t2) / 1e9
        return result
    }
}

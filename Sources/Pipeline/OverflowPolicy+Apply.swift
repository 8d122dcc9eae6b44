// Applying a job's overflow policy to a tokenized document. Never silent: `fail` throws with the
// token count and the limit; `truncate-middle` returns what it kept, which the runner records.
import Foundation

/// What `truncate-middle` kept: the first `headTokens` and the last `tailTokens` of `originalTokens`.
public struct Truncation: Codable, Sendable, Equatable {
    public var originalTokens: Int
    public var headTokens: Int
    public var tailTokens: Int

    public init(originalTokens: Int, headTokens: Int, tailTokens: Int) {
        self.originalTokens = originalTokens
        self.headTokens = headTokens
        self.tailTokens = tailTokens
    }
}

extension OverflowPolicy {
    /// The tokens to prefill: all of them when they fit in `limit`; else by policy.
    /// `truncate-middle` keeps the first ⌈limit/2⌉ and the last ⌊limit/2⌋ tokens. A limit below 1
    /// leaves room for nothing: `documentTooLong` under either policy, never an empty document.
    public func apply<Token>(to tokens: [Token], limit: Int, documentPath: String) throws -> (kept: [Token], truncation: Truncation?) {
        guard tokens.count > limit else { return (tokens, nil) }
        guard limit >= 1 else { throw PipelineError.documentTooLong(path: documentPath, tokenCount: tokens.count, limit: max(0, limit)) }
        switch self {
        case .fail:
            throw PipelineError.documentTooLong(path: documentPath, tokenCount: tokens.count, limit: limit)
        case .truncateMiddle:
            let head = (limit + 1) / 2
            let tail = limit - head
            let kept = Array(tokens.prefix(head)) + Array(tokens.suffix(tail))
            return (kept, Truncation(originalTokens: tokens.count, headTokens: head, tailTokens: tail))
        }
    }
}

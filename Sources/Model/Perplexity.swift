import CKernels
import Foundation
import KVCache

/// Teacher-forced scoring and perplexity with llama-perplexity's convention: the tokens are cut
/// into consecutive chunks of `contextLength` (a trailing partial chunk is dropped); each chunk is
/// evaluated from an empty cache, and only the second half of each chunk is scored — the negative
/// log-likelihood of token j+1 given tokens ..j for j in [ctx/2, ctx-1). Perplexity = exp(mean NLL).
public struct PerplexityResult: Sendable, Codable {
    enum CodingKeys: String, CodingKey {
        case perplexity, tokens, chunks, seconds
        case scoredTokens = "scored_tokens"
        case top1Accuracy = "top1_accuracy"
    }
    public let perplexity: Double
    /// Tokens in the input.
    public let tokens: Int
    public let chunks: Int
    public let scoredTokens: Int
    /// Fraction of scored positions whose argmax is the next token.
    public let top1Accuracy: Double
    public let seconds: Double
}

/// What the model predicts at one position of a teacher-forced pass.
public struct PositionScore: Sendable {
    /// Index j of the position in the input (predicting token j+1).
    public let position: Int
    public let nll: Double
    public let top1: Int32
    /// top-1 minus top-2 logit.
    public let margin: Float
}

extension ForwardContext {
    /// Evaluates `tokens` in chunks of `contextLength` from an empty cache each and reports, for
    /// every position j with `scoredFrom(chunkLength) <= j - chunkStart < chunkLength - 1`, the
    /// prediction of token j+1. The last chunk may be partial when `dropPartialChunk` is false.
    public func teacherForced(tokens: [Int32], contextLength ctx: Int, dropPartialChunk: Bool, bos: Int32? = nil,
                              format: KVFormat = .f16, scoredFrom: (Int) -> Int, onPosition: (PositionScore) -> Void) throws(ModelError) {
        var chunkStart = 0
        while chunkStart < tokens.count - 1 {
            let length = min(ctx, tokens.count - chunkStart)
            if length < ctx && dropPartialChunk { break }
            var ids = Array(tokens[chunkStart..<(chunkStart + length)])
            if let bos { ids[0] = bos } // llama-perplexity replaces the first token when the model adds BOS
            let seq = try model.makeSequence(format: format)
            let first = scoredFrom(length)
            var done = 0
            while done < length {
                let n = min(maxTokens, length - done)
                let wantsLogits = done + n > first // logits only for slices holding scored positions
                let view = try forward([ForwardRequest(seq, tokens: Array(ids[done..<(done + n)]), logits: wantsLogits ? .all : .none)])[0]
                if wantsLogits {
                    for i in 0..<n where done + i >= first && done + i < length - 1 {
                        let j = done + i, row = view[i], target = Int(ids[j + 1])
                        var best = 0, second = 1
                        if row[1] > row[0] { best = 1; second = 0 }
                        for v in 2..<row.count where row[v] > row[second] {
                            if row[v] > row[best] { second = best; best = v } else { second = v }
                        }
                        onPosition(PositionScore(position: chunkStart + j,
                                                 nll: ck_logsumexp(row.baseAddress!, Int64(row.count)) - Double(row[target]),
                                                 top1: Int32(best), margin: row[best] - row[second]))
                    }
                }
                done += n
            }
            chunkStart += length
        }
    }

    /// Perplexity with the KV cache in `format` (the cache quantizes as it fills, so later tokens of
    /// each chunk attend to quantized keys and values, as in generation).
    public func perplexity(tokens: [Int32], contextLength ctx: Int, bos: Int32? = nil, format: KVFormat = .f16) throws(ModelError) -> PerplexityResult {
        precondition(ctx >= 4)
        let start = DispatchTime.now().uptimeNanoseconds
        var nll = 0.0, scored = 0, correct = 0
        try teacherForced(tokens: tokens, contextLength: ctx, dropPartialChunk: true, bos: bos, format: format, scoredFrom: { $0 / 2 }) { p in
            nll += p.nll
            scored += 1
            if p.top1 == tokens[p.position + 1] { correct += 1 }
        }
        return PerplexityResult(perplexity: Foundation.exp(nll / Double(max(scored, 1))), tokens: tokens.count,
                                chunks: tokens.count / ctx, scoredTokens: scored, top1Accuracy: Double(correct) / Double(max(scored, 1)),
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}

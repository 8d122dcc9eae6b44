/// Prompt-lookup drafting (apoorvumang/prompt-lookup-decoding; SuffixDecoding, arXiv 2411.04975,
/// for the longest-match rule): the tokens that followed the latest earlier occurrence of the
/// sequence's longest suffix of n tokens, n from `maxNGram` down to `minNGram`, in the sequence's
/// own tokens (template head, document, prompt, generated answer).
///
/// Index: for each n, a hash of every n-gram → the end positions where it occurs, ascending.
/// It follows the sequence incrementally; tokens a rollback removes are removed from it (their
/// end positions are the last of their lists), so it never proposes from a rejected draft.
public final class LookupDraft: DraftSource {
    public var name: String { "lookup" }
    public let minNGram: Int
    public let maxNGram: Int
    /// Tokens indexed: the sequence's tokens then the pending token, as of the last proposal.
    private var tokens: [Int32] = []
    /// [n - minNGram]: n-gram hash → end positions (exclusive) in `tokens`.
    private var ends: [[UInt64: [Int32]]]

    public init(minNGram: Int = 1, maxNGram: Int = 4) {
        precondition(minNGram >= 1 && maxNGram >= minNGram)
        self.minNGram = minNGram
        self.maxNGram = maxNGram
        ends = Array(repeating: [:], count: maxNGram - minNGram + 1)
    }

    public func propose(sequence: SequenceState, pending: Int32, limit: Int) throws(ModelError) -> [Int32] {
        synchronize(with: sequence.tokens, pending: pending)
        return proposal(limit: limit)
    }

    /// The continuation of the longest suffix match in the indexed tokens.
    func proposal(limit: Int) -> [Int32] {
        let count = tokens.count
        guard limit > 0 else { return [] }
        for n in stride(from: min(maxNGram, count - 1), through: minNGram, by: -1) {
            guard let positions = ends[n - minNGram][hash(count - n, n)] else { continue }
            // Latest earlier occurrence whose tokens really match (hashes may collide).
            for end in positions.reversed() where Int(end) < count && matches(Int(end) - n, count - n, n) {
                let start = Int(end)
                return Array(tokens[start..<min(count, start + limit)])
            }
        }
        return []
    }

    /// Brings the index to `history + [pending]`: removes what diverges, adds what is new (a
    /// linear comparison: microseconds against a verification pass's milliseconds).
    private func synchronize(with history: [Int32], pending: Int32) {
        var common = 0
        while common < tokens.count && common < history.count && tokens[common] == history[common] { common += 1 }
        if common == history.count, common < tokens.count, tokens[common] == pending { common += 1 }
        removeTokens(from: common)
        if common < history.count { for t in history[common...] { add(t) } }
        if tokens.count == history.count { add(pending) }
    }

    private func add(_ token: Int32) {
        tokens.append(token)
        let end = tokens.count
        for n in minNGram...min(maxNGram, end) { ends[n - minNGram][hash(end - n, n), default: []].append(Int32(end)) }
    }

    private func removeTokens(from count: Int) {
        while tokens.count > count {
            let end = tokens.count
            for n in minNGram...min(maxNGram, end) {
                let key = hash(end - n, n)
                ends[n - minNGram][key]!.removeLast()
                if ends[n - minNGram][key]!.isEmpty { ends[n - minNGram][key] = nil }
            }
            tokens.removeLast()
        }
    }

    private func hash(_ start: Int, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(n)
        for i in start..<(start + n) { h = (h ^ UInt64(UInt32(bitPattern: tokens[i]))) &* 0x100_0000_01b3 }
        return h
    }

    private func matches(_ a: Int, _ b: Int, _ n: Int) -> Bool {
        a >= 0 && (0..<n).allSatisfy { tokens[a + $0] == tokens[b + $0] }
    }
}

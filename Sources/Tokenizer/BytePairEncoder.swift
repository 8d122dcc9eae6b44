import Collections

/// Byte-level BPE (Sennrich et al. 2016, as GPT-2 applies it to bytes) inside one pre-tokenized
/// word, following llama.cpp's `llm_tokenizer_bpe_session::tokenize`:
///
/// 1. Every byte of the word is a symbol: the token of its byte-level character.
/// 2. Every adjacent pair with a merge rule is a candidate, kept in a min-heap ordered by the
///    merge's rank (its line in `tokenizer.ggml.merges`), ties broken by the leftmost position.
/// 3. The best candidate is merged (the right symbol joins the left one in a doubly linked
///    list); candidates that name a symbol changed since they were queued are skipped; the two
///    new neighbour pairs are queued. Repeat until no candidate is left.
///
/// Symbols are token ids throughout: every merge's halves and result are checked to be tokens
/// when the vocabulary is loaded, so the merge table maps (left id, right id) → (rank, result id).
struct BytePairEncoder: Sendable {
    /// (left << 32 | right) → (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
    /// The token of each byte's byte-level character, or -1 (such a byte is dropped, as in llama.cpp).
    private let byteTokens: [Int32]
    /// llama.cpp's `ignore_merges`: a word that is a token is that token.
    private let ignoresMerges: Bool

    init(vocabulary: Vocabulary, merges mergeTexts: [String], ignoresMerges: Bool) throws(TokenizerError) {
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergeTexts.count)
        for (rank, merge) in mergeTexts.enumerated() {
            let bytes = Array(merge.utf8)
            // The separator is the first space after the first byte (a half may start with a space).
            guard let space = bytes.dropFirst().firstIndex(of: 0x20) else {
                throw .malformedMerge(index: rank, merge: merge)
            }
            let left = Array(bytes[..<space]), right = Array(bytes[(space + 1)...])
            var ids: [UInt64] = []
            for part in [left, right, left + right] {
                guard let id = vocabulary.id(of: part) else {
                    throw .unknownMergeToken(index: rank, merge: merge, token: String(decoding: part, as: UTF8.self))
                }
                ids.append(UInt64(UInt32(id)))
            }
            let key = ids[0] << 32 | ids[1]
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | ids[2] } // the first rule for a pair wins
        }
        self.merges = merges
        byteTokens = ByteLevel.encodedByte.map { vocabulary.id(of: $0) ?? -1 }
        self.ignoresMerges = ignoresMerges
    }

    /// Reusable buffers for `encode(word:)`, one set per `encode` call.
    struct Scratch {
        var symbols: [Symbol] = []
        var heap = Heap<Candidate>()
        var text: [UInt8] = []
    }

    struct Symbol {
        var token: Int32
        var prev: Int32
        var next: Int32
        var alive: Bool
    }

    /// A queued merge of `symbols[left]` and `symbols[right]`, valid while both still hold the tokens seen when queued.
    struct Candidate: Comparable {
        var rank: UInt32
        var left: Int32
        var right: Int32
        var leftToken: Int32
        var rightToken: Int32
        var merged: Int32

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.left < b.left
        }
    }

    /// Appends the tokens of `word` (UTF-8 bytes) to `out`.
    func encode(word: ArraySlice<UInt8>, vocabulary: Vocabulary, scratch: inout Scratch, into out: inout [Int32]) {
        if ignoresMerges {
            scratch.text.removeAll(keepingCapacity: true)
            ByteLevel.encode(word, into: &scratch.text)
            if let id = vocabulary.id(of: scratch.text) {
                out.append(id)
                return
            }
        }
        if word.count == 1 {
            let t = byteTokens[Int(word.first!)]
            if t >= 0 { out.append(t) }
            return
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        let n = Int32(word.count)
        for (i, b) in word.enumerated() {
            let i = Int32(i)
            scratch.symbols.append(Symbol(token: byteTokens[Int(b)], prev: i - 1, next: i + 1 < n ? i + 1 : -1, alive: true))
        }
        for i in 1..<n { queue(i - 1, i, &scratch) }
        while let c = scratch.heap.popMin() {
            let l = Int(c.left), r = Int(c.right)
            guard scratch.symbols[l].alive, scratch.symbols[r].alive,
                  scratch.symbols[l].token == c.leftToken, scratch.symbols[r].token == c.rightToken else { continue }
            let after = scratch.symbols[r].next
            scratch.symbols[l].token = c.merged
            scratch.symbols[l].next = after
            scratch.symbols[r].alive = false
            if after >= 0 { scratch.symbols[Int(after)].prev = c.left }
            queue(scratch.symbols[l].prev, c.left, &scratch)
            queue(c.left, after, &scratch)
        }
        var i: Int32 = 0
        while i >= 0 {
            let t = scratch.symbols[Int(i)].token
            if t >= 0 { out.append(t) }
            i = scratch.symbols[Int(i)].next
        }
    }

    @inline(__always)
    private func queue(_ left: Int32, _ right: Int32, _ scratch: inout Scratch) {
        guard left >= 0, right >= 0 else { return }
        let a = scratch.symbols[Int(left)].token, b = scratch.symbols[Int(right)].token
        guard a >= 0, b >= 0, let rule = merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] else { return }
        scratch.heap.insert(Candidate(rank: UInt32(rule >> 32), left: left, right: right,
                                      leftToken: a, rightToken: b, merged: Int32(truncatingIfNeeded: rule)))
    }
}

import Collections

/// SentencePiece BPE by token scores with byte fallback (Kudo & Richardson 2018), following
/// llama.cpp's `llm_tokenizer_spm_session`:
///
/// 1. Spaces become `▁` (U+2581); every UTF-8 character is a symbol.
/// 2. Every adjacent pair whose concatenated text is a token is a candidate, kept in a heap
///    ordered by that token's score, highest first, ties broken by the leftmost position.
/// 3. The best candidate is merged (the right symbol joins the left one); a candidate whose two
///    symbols no longer add up to its length is stale and skipped; the new neighbour pairs are
///    queued. Repeat until no candidate is left.
/// 4. Each symbol is its token; a character that is not a token is written as its bytes, one
///    `<0xNN>` token each (or the byte's own token; the unknown token if neither exists — where
///    llama.cpp would throw).
///
/// llama.cpp runs this over a whole text fragment at once. When no token has a `▁` right after
/// another character (true of Llama, Phi-3, Baichuan; checked at load), no merge can cross the
/// start of a run of `▁`, so each word is merged on its own — same result, smaller heaps.
enum SentencePieceEncoder {
    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81] // "▁"

    struct Scratch {
        var symbols: [Symbol] = []
        var heap = Heap<Candidate>()
    }

    struct Symbol {
        var start: Int32
        /// Bytes covered; 0 once merged into the symbol on its left.
        var length: Int32
        var prev: Int32
        var next: Int32
    }

    struct Candidate: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var length: Int32

        /// `Heap` pops its minimum: the highest score, then the leftmost.
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : a.left < b.left
        }
    }

    /// Whether some token has `▁` right after another character, so that merges may cross word starts.
    static func mergesCrossWordStarts(_ texts: [[UInt8]]) -> Bool {
        texts.contains { text in
            var i = 1
            while i + 2 < text.count {
                if text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81 && !isEscapedSpace(text, before: i) { return true }
                i += 1
            }
            return false
        }
    }

    private static func isEscapedSpace(_ text: [UInt8], before i: Int) -> Bool {
        i >= 3 && text[i - 3] == 0xE2 && text[i - 2] == 0x96 && text[i - 1] == 0x81
    }

    /// Appends the tokens of `text` (already space-escaped UTF-8) to `out`.
    static func encode(_ text: [UInt8], vocabulary: Vocabulary, scratch: inout Scratch, into out: inout [Int32]) {
        guard vocabulary.sentencePieceWordsAreIndependent else {
            return encode(text, 0..<text.count, vocabulary, &scratch, into: &out)
        }
        var start = 0
        var i = 1
        while i + 2 < text.count {
            if text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81 { // E2 only ever leads a character
                if !isEscapedSpace(text, before: i) {
                    encode(text, start..<i, vocabulary, &scratch, into: &out)
                    start = i
                }
                i += 3
            } else {
                i += 1
            }
        }
        encode(text, start..<text.count, vocabulary, &scratch, into: &out)
    }

    /// The merge loop over `text[range]`.
    private static func encode(_ text: [UInt8], _ range: Range<Int>, _ vocabulary: Vocabulary, _ scratch: inout Scratch,
                               into out: inout [Int32]) {
        guard !range.isEmpty else { return }
        scratch.symbols.removeAll(keepingCapacity: true)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let length = min(utf8Length(leadByte: text[offset]), range.upperBound - offset)
            let index = Int32(scratch.symbols.count)
            offset += length
            scratch.symbols.append(Symbol(start: Int32(offset - length), length: Int32(length), prev: index - 1,
                                          next: offset == range.upperBound ? -1 : index + 1))
        }
        for i in 1..<Int32(scratch.symbols.count) { queue(i - 1, i, text, vocabulary, &scratch) }
        while let c = scratch.heap.popMin() {
            let l = Int(c.left), r = Int(c.right)
            let leftLength = scratch.symbols[l].length, rightLength = scratch.symbols[r].length
            guard leftLength != 0, rightLength != 0, leftLength + rightLength == c.length else { continue }
            let after = scratch.symbols[r].next
            scratch.symbols[l].length += rightLength
            scratch.symbols[r].length = 0
            scratch.symbols[l].next = after
            if after >= 0 { scratch.symbols[Int(after)].prev = c.left }
            queue(scratch.symbols[l].prev, c.left, text, vocabulary, &scratch)
            queue(c.left, after, text, vocabulary, &scratch)
        }
        var i: Int32 = 0
        while i >= 0 {
            let s = scratch.symbols[Int(i)]
            let piece = text[Int(s.start)..<Int(s.start + s.length)]
            if let id = vocabulary.id(of: piece) {
                out.append(id)
            } else {
                for b in piece {
                    if let id = vocabulary.byteToken(b) ?? vocabulary.special.unknown { out.append(id) }
                }
            }
            i = s.next
        }
    }

    private static func queue(_ left: Int32, _ right: Int32, _ text: [UInt8], _ vocabulary: Vocabulary, _ scratch: inout Scratch) {
        guard left >= 0, right >= 0 else { return }
        let start = Int(scratch.symbols[Int(left)].start)
        let length = scratch.symbols[Int(left)].length + scratch.symbols[Int(right)].length
        guard let id = vocabulary.id(of: text[start..<start + Int(length)]) else { return }
        scratch.heap.insert(Candidate(score: vocabulary.scores[Int(id)], left: left, right: right, length: length))
    }

    /// Bytes of the UTF-8 character that starts with `leadByte` (1 for a stray continuation byte).
    static func utf8Length(leadByte: UInt8) -> Int {
        switch leadByte >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }

    /// Replaces every space by `▁`.
    static func escapeSpaces(_ text: ArraySlice<UInt8>, into out: inout [UInt8]) {
        for b in text {
            if b == 0x20 { out.append(contentsOf: escapedSpace) } else { out.append(b) }
        }
    }

    /// Replaces every `▁` by a space.
    static func unescapeSpaces(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if i + 2 < text.count, text[i] == 0xE2, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}

/// Hand-written scanners for the word-splitting regexes of GPT-2, Llama 3, Qwen2 and Qwen3.5.
/// They follow llama.cpp's `unicode_regex_split_custom_{gpt2,llama3,qwen2,qwen35}` (unicode.cpp)
/// rule for rule, so that words come out exactly as the peer's — including where those scanners
/// are simpler than a regex engine would be. The regexes, alternatives tried in order at each
/// position (leftmost-first, greedy):
///
///     gpt2:   's|'t|'re|'ve|'m|'ll|'d | ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
///     llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3}
///             | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
///     qwen2:  as llama3 with \p{N} (one digit per word)
///     qwen35: as qwen2 with [\p{L}\p{M}] for \p{L} (combining marks stay with their letters)
///
/// A scanner works inside one chunk `[lo, hi)` of code points left by the previous pre-tokenizer
/// rule; code points outside the chunk count as absent (no class, not whitespace).
enum WordScanner: Sendable {
    case gpt2, llama3, qwen2, qwen35

    /// Appends the end index of each word of `cps[lo..<hi]` to `ends`.
    func split(_ cps: [UInt32], _ flags: [CodepointFlags], _ lo: Int, _ hi: Int, into ends: inout [Int]) {
        let caseInsensitive = self != .gpt2
        let letters: CodepointFlags = self == .qwen35 ? [.letter, .mark] : .letter
        let notOther: CodepointFlags = letters.union([.whitespace, .number])
        @inline(__always) func flagsAt(_ i: Int) -> CodepointFlags { i < hi ? flags[i] : [] }
        @inline(__always) func cpAt(_ i: Int) -> UInt32 { i < hi ? cps[i] : .max }
        @inline(__always) func isNewline(_ c: UInt32) -> Bool { c == 0x0A || c == 0x0D }

        var pos = lo
        while pos < hi {
            let c = cps[pos]
            let f = flags[pos]
            if let n = contractionLength(cps, pos, hi, caseInsensitive: caseInsensitive) {
                pos += n
                ends.append(pos)
                continue
            }
            if self == .gpt2 {
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional leading space, then a run of one class.
                let start = c == 0x20 ? pos + 1 : pos
                let f2 = flagsAt(start)
                let runClass: ((CodepointFlags) -> Bool)?
                if f2.contains(.letter) {
                    runClass = { $0.contains(.letter) }
                } else if f2.contains(.number) {
                    runClass = { $0.contains(.number) }
                } else if f2.isDisjoint(with: notOther) && !f2.isEmpty {
                    runClass = { $0.isDisjoint(with: notOther) && !$0.isEmpty }
                } else {
                    runClass = nil
                }
                if let runClass {
                    pos = start
                    while runClass(flagsAt(pos)) { pos += 1 }
                    ends.append(pos)
                    continue
                }
            } else {
                // `[^\r\n\p{L}\p{N}]?\p{L}+`: one optional non-letter, non-digit, non-newline, then letters.
                if !(isNewline(c) || f.contains(.number)), !f.isDisjoint(with: letters) || !flagsAt(pos + 1).isDisjoint(with: letters) {
                    pos += 1
                    while !flagsAt(pos).isDisjoint(with: letters) { pos += 1 }
                    ends.append(pos)
                    continue
                }
                // `\p{N}{1,3}` (llama3) or `\p{N}` (qwen).
                if f.contains(.number) {
                    if self == .llama3 {
                        var groupStart = pos
                        while flagsAt(pos).contains(.number) {
                            pos += 1
                            if pos - groupStart >= 3 {
                                ends.append(pos)
                                groupStart = pos
                            }
                        }
                        if ends.last != pos { ends.append(pos) }
                    } else {
                        pos += 1
                        ends.append(pos)
                    }
                    continue
                }
                // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                let start = c == 0x20 ? pos + 1 : pos
                if flagsAt(start).isDisjoint(with: notOther) {
                    pos = start
                    while flagsAt(pos).isDisjoint(with: notOther) && !flagsAt(pos).isEmpty { pos += 1 }
                    while isNewline(cpAt(pos)) { pos += 1 }
                    ends.append(pos)
                    continue
                }
            }
            // Whitespace: `\s*[\r\n]+` (not gpt2), then `\s+(?!\S)`, then `\s+`.
            var count = 0
            var afterLastNewline = 0
            while flagsAt(pos + count).contains(.whitespace) {
                if self != .gpt2 && isNewline(cps[pos + count]) { afterLastNewline = pos + count + 1 }
                count += 1
            }
            if afterLastNewline > 0 {
                pos = afterLastNewline
            } else if count > 1 && pos + count < hi {
                pos += count - 1 // leave the last space to start the next word
            } else if count > 0 {
                pos += count
            } else {
                pos += 1 // no alternative matches: the code point is a word of its own
            }
            ends.append(pos)
        }
    }

    /// Length of an English contraction (`'s 't 're 've 'm 'll 'd`) starting at `pos`, if any.
    private func contractionLength(_ cps: [UInt32], _ pos: Int, _ hi: Int, caseInsensitive: Bool) -> Int? {
        guard cps[pos] == 0x27, pos + 1 < hi else { return nil }
        @inline(__always) func lower(_ c: UInt32) -> UInt32 {
            caseInsensitive && (0x41...0x5A).contains(c) ? c + 0x20 : c
        }
        let next = lower(cps[pos + 1])
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 } // s t m d
        guard pos + 2 < hi else { return nil }
        let nextNext = lower(cps[pos + 2])
        if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65) || (next == 0x6C && nextNext == 0x6C) {
            return 3 // re ve ll
        }
        return nil
    }
}

/// Pre-tokenizers of byte-level BPE vocabularies: split text into words before BPE merges run
/// inside each word. Follows llama.cpp's `llm_tokenizer_bpe` (llama-vocab.cpp): each
/// `tokenizer.ggml.pre` value maps to a list of regexes applied one after another, each splitting
/// every chunk left by the previous one, and text between matches stays a chunk of its own
/// (`unicode_regex_split`). The regexes are implemented here as rules over code points — simple
/// ones (`\p{N}`, `[\p{P}$+<=>^~|]+`, `\s?\p{L}+`, `[0-9]{3}`, `\s+$`) generically, the big
/// word-splitting ones by `WordScanner` — with the leftmost-first semantics of std::regex.
struct PreTokenizer: Sendable {
    /// Everything a `tokenizer.ggml.pre` value selects in llama.cpp, besides the regexes.
    struct Configuration: Sendable {
        var preTokenizer: PreTokenizer
        /// `clean_spaces`: decoding removes the space before `?!.,'s'm're've` (llama.cpp's three passes).
        var cleansSpaces = true
        /// `ignore_merges`: a word that is itself a token is emitted whole, without running merges.
        var ignoresMerges = false
        /// The default of `add_bos_token` when the key is absent.
        var addsBOS = false
        /// The vocabulary has no BOS token whatever the metadata says (ChatGLM).
        var hasNoBOS = false
    }

    enum Rule: Sendable {
        /// Each code point of the class is a chunk of its own (`\p{N}`, `[\r\n]`).
        case isolate(CharacterClass)
        /// `P?B+` (optional one code point of `prefix`, then a run of `body`), e.g. `\s?\p{L}+`.
        case runs(prefix: CharacterClass?, body: CharacterClass)
        /// `[0-9][0-9][0-9]`: ASCII digits three by three, left to right.
        case asciiDigitTriples
        /// `\s+$`: the whitespace that ends a chunk.
        case trailingWhitespace
        case scanner(WordScanner)
    }

    let name: String
    let rules: [Rule]

    /// Splits `cps` (with their `flags`) into words; returns the exclusive end index of each word.
    func split(_ cps: [UInt32], _ flags: [CodepointFlags]) -> [Int] {
        var ends = cps.isEmpty ? [] : [cps.count]
        var next: [Int] = []
        for rule in rules {
            next.removeAll(keepingCapacity: true)
            next.reserveCapacity(ends.count * 2)
            var lo = 0
            for hi in ends {
                Self.apply(rule, cps, flags, lo, hi, into: &next)
                if next.last != hi { next.append(hi) } // text after the last match is a chunk too
                lo = hi
            }
            swap(&ends, &next)
        }
        return ends
    }

    /// Appends the ends of the matches of `rule` in `[lo, hi)` and of the text between them.
    private static func apply(_ rule: Rule, _ cps: [UInt32], _ flags: [CodepointFlags], _ lo: Int, _ hi: Int,
                              into ends: inout [Int]) {
        @inline(__always) func match(_ start: Int, _ end: Int) {
            if start > lo && ends.last != start { ends.append(start) } // the gap before the match
            ends.append(end)
        }
        switch rule {
        case let .scanner(scanner):
            scanner.split(cps, flags, lo, hi, into: &ends)
        case let .isolate(cls):
            for i in lo..<hi where cls.contains(cps[i], flags[i]) { match(i, i + 1) }
        case let .runs(prefix, body):
            var i = lo
            while i < hi {
                let start = i
                if let prefix, i + 1 < hi, prefix.contains(cps[i], flags[i]), body.contains(cps[i + 1], flags[i + 1]) {
                    i += 2
                } else if body.contains(cps[i], flags[i]) {
                    i += 1
                } else {
                    i += 1
                    continue
                }
                while i < hi && body.contains(cps[i], flags[i]) { i += 1 }
                match(start, i)
            }
        case .asciiDigitTriples:
            var i = lo
            while i + 3 <= hi {
                if cps[i..<i + 3].allSatisfy({ (0x30...0x39).contains($0) }) {
                    match(i, i + 3)
                    i += 3
                } else {
                    i += 1
                }
            }
        case .trailingWhitespace:
            var start = hi
            while start > lo && flags[start - 1].contains(.whitespace) { start -= 1 }
            if start < hi { match(start, hi) }
        }
    }
}

/// A set of code points as a regex character class sees it.
enum CharacterClass: Sendable {
    /// Any code point with one of `flags` (`\p{L}`, `\p{N}`, `\p{P}`, `\s`), or one of `extra`.
    case flags(CodepointFlags, extra: [UInt32] = [])
    /// Explicit code points, e.g. `[A-Za-zµÀ-Ö…]`. llama.cpp matches such classes with std::wregex
    /// on text whose non-ASCII whitespace was replaced by U+000B, so U+3000 is not in `[　-。]`.
    case ranges([ClosedRange<UInt32>])

    @inline(__always)
    func contains(_ cp: UInt32, _ flags: CodepointFlags) -> Bool {
        switch self {
        case let .flags(set, extra):
            return !flags.isDisjoint(with: set) || extra.contains(cp)
        case let .ranges(ranges):
            let seen = cp > 0x7F && flags.contains(.whitespace) ? 0x0B : cp
            return ranges.contains { $0.contains(seen) }
        }
    }

    /// Parses the inside of a bracket expression made of single code points and `a-b` ranges.
    init(bracket: String) {
        let scalars = Array(bracket.unicodeScalars)
        var ranges: [ClosedRange<UInt32>] = []
        var i = 0
        while i < scalars.count {
            if i + 2 < scalars.count, scalars[i + 1] == "-" {
                ranges.append(scalars[i].value...scalars[i + 2].value)
                i += 3
            } else {
                ranges.append(scalars[i].value...scalars[i].value)
                i += 1
            }
        }
        self = .ranges(ranges)
    }

    static let whitespace = CharacterClass.flags(.whitespace)
    static let number = CharacterClass.flags(.number)
    static let newline = CharacterClass.ranges([0x0A...0x0A, 0x0D...0x0D])
}

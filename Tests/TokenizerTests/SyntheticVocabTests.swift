import GGUF
import Testing
import Tokenizer

/// Behaviour pinned on tiny vocabularies built in code: merge order and tie-breaks, byte
/// fallback, special tokens, BOS/EOS/space prefix flags, decoding.
@Suite struct SyntheticVocabTests {
    // MARK: BPE

    /// Equal ranks (the same pair twice) merge leftmost first.
    @Test func bpeTieBreakIsLeftmost() throws {
        let t = try SyntheticVocab.bytePairs(tokens: ["a", "aa"], merges: ["a a"]).open()
        #expect(t.encode("aaa") == [1, 0])
        #expect(t.encode("aaaa") == [1, 1])
    }

    /// The lower rank (earlier merge line) wins, whatever its position.
    @Test func bpeMergesByRank() throws {
        let tokens = ["a", "b", "c", "ab", "bc"]
        #expect(try SyntheticVocab.bytePairs(tokens: tokens, merges: ["b c", "a b"]).open().encode("abc") == [0, 4])
        #expect(try SyntheticVocab.bytePairs(tokens: tokens, merges: ["a b", "b c"]).open().encode("abc") == [3, 2])
    }

    /// Merges never cross pre-tokenizer word boundaries; a byte without a token is dropped (as in llama.cpp).
    @Test func bpeStaysInsideWords() throws {
        let t = try SyntheticVocab.bytePairs(tokens: ["a", "Ġ", "Ġa", "aĠ"], merges: ["Ġ a", "a Ġ"]).open()
        #expect(t.encode("a a") == [0, 2])
        #expect(t.encode("a\u{1}a") == [0, 0]) // U+0001 has no token
    }

    /// Llama 3's `ignore_merges`: a word that is a token is taken whole even without a merge path.
    @Test func ignoreMergesTakesWholeWords() throws {
        let tokens = ["a", "b", "c", "ab", "abc"]
        #expect(try SyntheticVocab.bytePairs(pre: "gpt-2", tokens: tokens, merges: ["a b"]).open().encode("abc") == [3, 2])
        #expect(try SyntheticVocab.bytePairs(pre: "llama-bpe", tokens: tokens, merges: ["a b"]).open().encode("abc", addSpecial: false)
            == [4])
    }

    /// Control tokens split out only when parsing special tokens; user-defined ones always;
    /// overlapping texts: the longest first.
    @Test func specialTokensInText() throws {
        let tokens = ["<", ">", "x", "y", "|", "<x>", "<x>y", "<|u|>"]
        let types: [Int32] = [1, 1, 1, 1, 1, 3, 3, 4]
        let t = try SyntheticVocab.bytePairs(tokens: tokens, types: types, merges: []).open()
        #expect(t.encode("<x>y<x>") == [6, 5])
        #expect(t.encode("y<x>y", parseSpecial: false) == [3, 0, 2, 1, 3])
        #expect(t.encode("x<|u|>x", parseSpecial: false) == [2, 7, 2])
        #expect(t.decode([6, 5]) == "<x>y<x>" && t.decode([6, 5, 7], skipSpecial: true) == "<|u|>")
    }

    /// Tokens named like an end of turn become control tokens that end generation.
    @Test func endOfTurnFoundByName() throws {
        let t = try SyntheticVocab.bytePairs(tokens: ["a", "<|im_end|>", "<|im_start|>"], merges: []).open()
        #expect(t.isEndOfGeneration(1) && !t.isEndOfGeneration(0) && !t.isEndOfGeneration(2))
        #expect(t.eotID == 1)
        #expect(t.encode("a<|im_end|>") == [0, 1])
        #expect(t.encode("<|im_start|>") != [2]) // a normal token: not split from text
    }

    @Test func bpeDecodingCleansSpacesWhenTheVocabularyAsks() throws {
        let tokens = ["H", "i", "Ġ", "?", "'", "s", "Ġ,", "t"]
        let gpt2 = try SyntheticVocab.bytePairs(pre: "gpt-2", tokens: tokens, merges: []).open()
        #expect(gpt2.decode([0, 1, 2, 3]) == "Hi?")
        #expect(gpt2.decode([0, 6, 2, 4, 5]) == "H,'s")
        #expect(gpt2.decode([0, 2, 4, 7]) == "H 't")
        #expect(gpt2.decode([0, 2, 4, 2, 1]) == "H'i")
        let smollm = try SyntheticVocab.bytePairs(pre: "smollm", tokens: tokens, merges: []).open()
        #expect(smollm.decode([0, 1, 2, 3]) == "Hi ?")
    }

    // MARK: SentencePiece

    static let hello: [(String, Float)] = [("▁", -10), ("h", -10), ("e", -10), ("l", -10), ("o", -10),
                                           ("he", -1), ("ll", -2), ("hell", -3), ("llo", -4)]

    /// Highest score first: "he", then "ll", then "hell"; "llo" is stale by then.
    @Test func sentencePieceMergesByScore() throws {
        let t = try SyntheticVocab.sentencePiece(pieces: Self.hello).open()
        let id = { (piece: String) in Int32(259 + Self.hello.firstIndex { $0.0 == piece }!) }
        #expect(t.encode("hello") == [1, id("▁"), id("hell"), id("o")])
        // As llama_detokenize: the prefixed space is dropped from the first piece only, and not at
        // all once a leading BOS is skipped; without BOS the text comes back.
        #expect(t.decode(t.encode("hello")) == "<s> hello" && t.decode(t.encode("hello"), skipSpecial: true) == " hello")
        #expect(t.decode(t.encode("hello", addSpecial: false)) == "hello")
    }

    @Test func sentencePieceTieBreakIsLeftmost() throws {
        let t = try SyntheticVocab.sentencePiece(pieces: [("a", -5), ("b", -5), ("ab", -1), ("ba", -1)]).open()
        var v = SyntheticVocab.sentencePiece(pieces: [("a", -5), ("b", -5), ("ab", -1), ("ba", -1)])
        v.set("tokenizer.ggml.add_space_prefix", .bool(false))
        #expect(try v.open().encode("aba", addSpecial: false) == [261, 259])
        #expect(t.encode("aba", addSpecial: false).count == 5) // ▁ has no token: bytes E2 96 81, then ab, a
    }

    /// A token with `▁` inside a word ("a▁b") makes merges cross word starts: the text is then
    /// merged as a whole, as llama.cpp always does (otherwise word by word, with the same result).
    @Test func sentencePieceMergesAcrossWordsWhenTheVocabularyHasSuchTokens() throws {
        let pieces: [(String, Float)] = [("▁", -10), ("a", -10), ("b", -10), ("▁b", -2), ("a▁b", -1)]
        let t = try SyntheticVocab.sentencePiece(pieces: pieces).open()
        #expect(t.encode("a b", addSpecial: false) == [259, 263])
        let wordwise = try SyntheticVocab.sentencePiece(pieces: Array(pieces.prefix(4))).open()
        #expect(wordwise.encode("a b", addSpecial: false) == [259, 260, 262])
    }

    /// Characters without a token are written as their UTF-8 bytes, one `<0xNN>` token each.
    @Test func sentencePieceByteFallback() throws {
        let t = try SyntheticVocab.sentencePiece(pieces: [("▁", -1)]).open()
        let expected: [Int32] = [259, 3 + 0x78, 3 + 0xE2, 3 + 0x82, 3 + 0xAC]
        #expect(t.encode("x€", addSpecial: false) == expected)
        #expect(t.decode(t.encode("x€", addSpecial: false)) == "x€" && t.pieceBytes(3 + 0xE2) == [0xE2])
    }

    @Test func sentencePieceFlags() throws {
        var v = SyntheticVocab.sentencePiece(pieces: Self.hello, specials: [("<|user|>", 4)])
        v.set("tokenizer.ggml.add_eos_token", .bool(true))
        let t = try v.open()
        let ids = t.encode("<|user|>he")
        let user: Int32 = 259 + 9, space: Int32 = 259, he: Int32 = 259 + 5
        #expect(ids == [1, user, space, he, 2]) // BOS, user, "▁he" (space prefixed after a special token), EOS
        #expect(t.decode(ids) == "<s><|user|> he</s>" && t.decode(ids, skipSpecial: true) == "<|user|> he")

        var noPrefix = SyntheticVocab.sentencePiece(pieces: Self.hello)
        noPrefix.set("tokenizer.ggml.add_space_prefix", .bool(false))
        noPrefix.set("tokenizer.ggml.add_bos_token", .bool(false))
        #expect(try noPrefix.open().encode("he") == [he])
    }

    /// Phi-3 (by general.name) drops whitespace after its special tokens.
    @Test func phi3RightStrip() throws {
        var v = SyntheticVocab.sentencePiece(pieces: Self.hello, specials: [("<|user|>", 4)])
        v.set("general.name", .string("Phi3"))
        let t = try v.open()
        #expect(t.encode("<|user|>  \n he", addSpecial: false) == [259 + 9, 259, 259 + 5])
    }
}

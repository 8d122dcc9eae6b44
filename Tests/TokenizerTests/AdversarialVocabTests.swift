import GGUF
import Testing
import TestSupport
import Tokenizer

/// Broken or unsupported vocabulary metadata: each fails with its specific `TokenizerError`,
/// naming the key, merge or token at fault.
@Suite struct AdversarialVocabTests {
    static let tokens = ["a", "b", "ab", "Ġ"]
    static func valid() -> SyntheticVocab { .bytePairs(tokens: tokens, merges: ["a b"]) }

    @Test func validBaselineLoads() throws {
        #expect(try Self.valid().error() == nil)
        #expect(try Self.valid().open().encode("ab a") == [2, 3, 0])
    }

    @Test func missingKeys() throws {
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.merges"] {
            var v = Self.valid()
            v.writer = GGUFWriter()
            for (k, value) in Self.valid().writer.metadata where k != key { v.set(k, value) }
            #expect(try v.error() == .missingKey(key))
        }
    }

    @Test func wrongValueTypes() throws {
        let cases: [(String, GGUFValue, String)] = [
            ("tokenizer.ggml.model", .uint32(2), "string"),
            ("tokenizer.ggml.tokens", .array(.int32([1, 2])), "array of string"),
            ("tokenizer.ggml.tokens", .string("a b"), "array of string"),
            ("tokenizer.ggml.merges", .array(.uint8([1])), "array of string"),
            ("tokenizer.ggml.token_type", .array(.float32([1, 1, 1, 1])), "array of int32"),
            ("tokenizer.ggml.scores", .array(.string(["1", "2", "3", "4"])), "array of float32 or int32"),
            ("tokenizer.ggml.pre", .bool(true), "string"),
            ("tokenizer.ggml.add_bos_token", .string("yes"), "bool"),
            ("tokenizer.ggml.bos_token_id", .string("1"), "integer"),
            ("tokenizer.chat_template", .array(.string(["x"])), "string"),
        ]
        for (key, value, expected) in cases {
            var v = Self.valid()
            v.set(key, value)
            #expect(try v.error() == .wrongValueType(key: key, expected: expected, found: value.typeName), "\(key)")
        }
    }

    @Test func emptyAndShortArrays() throws {
        var empty = Self.valid()
        empty.set("tokenizer.ggml.tokens", .array(.string([])))
        #expect(try empty.error() == .emptyVocabulary)
        var short = Self.valid()
        short.set("tokenizer.ggml.token_type", .array(.int32([1, 1])))
        #expect(try short.error() == .arrayTooShort(key: "tokenizer.ggml.token_type", count: 2, tokenCount: 4))
        var shortScores = Self.valid()
        shortScores.set("tokenizer.ggml.scores", .array(.float32([0])))
        #expect(try shortScores.error() == .arrayTooShort(key: "tokenizer.ggml.scores", count: 1, tokenCount: 4))
    }

    @Test func badMerges() throws {
        let cases: [(String, TokenizerError)] = [
            ("a x", .unknownMergeToken(index: 1, merge: "a x", token: "x")),
            ("b a", .unknownMergeToken(index: 1, merge: "b a", token: "ba")),
            ("ab", .malformedMerge(index: 1, merge: "ab")),
            ("", .malformedMerge(index: 1, merge: "")),
        ]
        for (merge, expected) in cases {
            var v = Self.valid()
            v.set("tokenizer.ggml.merges", .array(.string(["a b", merge])))
            #expect(try v.error() == expected, "\(merge)")
        }
    }

    @Test func unsupportedModelsAndPreTokenizers() throws {
        for model in ["bert", "t5", "rwkv", "none", "gemma4", ""] {
            var v = Self.valid()
            v.set("tokenizer.ggml.model", .string(model))
            #expect(try v.error() == .unsupportedModel(model))
        }
        for pre in ["gpt-4o", "tekken", "bloom", "no-such-pre"] {
            var v = Self.valid()
            v.set("tokenizer.ggml.pre", .string(pre))
            #expect(try v.error() == .unsupportedPreTokenizer(pre))
        }
    }

    /// A GGUF that is not a vocabulary at all fails in the GGUF reader, before the tokenizer.
    @Test func notAGGUF() throws {
        let dir = TemporaryDirectory()
        #expect(throws: GGUFError.self) { try Tokenizer(path: dir.write("x.gguf", Array("not a gguf file at all".utf8))) }
        #expect(throws: GGUFError.self) { try Tokenizer(path: dir.file("missing.gguf")) }
    }

    /// llama.cpp's vocab-only GGUFs end right after the metadata, without padding.
    @Test func vocabOnlyFileWithoutPadding() throws {
        var bytes = Self.valid().writer.bytes()
        while bytes.last == 0 { bytes.removeLast() }
        let dir = TemporaryDirectory()
        #expect(try Tokenizer(path: dir.write("v.gguf", bytes)).vocabularySize == 4)
    }

    /// A special token id outside the vocabulary is refused with its key; -1 means "no token", as
    /// in llama.cpp; a default id past a small vocabulary is no token.
    @Test func outOfRangeSpecialIDs() throws {
        var v = Self.valid()
        v.set("tokenizer.ggml.bos_token_id", .uint32(99))
        #expect(throws: TokenizerError.specialTokenOutOfRange(key: "tokenizer.ggml.bos_token_id", id: 99, tokenCount: 4)) { try v.open() }
        v = Self.valid()
        v.set("tokenizer.ggml.eos_token_id", .int32(-1))
        let t = try v.open()
        #expect(t.bosID == nil && t.eosID == nil) // the gpt2 default 11 is past these 4 tokens too
    }
}

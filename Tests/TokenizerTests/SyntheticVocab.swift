import GGUF
import TestSupport
import Tokenizer

/// Tiny vocabularies built in code, written as GGUF and read back like a real model.
struct SyntheticVocab {
    var writer = GGUFWriter()

    /// A byte-level BPE vocabulary: `tokens` in the byte-level alphabet (`Ġ` for a space).
    static func bytePairs(pre: String? = "gpt-2", tokens: [String], types: [Int32]? = nil, merges: [String]) -> SyntheticVocab {
        var v = SyntheticVocab()
        v.set("tokenizer.ggml.model", .string("gpt2"))
        if let pre { v.set("tokenizer.ggml.pre", .string(pre)) }
        v.set("tokenizer.ggml.tokens", .array(.string(tokens)))
        v.set("tokenizer.ggml.token_type", .array(.int32(types ?? tokens.map { _ in 1 })))
        v.set("tokenizer.ggml.merges", .array(.string(merges)))
        return v
    }

    /// A SentencePiece vocabulary with `<unk>`, `<s>`, `</s>` and the 256 byte tokens first.
    static func sentencePiece(pieces: [(String, Float)], specials: [(String, Int32)] = []) -> SyntheticVocab {
        var tokens = ["<unk>", "<s>", "</s>"], scores: [Float] = [0, 0, 0], types: [Int32] = [2, 3, 3]
        for b in 0..<256 {
            tokens.append("<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">")
            scores.append(0)
            types.append(6)
        }
        for (piece, score) in pieces {
            tokens.append(piece)
            scores.append(score)
            types.append(1)
        }
        for (text, type) in specials {
            tokens.append(text)
            scores.append(0)
            types.append(type)
        }
        var v = SyntheticVocab()
        v.set("tokenizer.ggml.model", .string("llama"))
        v.set("tokenizer.ggml.tokens", .array(.string(tokens)))
        v.set("tokenizer.ggml.scores", .array(.float32(scores)))
        v.set("tokenizer.ggml.token_type", .array(.int32(types)))
        return v
    }

    mutating func set(_ key: String, _ value: GGUFValue) { writer.set(key, value) }

    func open() throws -> Tokenizer {
        let dir = TemporaryDirectory()
        return try Tokenizer(path: dir.write("vocab.gguf", writer.bytes()))
    }

    /// The error `Tokenizer(gguf:)` throws for this vocabulary, if any.
    func error() throws -> TokenizerError? {
        let dir = TemporaryDirectory()
        let file = try GGUFFile(path: dir.write("vocab.gguf", writer.bytes()))
        do {
            _ = try Tokenizer(gguf: file)
            return nil
        } catch {
            return error
        }
    }
}

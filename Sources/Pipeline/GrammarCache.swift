import Foundation
import Grammar
import Tokenizer

/// The executor's structured-output state that outlives a prompt: one token trie per vocabulary
/// (the tokens' bytes; control and end-of-generation tokens left out, the latter kept apart as
/// `endTokens`), and one `TokenMasker` per (vocabulary, response format), whose cached plans then
/// serve every later prompt and unit with that format.
final class GrammarCache: @unchecked Sendable {
    struct Vocabulary {
        let trie: TokenTrie
        let endTokens: [Int32]
    }

    private struct Key: Hashable {
        let tokenizer: ObjectIdentifier
        let format: ResponseFormat
    }

    private let lock = NSLock()
    private var vocabularies: [ObjectIdentifier: Vocabulary] = [:]
    private var maskers: [Key: TokenMasker] = [:]

    func vocabulary(_ tokenizer: Tokenizer) -> Vocabulary {
        lock.withLock {
            if let v = vocabularies[ObjectIdentifier(tokenizer)] { return v }
            let v = Self.makeVocabulary(tokenizer)
            vocabularies[ObjectIdentifier(tokenizer)] = v
            return v
        }
    }

    static func makeVocabulary(_ tokenizer: Tokenizer) -> Vocabulary {
        let ids = (0..<Int32(tokenizer.vocabularySize))
        let pieces = ids.map { id in tokenizer.isControl(id) || tokenizer.isEndOfGeneration(id) ? nil : tokenizer.pieceBytes(id) }
        return Vocabulary(trie: TokenTrie(pieces: pieces), endTokens: ids.filter(tokenizer.isEndOfGeneration))
    }

    /// The masker for `format` over `tokenizer`'s vocabulary (compiled on first use).
    func masker(_ format: ResponseFormat, tokenizer: Tokenizer, document: String) throws -> TokenMasker {
        let trie = vocabulary(tokenizer).trie
        let key = Key(tokenizer: ObjectIdentifier(tokenizer), format: format)
        return try lock.withLock {
            if let m = maskers[key] { return m }
            let grammar: Grammar
            do { grammar = try format.grammar() } catch {
                throw PipelineError.executorFailed(document: document, detail: "the response format does not compile: \(error)")
            }
            let m = TokenMasker(grammar: grammar, trie: trie)
            maskers[key] = m
            return m
        }
    }
}

extension ConstrainedDecoder {
    /// The tokens of the bytes the grammar forces now (at most `budget` of them), fed to the
    /// automaton: the caller appends them to the answer and to the next forward pass.
    mutating func takeForced(tokenizer: Tokenizer, budget: Int) -> [Int32] {
        let bytes = Self.wholeCharacters(plan().forced)
        guard !bytes.isEmpty, budget > 0 else { return [] }
        let tokens = Array(tokenizer.encode(String(decoding: bytes, as: UTF8.self), addSpecial: false, parseSpecial: false).prefix(budget))
        guard !tokens.isEmpty, accept(tokens.flatMap(tokenizer.pieceBytes)) else { return [] }
        return tokens
    }

    /// `bytes` cut after their last complete UTF-8 character (forced bytes may end inside one,
    /// where two enum values share a lead byte); the rest is left to the model.
    static func wholeCharacters(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        var i = bytes.count - 1
        while i >= 0, bytes[i] & 0xC0 == 0x80 { i -= 1 }
        if i >= 0, bytes[i] >= 0xC0 {
            let length = bytes[i] >= 0xF0 ? 4 : bytes[i] >= 0xE0 ? 3 : 2
            if bytes.count - i < length { end = i }
        }
        return Array(bytes[..<end])
    }
}

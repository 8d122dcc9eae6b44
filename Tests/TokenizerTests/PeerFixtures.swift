import Foundation
import Testing
import Tokenizer

/// The fixtures `tools/fixtures/make-tokenizer-fixtures.py` writes from llama.cpp (see that script).
struct PeerCase: Decodable {
    let text: String
    let ids: [Int32]
    let idsNoSpecial: [Int32]
    private let decoded: String?
    private let decodedHex: String?
    private let decodedSkipSpecial: String?
    private let decodedSkipSpecialHex: String?

    /// llama_detokenize of `ids` with special tokens rendered.
    var decodedBytes: [UInt8] { PeerFixtures.bytes(decoded, decodedHex) }
    /// llama_detokenize of `ids` with special tokens hidden and BOS/EOS removed.
    var decodedSkipSpecialBytes: [UInt8] { PeerFixtures.bytes(decodedSkipSpecial, decodedSkipSpecialHex) }
}

struct PeerDecoded: Decodable {
    private let decoded: String?
    private let decodedHex: String?
    var bytes: [UInt8] { PeerFixtures.bytes(decoded, decodedHex) }
}

struct SmolFixture: Decodable {
    let eog: [Int32]
    let cases: [PeerCase]
}

struct VocabsFixture: Decodable {
    let eog: [String: [Int32]]
    let cases: [String: [PeerCase]]
    let goldenDecoded: [String: [PeerDecoded]]
}

struct ReferenceCase: Decodable {
    let text: String
    let ids: [Int32]
}

enum PeerFixtures {
    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: TestAssets.fixture(name))
    }

    static func bytes(_ text: String?, _ hex: String?) -> [UInt8] {
        if let text { return Array(text.utf8) }
        guard let hex else { return [] }
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    static let vocabs = Result { try load(VocabsFixture.self, "llama-cpp-vocabs.json") }

    /// Compares ids for every case, decoding both ways, end-of-generation ids, and checks the
    /// round trip decode(encode(text)) == text wherever llama.cpp's own decoding gives the text back.
    static func check(_ tokenizer: Tokenizer, _ cases: [PeerCase], addSpecial: Bool, label: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        for c in cases {
            let where_ = "\(label) \(String(reflecting: c.text))"
            #expect(tokenizer.encode(c.text, addSpecial: addSpecial) == c.ids, "\(where_)", sourceLocation: sourceLocation)
            #expect(tokenizer.encode(c.text, addSpecial: addSpecial, parseSpecial: false) == c.idsNoSpecial,
                    "\(where_) without special tokens", sourceLocation: sourceLocation)
            #expect(tokenizer.decodeBytes(c.ids) == c.decodedBytes, "\(where_) decoded", sourceLocation: sourceLocation)
            #expect(tokenizer.decodeBytes(c.ids, skipSpecial: true) == c.decodedSkipSpecialBytes,
                    "\(where_) decoded without special tokens", sourceLocation: sourceLocation)
            if c.decodedBytes == Array(c.text.utf8) {
                #expect(tokenizer.decode(tokenizer.encode(c.text, addSpecial: false)) == c.text, "\(where_) round trip",
                        sourceLocation: sourceLocation)
            }
        }
    }

    static func endOfGenerationIDs(_ tokenizer: Tokenizer) -> [Int32] {
        (0..<Int32(tokenizer.vocabularySize)).filter(tokenizer.isEndOfGeneration)
    }
}

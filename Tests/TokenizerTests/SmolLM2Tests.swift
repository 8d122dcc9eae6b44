import Foundation
import Testing
import Tokenizer

/// SmolLM2-135M-Instruct (byte-level BPE, pre-tokenizer `smollm`, no BOS) against llama.cpp.
@Suite struct SmolLM2Tests {
    /// Tests/TokenizerTests/Fixtures/reference-tokenizer.json (a copy of the shared reference): `llama-tokenize -m MODEL -p TEXT --ids`.
    @Test func referenceCases() throws {
        let tokenizer = try TestAssets.smol()
        let cases = try PeerFixtures.load([ReferenceCase].self, "reference-tokenizer.json")
        #expect(cases.count == 10)
        for c in cases { #expect(tokenizer.encode(c.text) == c.ids, "\(String(reflecting: c.text))") }
    }

    /// Our own cases (tools/fixtures/make-tokenizer-fixtures.py): ids with and without special tokens,
    /// decoding with and without them, round trips.
    @Test func ownCases() throws {
        let tokenizer = try TestAssets.smol()
        let fixture = try PeerFixtures.load(SmolFixture.self, "smollm2-cases.json")
        #expect(fixture.cases.count >= 30)
        PeerFixtures.check(tokenizer, fixture.cases, addSpecial: true, label: "SmolLM2")
        #expect(PeerFixtures.endOfGenerationIDs(tokenizer) == fixture.eog)
    }

    @Test func metadata() throws {
        let tokenizer = try TestAssets.smol()
        #expect(tokenizer.vocabularySize == 49152)
        // As llama.cpp's print_info reports them: EOT is found by name and is <|endoftext|> here.
        #expect(tokenizer.bosID == 1 && tokenizer.eosID == 2 && tokenizer.eotID == 0)
        #expect(!tokenizer.addsBOS && !tokenizer.addsEOS)
        #expect(tokenizer.chatTemplate == .chatML(defaultSystemMessage: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
    }

    /// A character split over tokens: pieces are bytes, whole only once concatenated.
    @Test func piecesStreamBytes() throws {
        let tokenizer = try TestAssets.smol()
        let text = "🦅 <|im_end|> été"
        let ids = tokenizer.encode(text)
        let pieces = ids.map(tokenizer.pieceBytes)
        #expect(pieces.contains { String(validating: $0, as: UTF8.self) == nil }, "the eagle spans several tokens")
        #expect(pieces.flatMap { $0 } == Array(text.utf8))
        #expect(tokenizer.pieceBytes(-1).isEmpty && tokenizer.pieceBytes(Int32(tokenizer.vocabularySize)).isEmpty)
    }
}

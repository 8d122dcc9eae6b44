import Foundation
import Testing
import Tokenizer

/// llama.cpp's own tokenizer tests (`tests/test-tokenizer-0.cpp`) on its vocab-only GGUFs:
/// `ggml-vocab-<name>.gguf.inp` holds inputs separated by `\n__ggml_vocab_test__\n`, `.out` one
/// line of ids per input. Like test-tokenizer-0, inputs are tokenized without BOS/EOS
/// (`add_special = false`) and without parsing special tokens (`parse_special = false`);
/// duplicate inputs count once (it keeps them in a map).
@Suite struct GoldenVocabTests {
    struct Case {
        let text: String
        let ids: [Int32]
    }

    static func cases(_ name: String) throws -> [Case] {
        let base = "data/vocab/ggml-vocab-\(name).gguf"
        let input = try String(decoding: Data(contentsOf: URL(fileURLWithPath: TestAssets.require(base + ".inp"))), as: UTF8.self)
        let output = try String(decoding: Data(contentsOf: URL(fileURLWithPath: TestAssets.require(base + ".out"))), as: UTF8.self)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        var lines = output.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        try #require(texts.count == lines.count, "\(name): \(texts.count) inputs, \(lines.count) outputs")
        var seen = Set<String>()
        return zip(texts, lines).compactMap { text, line in
            guard seen.insert(text).inserted else { return nil }
            return Case(text: text, ids: line.split(separator: " ").compactMap { Int32($0) })
        }
    }

    static let supported = ["llama-spm", "phi-3", "llama-bpe", "qwen2", "qwen35", "gpt-2", "mpt", "starcoder", "refact",
                            "command-r", "falcon", "deepseek-coder", "deepseek-llm"]

    /// Ids of every golden input; decoding of every golden output as llama_detokenize gives it
    /// (special tokens rendered); the round trip where llama.cpp has one; end-of-generation ids;
    /// for some, our own cases too (tools/fixtures/make-tokenizer-fixtures.py).
    @Test(arguments: supported)
    func matchesLlamaCpp(vocab name: String) throws {
        let tokenizer = try TestAssets.vocab(name)
        let cases = try Self.cases(name)
        #expect(cases.count >= 40)
        #expect(cases.map(\.ids.count).reduce(0, +) > 300, "\(name): expected ids missing")
        var failures = 0
        for c in cases {
            let ids = tokenizer.encode(c.text, addSpecial: false, parseSpecial: false)
            if ids != c.ids {
                failures += 1
                Issue.record("\(name) \(String(reflecting: c.text)): got \(ids), expected \(c.ids)")
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(cases.count) cases differ")

        let fixture = try PeerFixtures.vocabs.get()
        let decoded = try #require(fixture.goldenDecoded[name])
        let outputs = try Self.outputs(name)
        try #require(decoded.count == outputs.count)
        var roundTrips = 0
        for ((text, ids), expected) in zip(outputs, decoded) {
            #expect(tokenizer.decodeBytes(ids) == expected.bytes, "\(name) decoding \(ids)")
            if expected.bytes == Array(text.utf8) {
                roundTrips += 1
                #expect(tokenizer.decode(tokenizer.encode(text, addSpecial: false, parseSpecial: false)) == text)
            }
        }
        #expect(roundTrips > 0)
        #expect(PeerFixtures.endOfGenerationIDs(tokenizer) == fixture.eog[name])
        if let own = fixture.cases[name] { PeerFixtures.check(tokenizer, own, addSpecial: false, label: name) }
    }

    /// Every (input, output) line pair, duplicates included (they align with the fixture).
    static func outputs(_ name: String) throws -> [(String, [Int32])] {
        let base = "data/vocab/ggml-vocab-\(name).gguf"
        let input = try String(decoding: Data(contentsOf: URL(fileURLWithPath: TestAssets.require(base + ".inp"))), as: UTF8.self)
        let output = try String(decoding: Data(contentsOf: URL(fileURLWithPath: TestAssets.require(base + ".out"))), as: UTF8.self)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).prefix(texts.count)
        return zip(texts, lines).map { ($0, $1.split(separator: " ").compactMap { Int32($0) }) }
    }

    /// Vocab files without golden files of their own, on our cases: gpt-neox and aquila (no
    /// `tokenizer.ggml.pre`: llama.cpp's default pre-tokenizer), baichuan (SentencePiece).
    @Test(arguments: ["gpt-neox", "aquila", "baichuan"])
    func ownCases(vocab name: String) throws {
        let tokenizer = try TestAssets.vocab(name)
        let fixture = try PeerFixtures.vocabs.get()
        let cases = try #require(fixture.cases[name])
        #expect(cases.count >= 30)
        PeerFixtures.check(tokenizer, cases, addSpecial: false, label: name)
        #expect(PeerFixtures.endOfGenerationIDs(tokenizer) == fixture.eog[name])
    }
}

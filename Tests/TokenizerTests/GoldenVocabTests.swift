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
    }
}

import Foundation
import Model
import Tensor
import Testing
import TestSupport
import Tokenizer

/// Speculation on the real model: greedy answers token-identical to plain dense decoding, for a
/// sample job's (document, prompt) and a needle. The full sets (every sample job pair, 26 needles)
/// run through `pipeline bench --speculate … --spec-cases` (FIDELITY.md, "Speculative decoding").
@Suite struct SpeculativeRealModelTests {
    @Test func greedyAnswersEqualPlainDecoding() throws {
        let model = try LlamaModel(path: try Paths.requireFile(Paths.realModel))
        let tokenizer = try Tokenizer(gguf: model.file)
        let context = ForwardContext(model: model, pool: ThreadPool(threadCount: 2), maxTokens: 512)
        let licence = try String(contentsOfFile: Paths.inPackage("data/docs/licences/Apache-2.0.txt"), encoding: .utf8)
        let needles = try JSONDecoder().decode([[String: JSONAny]].self,
                                               from: Data(contentsOf: URL(fileURLWithPath: Paths.inPackage("data/eval/kv-needles.json"))))
        let needle = try #require(needles.first?["prompt"]?.string)
        let prompts = [
            tokenizer.chatTemplate.render([ChatMessage(role: "user", content: String(licence.prefix(3000)) + "\n\nSummarize the licence in two sentences.")],
                                          addGenerationPrompt: true),
            needle,
        ]
        for (i, text) in prompts.enumerated() {
            let ids = tokenizer.encode(text, addSpecial: true, parseSpecial: true)
            let sequence = try model.makeSequence()
            try context.prefill(sequence, tokens: Array(ids.dropLast()), logits: false)
            let plain = try context.generate(sequence, prompt: [ids.last!], maxNewTokens: 24, sampler: SamplerParameters(),
                                             isEnd: tokenizer.isEndOfGeneration).tokens
            try sequence.truncate(to: ids.count - 1)
            let (spec, stats) = try context.generateSpeculatively(sequence, prompt: [ids.last!], maxNewTokens: 24, sampler: SamplerParameters(),
                                                                  draft: LookupDraft(), maxDraftTokens: 8, isEnd: tokenizer.isEndOfGeneration)
            #expect(spec.tokens == plain, "case \(i): \(tokenizer.decode(spec.tokens)) vs \(tokenizer.decode(plain))")
            #expect(stats.draftedTokenCount > 0, "case \(i): lookup drafted nothing")
        }
    }
}

/// Just enough JSON to read a string field of a needle file.
struct JSONAny: Decodable {
    let string: String?
    init(from decoder: Decoder) throws { string = try? decoder.singleValueContainer().decode(String.self) }
}

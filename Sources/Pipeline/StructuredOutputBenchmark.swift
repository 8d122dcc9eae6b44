import Foundation
import Grammar
import Model
import Tensor
import Tokenizer

/// The cost of constrained decoding on the real model (`pipeline bench-structured`): per schema,
/// the compile time (schema → grammar → masker) and, while decoding greedily at depth ~0 (a short
/// chat prompt, no document), each step's mask time (plan look-up or trie walk, plus masking the
/// logits) beside the step's forward time, in the same steps. Round 0 starts each schema with an
/// empty plan cache (cold: every new automaton state walks the trie); later rounds reuse it
/// (warm: what every answer after the first of a job sees). Rounds go over all schemas in turn.
public final class StructuredOutputBenchmark {
    public struct Row: Encodable, Sendable {
        public var schema: String
        public var round: Int
        public var compileMilliseconds: Double
        public var steps: Int
        public var forwardPasses: Int
        public var generatedTokens: Int
        public var forcedTokens: Int
        public var finishReason: String
        public var stepMillisecondsMedian: Double
        public var maskMicrosecondsMean: Double
        public var maskMicrosecondsMedian: Double
        public var maskMicrosecondsP99: Double
        /// Mean mask time over mean forward time of the same steps.
        public var maskShareOfStep: Double
    }

    let model: LlamaModel
    let tokenizer: Tokenizer
    let context: ForwardContext
    let grammars = GrammarCache()
    public let trieSeconds: Double
    public var trieNodeCount: Int { grammars.vocabulary(tokenizer).trie.nodeCount }

    public init(modelPath: String, threads: Int) throws {
        model = try LlamaModel(path: modelPath)
        tokenizer = try Tokenizer(gguf: model.file)
        context = ForwardContext(model: model, pool: ThreadPool(threadCount: threads), maxTokens: 512)
        let t0 = Self.now()
        _ = grammars.vocabulary(tokenizer)
        trieSeconds = Self.now() - t0
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Median compile time of `format` over `repetitions` (a fresh masker each time).
    public func compileSeconds(_ format: ResponseFormat, repetitions: Int = 5) throws -> Double {
        let trie = grammars.vocabulary(tokenizer).trie
        var times: [Double] = []
        for _ in 0..<repetitions {
            let t0 = Self.now()
            _ = TokenMasker(grammar: try format.grammar(), trie: trie)
            times.append(Self.now() - t0)
        }
        return times.sorted()[times.count / 2]
    }

    /// One greedy answer to `prompt` under `masker`.
    public func decode(name: String, round: Int, compileSeconds: Double, masker: TokenMasker, prompt: String,
                       maxNewTokens: Int) throws -> Row {
        let endTokens = grammars.vocabulary(tokenizer).endTokens
        let rendered = tokenizer.chatTemplate.render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
        let sequence = try model.makeSequence(format: .f16)
        var decoder = ConstrainedDecoder(masker: masker)
        var generated = decoder.takeForced(tokenizer: tokenizer, budget: maxNewTokens)
        var forced = generated.count
        var feed = tokenizer.encode(rendered, addSpecial: true, parseSpecial: true) + generated
        var maskTimes: [Double] = [], stepTimes: [Double] = []
        var scratch: [Float] = []
        var finish = "length"
        var passes = 0
        while true {
            let t0 = Self.now()
            let logits = try context.forward([ForwardRequest(sequence, tokens: feed)])[0].last
            let t1 = Self.now()
            passes += 1
            if feed.count < 8 { stepTimes.append(t1 - t0) } // decode steps only, not the prompt's prefill
            let plan = decoder.plan()
            plan.mask(logits, endTokens: endTokens, into: &scratch)
            maskTimes.append(Self.now() - t1)
            var best = 0
            for i in 1..<scratch.count where scratch[i] > scratch[best] { best = i }
            let token = Int32(best)
            if tokenizer.isEndOfGeneration(token) { finish = "stop"; break }
            guard decoder.accept(tokenizer.pieceBytes(token)) else { throw PipelineError.executorFailed(document: name, detail: "mask broke grammar") }
            generated.append(token)
            let more = decoder.takeForced(tokenizer: tokenizer, budget: maxNewTokens - generated.count)
            generated += more
            forced += more.count
            if decoder.isClosed { finish = "stop"; break }
            if generated.count >= maxNewTokens { break }
            feed = [token] + more
        }
        func median(_ x: [Double]) -> Double { x.isEmpty ? 0 : x.sorted()[x.count / 2] }
        func mean(_ x: [Double]) -> Double { x.isEmpty ? 0 : x.reduce(0, +) / Double(x.count) }
        let sortedMask = maskTimes.sorted()
        return Row(schema: name, round: round, compileMilliseconds: compileSeconds * 1e3, steps: maskTimes.count, forwardPasses: passes,
                   generatedTokens: generated.count, forcedTokens: forced, finishReason: finish,
                   stepMillisecondsMedian: median(stepTimes) * 1e3, maskMicrosecondsMean: mean(maskTimes) * 1e6,
                   maskMicrosecondsMedian: median(maskTimes) * 1e6,
                   maskMicrosecondsP99: sortedMask.isEmpty ? 0 : sortedMask[min(sortedMask.count - 1, sortedMask.count * 99 / 100)] * 1e6,
                   maskShareOfStep: mean(stepTimes) > 0 ? mean(maskTimes) / mean(stepTimes) : 0)
    }

    /// A masker with an empty plan cache (round 0 of a schema; later rounds reuse it, warm).
    public func freshMasker(_ format: ResponseFormat) throws -> TokenMasker {
        TokenMasker(grammar: try format.grammar(), trie: grammars.vocabulary(tokenizer).trie)
    }
}

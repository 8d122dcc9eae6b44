import Foundation
import Grammar
import Model
import Tokenizer

/// One decode step of one prompt, free or under its response format's grammar. Constrained:
/// the logits are masked to the tokens the grammar allows (end of generation only once the answer
/// is complete), the sampler draws from what is left, and the bytes the grammar then forces are
/// tokenized and appended with the drawn token — they ride in the same forward pass instead of
/// taking one each. An answer the grammar closes ends without asking the model for its end token.
extension ModelUnitExecutor.UnitRun {
    /// Resets the per-prompt state for prompt `k` of this unit, and works out the answer's
    /// forced opening (`{"` and the first key, for an object with a required property).
    func begin(prompt k: Int, grammars: GrammarCache, tokenizer: Tokenizer) throws {
        settings = work.spec.settings(ofPrompt: promptIndices[k])
        var parameters = SamplerParameters(temperature: Float(settings.temperature))
        parameters.seed = UInt64(truncatingIfNeeded: settings.seed &+ k)
        sampler = Sampler(parameters)
        (generated, prefillSeconds, decodeSeconds, stoppedAtEnd, finished, forcedTokenCount) = ([], 0, 0, false, false, 0)
        decoder = try settings.responseFormat.map {
            ConstrainedDecoder(masker: try grammars.masker($0, tokenizer: tokenizer, document: work.documentPath))
        }
        endTokens = decoder == nil ? [] : grammars.vocabulary(tokenizer).endTokens
        opening = []
        if var d = decoder {
            opening = appendForced(&d, tokenizer: tokenizer)
            decoder = d
            if d.isClosed { (stoppedAtEnd, finished) = (true, true) }
        }
    }

    /// Draws the next token from `logits`; returns the tokens to feed next (empty when the
    /// answer ended: end token drawn, grammar closed, or `maxNewTokens` reached — then
    /// `finished` is set).
    func step(_ logits: UnsafeBufferPointer<Float>, tokenizer: Tokenizer) throws -> [Int32] {
        guard var d = decoder else {
            let token = sampler.sample(logits, history: sequence.tokens[...])
            if tokenizer.isEndOfGeneration(token) { (stoppedAtEnd, finished) = (true, true); return [] }
            generated.append(token)
            if generated.count >= settings.maxNewTokens { finished = true }
            return [token]
        }
        let plan = d.plan()
        plan.mask(logits, endTokens: endTokens, into: &scratch)
        let token = scratch.withUnsafeBufferPointer { sampler.sample($0, history: sequence.tokens[...]) }
        guard scratch[Int(token)] > -.infinity else {
            throw PipelineError.executorFailed(document: work.documentPath,
                                               detail: "the response format's grammar allowed no token after \(generated.count) tokens")
        }
        if tokenizer.isEndOfGeneration(token) {
            (stoppedAtEnd, finished) = (true, true)
            decoder = d
            return []
        }
        guard d.accept(tokenizer.pieceBytes(token)) else {
            throw PipelineError.executorFailed(document: work.documentPath, detail: "a masked token broke the grammar")
        }
        generated.append(token)
        var feed = [token]
        if generated.count < settings.maxNewTokens { feed += appendForced(&d, tokenizer: tokenizer) }
        decoder = d
        if d.isClosed {
            (stoppedAtEnd, finished) = (true, true)
        } else if generated.count >= settings.maxNewTokens {
            finished = true
        }
        return feed
    }

    private func appendForced(_ d: inout ConstrainedDecoder, tokenizer: Tokenizer) -> [Int32] {
        let tokens = d.takeForced(tokenizer: tokenizer, budget: settings.maxNewTokens - generated.count)
        generated += tokens
        forcedTokenCount += tokens.count
        return tokens
    }

    /// The answer's text: constrained answers as their tokens' exact bytes (the tokenizer's
    /// decoding may clean spaces, which could change a string's content).
    func answerText(tokenizer: Tokenizer) -> String {
        decoder == nil ? tokenizer.decode(generated, skipSpecial: true)
            : String(decoding: generated.flatMap(tokenizer.pieceBytes), as: UTF8.self)
    }
}

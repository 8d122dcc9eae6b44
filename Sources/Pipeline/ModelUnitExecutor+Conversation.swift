import Foundation
import Tokenizer

/// Units of batch jobs (`BatchFile`): the document is a JSON list of leading chat messages, and
/// each prompt is the user's last message. The chat template renders the leading messages (the
/// shared prefix, prefilled once) and, after them, each question with the assistant header (the
/// tail). Message contents are tokenized as plain text — control-token text in them stays text —
/// and the template's own pieces with special tokens, as for ordinary units (`PromptParts`).
extension ModelUnitExecutor {
    func tokenizeConversation(_ work: UnitWork, engine: Engine) throws -> TokenizedUnit {
        let tokenizer = engine.tokenizer
        let messages: [ChatMessageRecord]
        do {
            messages = try JSONDecoder().decode([String: [ChatMessageRecord]].self, from: Data(work.documentText.utf8))["messages"] ?? []
        } catch {
            throw PipelineError.executorFailed(document: work.documentPath, detail: "not a batch document of leading messages: \(error)")
        }
        func marker(_ i: Int) -> String { "\u{1}PIPELINE-MESSAGE-\(i)\u{1}" }
        let marked = messages.enumerated().map { ChatMessage(role: $1.role, content: marker($0)) }
        let lead = tokenizer.chatTemplate.render(marked, addGenerationPrompt: false)
        let full = tokenizer.chatTemplate.render(marked + [ChatMessage(role: "user", content: PromptParts.promptMarker)],
                                                 addGenerationPrompt: true)
        guard full.hasPrefix(lead), let p = full.range(of: PromptParts.promptMarker) else {
            throw PipelineError.executorFailed(document: work.documentPath,
                                               detail: "the model's chat template does not render earlier messages as a prefix of later ones")
        }
        // The prefix: template pieces and message contents in turn.
        var prefix: [Int32] = []
        var rest = Substring(lead)
        for (i, m) in messages.enumerated() {
            let r = rest.range(of: marker(i))!
            prefix += tokenizer.encode(String(rest[..<r.lowerBound]), addSpecial: prefix.isEmpty, parseSpecial: true)
            prefix += tokenizer.encode(m.content, addSpecial: false, parseSpecial: false)
            rest = rest[r.upperBound...]
        }
        prefix += tokenizer.encode(String(rest), addSpecial: prefix.isEmpty && !rest.isEmpty, parseSpecial: true)
        let before = String(full[lead.endIndex..<p.lowerBound]), after = String(full[p.upperBound...])
        let indices = work.promptIndices
        let tails = indices.map { i in
            tokenizer.encode(before, addSpecial: prefix.isEmpty, parseSpecial: true)
                + tokenizer.encode(work.spec.prompts[i], addSpecial: false, parseSpecial: false)
                + tokenizer.encode(after, addSpecial: false, parseSpecial: true)
        }
        let maxNewTokens = indices.map { work.spec.settings(ofPrompt: $0).maxNewTokens }.max() ?? work.spec.maxNewTokens
        let limit = engine.model.config.contextLength - (tails.map(\.count).max() ?? 0) - maxNewTokens
        let (kept, truncation) = try work.spec.overflow.apply(to: prefix, limit: max(0, limit), documentPath: work.documentPath)
        return TokenizedUnit(tails: tails, promptIndices: indices, document: prefix, kept: kept, truncation: truncation, prefix: kept,
                             maxNewTokens: maxNewTokens)
    }
}

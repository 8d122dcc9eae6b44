/// Chat formats, chosen from the Jinja source in `tokenizer.chat_template` by its markers as
/// llama.cpp's `llm_chat_detect_template` does (no Jinja engine): ChatML (`<|im_start|>`, as in
/// SmolLM2 and Qwen2), Llama 3 (`<|start_header_id|>` … `<|end_header_id|>`), or raw text.
/// `render` produces what the model's own template renders, except that the BOS token is never
/// written: `Tokenizer.encode(_:addSpecial: true)` adds it when the model asks for one.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message; `<|im_start|>assistant\n` to prompt.
    /// When the first message is not a system one, templates such as SmolLM2's and Qwen2's insert a
    /// default system message first; it is read from the template source.
    case chatML(defaultSystemMessage: String?)
    /// `<|start_header_id|>role<|end_header_id|>\n\n` + trimmed content + `<|eot_id|>` per message.
    case llama3
    /// No template: the contents, concatenated.
    case raw

    public init(jinjaSource: String?) {
        guard let source = jinjaSource else {
            self = .raw
            return
        }
        if source == "chatml" || (source.contains("<|im_start|>") && !source.contains("<|im_sep|>") && !source.contains("<end_of_utterance>")) {
            self = .chatML(defaultSystemMessage: Self.defaultSystemMessage(in: source))
        } else if source == "llama3" || (source.contains("<|start_header_id|>") && source.contains("<|end_header_id|>")) {
            self = .llama3
        } else {
            self = .raw
        }
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case let .chatML(defaultSystemMessage):
            if let defaultSystemMessage, let first = messages.first, first.role != "system" {
                out += "<|im_start|>system\n\(defaultSystemMessage)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages {
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(Self.jinjaTrim(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .raw:
            for m in messages { out += m.content }
        }
        return out
    }

    /// The text of `{{ '<|im_start|>system\n…<|im_end|>\n' }}` inside `{% if loop.first and
    /// messages[0]['role'] != 'system' %}`, with Jinja string escapes resolved.
    static func defaultSystemMessage(in source: String) -> String? {
        guard let condition = source.firstRange(of: "messages[0]['role'] != 'system'"),
              let open = source[condition.upperBound...].firstRange(of: "<|im_start|>system"),
              let close = source[open.upperBound...].firstRange(of: "<|im_end|>") else { return nil }
        let literal = unescapeJinja(String(source[open.upperBound..<close.lowerBound]))
        return literal.hasPrefix("\n") ? String(literal.dropFirst()) : nil
    }

    /// Resolves the backslash escapes of a Jinja (Python) string literal: `\n`, `\t`, `\'`, `\"`, `\\`.
    static func unescapeJinja(_ s: String) -> String {
        var out = ""
        var escaping = false
        for ch in s {
            if escaping {
                switch ch {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                default: out.append(ch)
                }
                escaping = false
            } else if ch == "\\" {
                escaping = true
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// Jinja's `trim` filter: Python's `str.strip()`, which removes Unicode whitespace at both ends.
    static func jinjaTrim(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace && !isPythonSpace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace && !isPythonSpace($0) })!
        return String(scalars[first...last])
    }

    /// Code points Python's `str.isspace` counts beyond Unicode White_Space (the ASCII separators 0x1C–0x1F).
    private static func isPythonSpace(_ s: Unicode.Scalar) -> Bool { (0x1C...0x1F).contains(s.value) }
}

/// One message of a chat: `role` is `system`, `user` or `assistant` (any string is passed through).
public struct ChatMessage: Sendable, Equatable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

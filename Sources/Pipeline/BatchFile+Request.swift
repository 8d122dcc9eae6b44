// One line of an OpenAI batch file, validated; errors name the line (`file:N`) and the field.
import Foundation
import Grammar

extension BatchFile {
    struct Request {
        var customID: String
        var leading: [ChatMessageRecord]
        var question: String
        var maxTokens: Int?
        var temperature: Double?
        var seed: Int?
        var responseFormat: ResponseFormat?
        var model: String?

        init(line: Data, file: String) throws {
            let root: JSONValue
            do { root = try JSONValue.parse(line) } catch {
                throw PipelineError.jobFileNotJSON(file: file, detail: "the line is not JSON")
            }
            guard case .object(let object) = root else {
                throw PipelineError.jobFileNotJSON(file: file, detail: "the line is \(root.brief), not an object")
            }
            let fields = JobFields(file: file, object: object, prefix: "")
            try fields.rejectUnknown(allowed: ["body", "custom_id", "method", "url"])
            guard case .string(let id)? = object["custom_id"], (1...64).contains(id.count) else {
                throw fields.invalid("custom_id", expected: "a string of 1 to 64 characters", found: object["custom_id"]?.brief)
            }
            customID = id
            guard object["method"] == .string("POST") else { throw fields.invalid("method", expected: "\"POST\"", found: object["method"]?.brief) }
            guard object["url"] == .string("/v1/chat/completions") else {
                throw fields.invalid("url", expected: "\"/v1/chat/completions\" (the only endpoint served)", found: object["url"]?.brief)
            }
            guard case .object(let body)? = object["body"] else { throw fields.invalid("body", expected: "an object", found: object["body"]?.brief) }
            let b = JobFields(file: file, object: body, prefix: "body.")
            try b.rejectUnknown(allowed: BatchFile.bodyKeys)
            if let n = body["n"], n != .integer(1) { throw b.invalid("n", expected: "1 (one choice per request)", found: n.brief) }
            if let stream = body["stream"], stream != .bool(false) { throw b.invalid("stream", expected: "false", found: stream.brief) }
            let messages = try Self.messages(body["messages"], b)
            leading = Array(messages.dropLast())
            question = messages.last!.content
            if body["max_tokens"] != nil && body["max_completion_tokens"] != nil {
                throw b.invalid("max_completion_tokens", expected: "max_tokens or max_completion_tokens, not both", found: body["max_completion_tokens"]!.brief)
            }
            maxTokens = try b.integer("max_tokens", in: 1...8192) ?? b.integer("max_completion_tokens", in: 1...8192)
            temperature = try b.number("temperature", in: 0...2)
            seed = try b.integer("seed", in: 0...Int.max)
            responseFormat = try b.responseFormat("response_format")
            model = try b.optionalString("model", expected: "a model name")
        }

        static func messages(_ value: JSONValue?, _ b: JobFields) throws -> [ChatMessageRecord] {
            guard case .array(let items)? = value, !items.isEmpty else {
                throw b.invalid("messages", expected: "a non-empty array of messages", found: value?.brief)
            }
            return try items.enumerated().map { i, item in
                guard case .object(let m) = item else { throw b.invalid("messages[\(i)]", expected: "an object with role and content", found: item.brief) }
                let f = JobFields(file: b.file, object: m, prefix: b.prefix + "messages[\(i)].")
                try f.rejectUnknown(allowed: ["content", "name", "role"])
                guard case .string(var role)? = m["role"], BatchFile.roles.contains(role) else {
                    throw f.invalid("role", expected: "one of " + BatchFile.roles.map { "\"\($0)\"" }.joined(separator: ", "), found: m["role"]?.brief)
                }
                if role == "developer" { role = "system" }
                if i == items.count - 1, role != "user" {
                    throw f.invalid("role", expected: "\"user\": the last message is the question answered", found: m["role"]!.brief)
                }
                return ChatMessageRecord(role: role, content: try content(m["content"], f))
            }
        }

        /// A string, or an array of {"type": "text", "text"} parts (joined).
        static func content(_ value: JSONValue?, _ f: JobFields) throws -> String {
            switch value {
            case .string(let text)?: return text
            case .array(let parts)?:
                return try parts.enumerated().map { j, part in
                    guard case .object(let p) = part, p["type"] == .string("text"), case .string(let text)? = p["text"] else {
                        throw f.invalid("content[\(j)]", expected: "a text part {\"type\": \"text\", \"text\": ...}", found: part.brief)
                    }
                    return text
                }.joined(separator: "\n")
            default:
                throw f.invalid("content", expected: "a string or an array of text parts", found: value?.brief)
            }
        }
    }
}

// Prompts in a job file: a plain string, or an object {"text", "response_format"?,
// "max_new_tokens"?, "temperature"?, "seed"?} whose fields override the job's for that prompt.
import Foundation
import Grammar

extension JobSpec {
    static let promptFieldNames = ["max_new_tokens", "response_format", "seed", "temperature", "text"]

    static func parsePrompts(_ fields: JobFields, into spec: inout JobSpec) throws {
        let expected = "a non-empty array of prompts (each a string, or an object with \"text\")"
        guard let value = fields.object["prompts"] else { throw fields.invalid("prompts", expected: expected, found: nil) }
        guard case .array(let items) = value, !items.isEmpty else { throw fields.invalid("prompts", expected: expected, found: value.brief) }
        var options: [PromptOptions] = []
        for (index, item) in items.enumerated() {
            let key = "prompts[\(index)]"
            switch item {
            case .string(let text):
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw fields.invalid(key, expected: "a non-empty prompt", found: item.brief)
                }
                spec.prompts.append(text)
                options.append(PromptOptions())
            case .object(let object):
                let inner = JobFields(file: fields.file, object: object, prefix: fields.prefix + key + ".")
                try inner.rejectUnknown(allowed: promptFieldNames)
                guard case .string(let text)? = object["text"], !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw inner.invalid("text", expected: "a non-empty prompt", found: object["text"]?.brief)
                }
                spec.prompts.append(text)
                options.append(PromptOptions(responseFormat: try inner.responseFormat("response_format"),
                                             maxNewTokens: try inner.integer("max_new_tokens", in: 1...8192),
                                             temperature: try inner.number("temperature", in: 0...10),
                                             seed: try inner.integer("seed", in: 0...Int.max)))
            default:
                throw fields.invalid(key, expected: "a non-empty prompt (a string, or an object with \"text\")", found: item.brief)
            }
        }
        spec.promptOptions = options.allSatisfy(\.isEmpty) ? nil : options
    }
}

extension JobFields {
    /// An optional `response_format` object, its schema compiled to check it; errors name the path
    /// inside it (`response_format.json_schema.schema.properties.date.type`).
    func responseFormat(_ key: String) throws -> ResponseFormat? {
        guard let value = object[key] else { return nil }
        do {
            return try ResponseFormat.parse(value, path: prefix + key)
        } catch {
            throw error.pipelineError(file: file)
        }
    }
}

extension GrammarError {
    /// The job-file error for this response-format error (exit 65, naming the path).
    func pipelineError(file: String) -> PipelineError {
        switch self {
        case let .invalid(path, expected, found):
            return .invalidJobField(file: file, field: path, expected: expected, found: found)
        case let .unsupportedKeyword(path, keyword, supported):
            return .invalidJobField(file: file, field: path, expected: "a keyword of the supported JSON Schema subset: "
                                    + supported.joined(separator: ", "), found: "\"\(keyword)\"")
        }
    }
}

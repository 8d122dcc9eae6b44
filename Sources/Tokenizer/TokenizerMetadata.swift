import GGUF

/// Typed access to the `tokenizer.*` metadata of a GGUF, failing with a `TokenizerError` that
/// names the key. Key names are llama.cpp's (llama-arch.cpp `LLM_KV_TOKENIZER_*`).
struct TokenizerMetadata {
    enum Key {
        static let model = "tokenizer.ggml.model"
        static let pre = "tokenizer.ggml.pre"
        static let tokens = "tokenizer.ggml.tokens"
        static let tokenType = "tokenizer.ggml.token_type"
        static let scores = "tokenizer.ggml.scores"
        static let merges = "tokenizer.ggml.merges"
        static let addBOS = "tokenizer.ggml.add_bos_token"
        static let addEOS = "tokenizer.ggml.add_eos_token"
        static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
        static let chatTemplate = "tokenizer.chat_template"
        static let generalName = "general.name"
        static let architecture = "general.architecture"
    }

    let values: [String: GGUFValue]

    func string(_ key: String) throws(TokenizerError) -> String? {
        guard let v = values[key] else { return nil }
        guard case let .string(s) = v else { throw .wrongValueType(key: key, expected: "string", found: v.typeName) }
        return s
    }

    func bool(_ key: String) throws(TokenizerError) -> Bool? {
        guard let v = values[key] else { return nil }
        guard case let .bool(b) = v else { throw .wrongValueType(key: key, expected: "bool", found: v.typeName) }
        return b
    }

    func int(_ key: String) throws(TokenizerError) -> Int? {
        guard let v = values[key] else { return nil }
        guard let i = v.intValue else { throw .wrongValueType(key: key, expected: "integer", found: v.typeName) }
        return i
    }

    func strings(_ key: String) throws(TokenizerError) -> [String]? {
        guard let v = values[key] else { return nil }
        guard case let .array(.string(a)) = v else { throw .wrongValueType(key: key, expected: "array of string", found: v.typeName) }
        return a
    }

    /// A per-token array of `count` or more elements, read by `convert` (nil for the wrong element type).
    func perToken<T>(_ key: String, count: Int, expected: String, _ convert: (GGUFArray) -> [T]?) throws(TokenizerError) -> [T]? {
        guard let v = values[key] else { return nil }
        guard case let .array(a) = v, let elements = convert(a) else {
            throw .wrongValueType(key: key, expected: expected, found: v.typeName)
        }
        guard elements.count >= count else { throw .arrayTooShort(key: key, count: elements.count, tokenCount: count) }
        return elements
    }
}

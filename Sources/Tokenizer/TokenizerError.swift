/// Everything that can be wrong with a GGUF's vocabulary metadata. Each case names the key,
/// token or merge at fault so the CLI can print an actionable message.
public enum TokenizerError: Error, Equatable, Sendable {
    /// A required metadata key is absent (`tokenizer.ggml.model`, `tokenizer.ggml.tokens`, merges of a BPE vocabulary).
    case missingKey(String)
    /// A metadata key holds a value of another type than the one llama.cpp reads.
    case wrongValueType(key: String, expected: String, found: String)
    /// `tokenizer.ggml.tokens` is an empty array.
    case emptyVocabulary
    /// A per-token array (`scores`, `token_type`) has fewer entries than there are tokens.
    case arrayTooShort(key: String, count: Int, tokenCount: Int)
    /// `tokenizer.ggml.model` names a tokenizer this package does not implement (`bert`, `t5`, `rwkv`, …).
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this package does not implement.
    case unsupportedPreTokenizer(String)
    /// Merge number `index` is not of the form "left right".
    case malformedMerge(index: Int, merge: String)
    /// Merge number `index` names `token` (one of its halves or their concatenation), which is not in the vocabulary.
    case unknownMergeToken(index: Int, merge: String, token: String)
    /// A `tokenizer.ggml.*_token_id` key names an id outside the vocabulary (other than -1, "none").
    case specialTokenOutOfRange(key: String, id: Int, tokenCount: Int)
}

extension TokenizerError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .missingKey(key): "missing tokenizer metadata key \(key)"
        case let .wrongValueType(key, expected, found): "tokenizer metadata key \(key) is \(found), expected \(expected)"
        case .emptyVocabulary: "tokenizer.ggml.tokens is empty"
        case let .arrayTooShort(key, count, tokenCount): "\(key) has \(count) entries for \(tokenCount) tokens"
        case let .unsupportedModel(name):
            "unsupported tokenizer model '\(name)' (supported: gpt2 byte-level BPE, llama SentencePiece)"
        case let .unsupportedPreTokenizer(name): "unsupported pre-tokenizer '\(name)' (tokenizer.ggml.pre)"
        case let .malformedMerge(index, merge): "BPE merge #\(index) '\(merge)' is not of the form 'left right'"
        case let .unknownMergeToken(index, merge, token):
            "BPE merge #\(index) '\(merge)' names '\(token)', which is not in the vocabulary"
        case let .specialTokenOutOfRange(key, id, count): "\(key) is \(id), outside the vocabulary of \(count) tokens"
        }
    }
}

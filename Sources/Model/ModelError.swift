import GGUF
import KVCache

public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case invalidConfig(key: String, reason: String)
    case tensorShape(tensor: String, expected: [Int], found: [Int])
    case tensorType(tensor: String, type: String)
    case missingTensor(String)
    case file(GGUFError)
    case contextOverflow(tokens: Int, limit: Int)
    case invalidToken(Int32, vocabularySize: Int)
    case emptyPrompt
    /// One forward pass was given more token rows than its context holds buffers for.
    case batchTooLarge(tokens: Int, limit: Int)
    /// The KV cache failed (disk I/O, a corrupt spilled page, a format that cannot hold the model).
    case kvCache(KVCacheError)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(a): "unsupported model architecture \"\(a)\" (supported: llama, qwen2)"
        case let .invalidConfig(key, reason): "invalid model metadata \(key): \(reason)"
        case let .tensorShape(t, e, f): "tensor \(t) has shape \(f), expected \(e)"
        case let .tensorType(t, type): "tensor \(t) has type \(type), which cannot be used there"
        case let .missingTensor(t): "model is missing tensor \(t)"
        case let .file(e): e.description
        case let .contextOverflow(tokens, limit): "\(tokens) tokens exceed the model's context of \(limit)"
        case let .invalidToken(t, n): "token id \(t) is outside the vocabulary of \(n)"
        case .emptyPrompt: "the prompt has no tokens"
        case let .batchTooLarge(tokens, limit): "a forward pass of \(tokens) tokens exceeds the \(limit) rows of its buffers"
        case let .kvCache(e): e.description
        }
    }
}

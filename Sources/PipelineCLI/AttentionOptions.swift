import Attention

/// The decode-attention strategies the CLI can build by name. A name that is not implemented is
/// a usage error, never a silent fallback to another strategy.
func makeDecodeAttention(_ name: String) throws -> AttentionStrategy {
    switch name {
    case "dense": return DenseAttention()
    default: throw CLIFailure(.usage, "attention strategy \"\(name)\" is not implemented (available: dense)")
    }
}

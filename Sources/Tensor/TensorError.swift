import GGUF

/// Errors about tensors as the engine uses them (the file format's own errors are `GGUFError`).
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A weight matrix whose type has no kernel, or whose rows cannot be split into blocks.
    case unsupportedMatrix(tensor: String, type: String, rowLength: Int)

    public var description: String {
        switch self {
        case let .unsupportedMatrix(name, type, rowLength):
            "tensor \(name) (\(type), row length \(rowLength)) cannot be used as a weight matrix"
        }
    }
}

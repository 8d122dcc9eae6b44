/// Everything that can be wrong with a GGUF file. Each case names the key, tensor or offset at
/// fault so the CLI can print an actionable message.
public enum GGUFError: Error, Equatable, Sendable {
    case cannotOpen(path: String, reason: String)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    /// A read of `byteCount` bytes for `what` at `offset` would run past the end of the file.
    case truncated(what: String, offset: Int, byteCount: Int)
    /// A count read from the file cannot be right: it would need more bytes than the file has left.
    case countTooLarge(what: String, count: UInt64)
    case invalidUTF8(what: String, offset: Int)
    case unknownValueType(key: String, rawValue: UInt32)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badAlignment(UInt64)
    case unsupportedTensorType(tensor: String, type: String)
    case badDimensions(tensor: String, dimensions: [UInt64])
    case rowNotBlockAligned(tensor: String, rowLength: Int, blockSize: Int)
    case tensorMisaligned(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, offset: UInt64, byteCount: UInt64, dataByteCount: UInt64)
    case tensorsOverlap(String, String)
    case missingKey(String)
    case wrongValueType(key: String, expected: String, found: String)
    case missingTensor(String)
    case tensorShapeMismatch(tensor: String, expected: [Int], found: [Int])
}

extension GGUFError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open GGUF file \(path): \(reason)"
        case let .badMagic(found): "not a GGUF file (magic 0x\(String(found, radix: 16)), expected 0x46554747 \"GGUF\")"
        case let .unsupportedVersion(v): "unsupported GGUF version \(v) (supported: 2, 3)"
        case let .truncated(what, offset, count): "file truncated: \(what) needs \(count) bytes at offset \(offset)"
        case let .countTooLarge(what, count): "implausible \(what) count \(count): larger than the file"
        case let .invalidUTF8(what, offset): "\(what) at offset \(offset) is not valid UTF-8"
        case let .unknownValueType(key, raw): "metadata key \(key) has unknown value type \(raw)"
        case let .duplicateKey(key): "duplicate metadata key \(key)"
        case let .duplicateTensor(name): "duplicate tensor \(name)"
        case let .badAlignment(a): "general.alignment \(a) is not a power of two"
        case let .unsupportedTensorType(name, type): "tensor \(name) has unsupported type \(type)"
        case let .badDimensions(name, dims): "tensor \(name) has invalid dimensions \(dims)"
        case let .rowNotBlockAligned(name, row, block):
            "tensor \(name): row length \(row) is not a multiple of its block size \(block)"
        case let .tensorMisaligned(name, offset, a): "tensor \(name): data offset \(offset) is not aligned to \(a)"
        case let .tensorOutOfBounds(name, offset, count, size):
            "tensor \(name): data [\(offset), \(offset + count)) lies outside the data section of \(size) bytes"
        case let .tensorsOverlap(a, b): "tensors \(a) and \(b) overlap"
        case let .missingKey(key): "missing metadata key \(key)"
        case let .wrongValueType(key, expected, found): "metadata key \(key) is \(found), expected \(expected)"
        case let .missingTensor(name): "missing tensor \(name)"
        case let .tensorShapeMismatch(name, expected, found): "tensor \(name) has shape \(found), expected \(expected)"
        }
    }
}

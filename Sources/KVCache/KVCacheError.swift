#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of the KV store. A corrupt or mismatched page or snapshot is never used: the caller
/// recomputes the KV (prefill again) or fails the unit.
public enum KVCacheError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The format cannot hold this head dimension (int4 needs a multiple of 64, the others of 16).
    case unsupportedGeometry(format: KVFormat, headDim: Int)
    /// A file operation failed (`operation`: open, read, write, …; `code`: errno).
    case io(path: String, operation: String, code: Int32)
    /// A page read back from disk failed its checksum or could not be decoded.
    case corruptPage(path: String, layer: Int, kvHead: Int, page: Int, reason: String)
    /// A snapshot file is corrupt or truncated.
    case corruptSnapshot(path: String, reason: String)
    /// A snapshot file is intact but was made for another key (model, format, geometry or tokens).
    case snapshotMismatch(path: String, field: String)

    public var description: String {
        switch self {
        case let .unsupportedGeometry(format, hd):
            "KV format \(format.rawValue) cannot hold head dimension \(hd) (int4 needs a multiple of 64, f16 and int8 of 16)"
        case let .io(path, operation, code):
            "KV storage: \(operation) \(path) failed: \(String(cString: strerror(code)))"
        case let .corruptPage(path, layer, head, page, reason):
            "KV page (layer \(layer), head \(head), page \(page)) in \(path) is corrupt: \(reason)"
        case let .corruptSnapshot(path, reason): "KV snapshot \(path) is corrupt: \(reason)"
        case let .snapshotMismatch(path, field): "KV snapshot \(path) does not match the requested \(field)"
        }
    }
}

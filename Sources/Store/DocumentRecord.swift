import Foundation

/// A document as seen at submit time: its absolute path and, when it could be read then, the
/// SHA-256 of its bytes. The same path with other content is another document. `tokenCount` is
/// filled in by the first unit that tokenizes it.
public struct DocumentRecord: Codable, Hashable, Sendable {
    public var id: Int64?
    public var path: String
    /// Lowercase hex SHA-256 of the file's bytes; nil when it could not be read at submit time.
    public var contentHash: String?
    public var byteCount: Int?
    public var tokenCount: Int?

    enum CodingKeys: String, CodingKey {
        case id, path
        case contentHash = "content_hash", byteCount = "byte_count", tokenCount = "token_count"
    }

    public init(id: Int64? = nil, path: String, contentHash: String?, byteCount: Int?, tokenCount: Int? = nil) {
        self.id = id
        self.path = path
        self.contentHash = contentHash
        self.byteCount = byteCount
        self.tokenCount = tokenCount
    }
}

import CKernels

/// What a document snapshot is the KV of: the model (a digest of its file), the KV format and
/// geometry, and the exact token ids. A snapshot file stores all of it in its header and is used
/// only when every field matches; the file name is a hash of the key (`fileName`).
public struct KVSnapshotKey: Sendable, Equatable {
    /// A digest of the model file (e.g. XXH64 of the GGUF header and tensor infos; `LlamaModel.contentDigest`).
    public let modelDigest: UInt64
    public let format: KVFormat
    public let geometry: KVGeometry
    public let tokens: [Int32]

    public init(modelDigest: UInt64, format: KVFormat, geometry: KVGeometry, tokens: [Int32]) {
        self.modelDigest = modelDigest
        self.format = format
        self.geometry = geometry
        self.tokens = tokens
    }

    /// XXH64 of the token ids, seeded with the model digest, mixed with format and geometry.
    public var contentHash: UInt64 {
        let tokenHash = tokens.withUnsafeBytes { ck_xxh64($0.baseAddress, $0.count, modelDigest) }
        let fields: [UInt64] = [tokenHash, UInt64(format.pageCode), UInt64(geometry.layerCount), UInt64(geometry.kvHeadCount),
                                UInt64(geometry.headDim), UInt64(geometry.pageTokenCount), UInt64(tokens.count)]
        return fields.withUnsafeBytes { ck_xxh64($0.baseAddress, $0.count, 0) }
    }

    /// `<16 hex digits of contentHash>-<format>.kvsnap`
    public var fileName: String {
        let hex = String(contentHash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + "-\(format.rawValue).kvsnap"
    }
}

extension KVFormat {
    /// The format's number in snapshot headers.
    var pageCode: UInt8 {
        switch self {
        case .f16: 1
        case .int8: 2
        case .int4: 3
        }
    }

    init?(pageCode: UInt8) {
        guard let f = KVFormat.allCases.first(where: { $0.pageCode == pageCode }) else { return nil }
        self = f
    }
}

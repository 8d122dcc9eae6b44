/// GGUF, ggml's single-file model format (spec: ggml `docs/gguf.md`; reader: `gguf.cpp`).
///
/// Layout, all little-endian:
///
///     u32 magic "GGUF" | u32 version (2 or 3) | u64 tensor_count | u64 kv_count
///     kv_count × { string key | u32 value_type | value }          string = u64 byteCount + UTF-8
///        array value = u32 element_type | u64 count | count × element
///     tensor_count × { string name | u32 n_dims (≤ 4) | n_dims × u64 ne | u32 ggml_type | u64 offset }
///     padding to `general.alignment` (default 32)
///     data section: each tensor at `offset` from its start, aligned
///
/// `ne[0]` is the row length (contiguous elements); a 2-D weight `[ne0, ne1]` has `ne1` rows.
/// Every count, size and offset read from the file is checked against the bytes that remain
/// before anything is allocated or read, so a truncated or hostile file fails with a `GGUFError`.
/// This file knows nothing about models; `Model` interprets keys and tensors.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata in file order, and by key.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order, and by name.
    public let tensors: [GGUFTensorInfo]
    private let tensorIndex: [String: Int]
    public let alignment: Int
    /// Offset of the data section in the file.
    public let dataOffset: Int
    private let file: MappedFile

    public static let magic: UInt32 = 0x4655_4747 // "GGUF" read as a little-endian u32
    static let maxDimensions = 4

    public convenience init(path: String) throws(GGUFError) {
        try self.init(mapped: MappedFile(path: path))
    }

    public init(mapped file: MappedFile) throws(GGUFError) {
        self.file = file
        path = file.path
        var r = ByteReader(file.bytes)

        let magic = try r.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw .badMagic(found: magic) }
        version = try r.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        let tensorCount = try r.read(UInt64.self, "tensor count")
        let kvCount = try r.read(UInt64.self, "metadata count")
        // Each kv needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8 + 4 + 4 + 8.
        guard kvCount <= UInt64(r.remaining / 13) else { throw .countTooLarge(what: "metadata", count: kvCount) }
        guard tensorCount <= UInt64(r.remaining / 24) else { throw .countTooLarge(what: "tensor", count: tensorCount) }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let key = try r.readString("metadata key #\(i)")
            guard metadata[key] == nil else { throw .duplicateKey(key) }
            let rawType = try r.read(UInt32.self, "type of \(key)")
            metadata[key] = try Self.readValue(&r, rawType: rawType, key: key, depth: 0)
            keys.append(key)
        }
        self.keys = keys
        self.metadata = metadata

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case let .uint32(v) = a else {
                throw .wrongValueType(key: "general.alignment", expected: "uint32", found: a.typeName)
            }
            guard v > 0, v & (v - 1) == 0 else { throw .badAlignment(UInt64(v)) }
            alignment = Int(v)
        }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(Int(tensorCount))
        for i in 0..<Int(tensorCount) {
            let name = try r.readString("tensor name #\(i)")
            guard index[name] == nil else { throw .duplicateTensor(name) }
            let nDims = try r.read(UInt32.self, "dimension count of \(name)")
            guard nDims >= 1, nDims <= UInt32(Self.maxDimensions) else {
                throw .badDimensions(tensor: name, dimensions: Array(repeating: 0, count: Int(min(nDims, 8))))
            }
            let dims = try r.readArray(UInt64.self, count: Int(nDims), "dimensions of \(name)")
            let rawType = try r.read(UInt32.self, "type of \(name)")
            let offset = try r.read(UInt64.self, "offset of \(name)")
            infos.append(try GGUFTensorInfo(name: name, dims: dims, rawType: rawType, offset: offset, alignment: alignment))
            index[name] = i
        }

        // The data section starts at the next multiple of the alignment.
        let headerEnd = r.offset
        let (padded, overflow) = headerEnd.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw .truncated(what: "data section", offset: headerEnd, byteCount: alignment) }
        // A file without tensors (llama.cpp's vocab-only GGUFs) may end right after the header:
        // gguf.cpp only seeks past the padding when there are tensors.
        let dataOffset = infos.isEmpty ? min(padded / alignment * alignment, file.bytes.count) : padded / alignment * alignment
        guard dataOffset <= file.bytes.count else {
            throw .truncated(what: "padding before the data section", offset: headerEnd, byteCount: dataOffset - headerEnd)
        }
        self.dataOffset = dataOffset
        let dataByteCount = UInt64(file.bytes.count - dataOffset)
        for t in infos {
            let (end, overflow) = t.offset.addingReportingOverflow(UInt64(t.byteCount))
            guard !overflow, end <= dataByteCount else {
                throw .tensorOutOfBounds(tensor: t.name, offset: t.offset, byteCount: UInt64(t.byteCount), dataByteCount: dataByteCount)
            }
        }
        // No two tensors may share bytes.
        let byOffset = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.byteCount > 0 && a.offset + UInt64(a.byteCount) > b.offset {
            throw .tensorsOverlap(a.name, b.name)
        }
        tensors = infos
        tensorIndex = index
    }

    // MARK: - Metadata access

    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    public func requireInt(_ key: String) throws(GGUFError) -> Int {
        guard let v = metadata[key] else { throw .missingKey(key) }
        guard let i = v.intValue else { throw .wrongValueType(key: key, expected: "integer", found: v.typeName) }
        return i
    }

    public func int(_ key: String) throws(GGUFError) -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.intValue else { throw .wrongValueType(key: key, expected: "integer", found: v.typeName) }
        return i
    }

    public func double(_ key: String) throws(GGUFError) -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.doubleValue else { throw .wrongValueType(key: key, expected: "number", found: v.typeName) }
        return d
    }

    public func string(_ key: String) throws(GGUFError) -> String? {
        guard let v = metadata[key] else { return nil }
        guard let s = v.stringValue else { throw .wrongValueType(key: key, expected: "string", found: v.typeName) }
        return s
    }

    public func bool(_ key: String) throws(GGUFError) -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw .wrongValueType(key: key, expected: "bool", found: v.typeName) }
        return b
    }

    public func array(_ key: String) throws(GGUFError) -> GGUFArray? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(a) = v else { throw .wrongValueType(key: key, expected: "array", found: v.typeName) }
        return a
    }

    // MARK: - Tensor access

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor's bytes inside the mapping (valid as long as this file object lives; bounds
    /// were checked at open).
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + Int(tensor.offset)
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<start + tensor.byteCount])
    }

    /// Keeps the mapping alive for users that hold raw pointers into it.
    public var mapping: MappedFile { file }

    // MARK: - Value parsing

    private static func readValue(_ r: inout ByteReader, rawType: UInt32, key: String, depth: Int) throws(GGUFError) -> GGUFValue {
        switch rawType {
        case 0: return .uint8(try r.read(UInt8.self, key))
        case 1: return .int8(try r.read(Int8.self, key))
        case 2: return .uint16(try r.read(UInt16.self, key))
        case 3: return .int16(try r.read(Int16.self, key))
        case 4: return .uint32(try r.read(UInt32.self, key))
        case 5: return .int32(try r.read(Int32.self, key))
        case 6: return .float32(try r.readFloat(key))
        case 7:
            let b = try r.read(UInt8.self, key)
            return .bool(b != 0)
        case 8: return .string(try r.readString(key))
        case 9: return .array(try readArray(&r, key: key, depth: depth))
        case 10: return .uint64(try r.read(UInt64.self, key))
        case 11: return .int64(try r.read(Int64.self, key))
        case 12: return .float64(try r.readDouble(key))
        default: throw .unknownValueType(key: key, rawValue: rawType)
        }
    }

    private static func readArray(_ r: inout ByteReader, key: String, depth: Int) throws(GGUFError) -> GGUFArray {
        let elementType = try r.read(UInt32.self, "element type of \(key)")
        let count64 = try r.read(UInt64.self, "element count of \(key)")
        // Every element takes at least one byte (strings 8), so a count beyond the remaining bytes is a lie.
        guard count64 <= UInt64(r.remaining) else { throw .countTooLarge(what: "elements of \(key)", count: count64) }
        let count = Int(count64)
        switch elementType {
        case 0: return .uint8(try r.readArray(UInt8.self, count: count, key))
        case 1: return .int8(try r.readArray(Int8.self, count: count, key))
        case 2: return .uint16(try r.readArray(UInt16.self, count: count, key))
        case 3: return .int16(try r.readArray(Int16.self, count: count, key))
        case 4: return .uint32(try r.readArray(UInt32.self, count: count, key))
        case 5: return .int32(try r.readArray(Int32.self, count: count, key))
        case 6: return .float32(try r.readArray(UInt32.self, count: count, key).map(Float.init(bitPattern:)))
        case 7: return .bool(try r.readArray(UInt8.self, count: count, key).map { $0 != 0 })
        case 8:
            guard count64 <= UInt64(r.remaining / 8) else { throw .countTooLarge(what: "strings of \(key)", count: count64) }
            var out: [String] = []
            out.reserveCapacity(count)
            for i in 0..<count { out.append(try r.readString("\(key)[\(i)]")) }
            return .string(out)
        case 9:
            guard depth < 8 else { throw .unknownValueType(key: key, rawValue: elementType) }
            guard count64 <= UInt64(r.remaining / 12) else { throw .countTooLarge(what: "arrays of \(key)", count: count64) }
            var out: [GGUFArray] = []
            for _ in 0..<count { out.append(try readArray(&r, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try r.readArray(UInt64.self, count: count, key))
        case 11: return .int64(try r.readArray(Int64.self, count: count, key))
        case 12: return .float64(try r.readArray(UInt64.self, count: count, key).map(Double.init(bitPattern:)))
        default: throw .unknownValueType(key: key, rawValue: elementType)
        }
    }
}

/// One tensor's description from the header. Dimensions are ggml's `ne`: `dims[0]` is the row length.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let dims: [Int]
    public let rawType: UInt32
    /// Always a supported type: a file holding any other type fails to open, naming the tensor.
    public let type: GGMLType
    /// Offset from the start of the data section.
    public let offset: UInt64
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
    public var rowLength: Int { dims[0] }
    public var rowCount: Int { elementCount / dims[0] }

    init(name: String, dims raw: [UInt64], rawType: UInt32, offset: UInt64, alignment: Int) throws(GGUFError) {
        self.name = name
        self.rawType = rawType
        self.offset = offset
        // Each dimension ≥ 1 and the element count must fit comfortably in an Int.
        var count: UInt64 = 1
        for d in raw {
            guard d >= 1 else { throw .badDimensions(tensor: name, dimensions: raw) }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p < UInt64(Int.max / 16) else { throw .badDimensions(tensor: name, dimensions: raw) }
            count = p
        }
        dims = raw.map { Int($0) }
        guard offset % UInt64(alignment) == 0 else { throw .tensorMisaligned(tensor: name, offset: offset, alignment: alignment) }
        guard let type = GGMLType(rawValue: rawType), type.isSupported, let (blockSize, blockBytes) = type.blockGeometry else {
            throw .unsupportedTensorType(tensor: name, type: GGMLType.name(ofRawValue: rawType))
        }
        self.type = type
        guard dims[0] % blockSize == 0 else { throw .rowNotBlockAligned(tensor: name, rowLength: dims[0], blockSize: blockSize) }
        byteCount = Int(count) / blockSize * blockBytes
    }
}

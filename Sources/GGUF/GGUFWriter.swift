/// Writes GGUF files (version 3 by default, or 2): metadata in the given order, then tensor
/// infos, then aligned tensor data. Used by tests to build synthetic models and hostile files,
/// and by tools that produce small GGUFs; it is the exact inverse of `GGUFFile`.
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        public var type: GGMLType
        /// ggml `ne`: dims[0] is the row length.
        public var dims: [Int]
        /// Raw bytes in the type's block layout.
        public var data: [UInt8]
        public init(name: String, type: GGMLType, dims: [Int], data: [UInt8]) {
            self.name = name
            self.type = type
            self.dims = dims
            self.data = data
        }
    }

    public var version: UInt32 = 3
    public var alignment: Int = 32
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []

    public init(version: UInt32 = 3) { self.version = version }

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = value } else { metadata.append((key, value)) }
        if key == "general.alignment", case let .uint32(a) = value { alignment = Int(a) }
    }

    public mutating func add(_ tensor: Tensor) { tensors.append(tensor) }

    public mutating func addF32(_ name: String, dims: [Int], values: [Float]) {
        precondition(values.count == dims.reduce(1, *))
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        add(Tensor(name: name, type: .f32, dims: dims, data: bytes))
    }

    /// The whole file.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }

        u32(GGUFFile.magic)
        u32(version)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            str(key)
            Self.write(value, into: &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offset = (offset + alignment - 1) / alignment * alignment
            offsets.append(offset)
            offset += t.data.count
        }
        for (t, o) in zip(tensors, offsets) {
            str(t.name)
            u32(UInt32(t.dims.count))
            for d in t.dims { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(o))
        }
        let dataStart = (out.count + alignment - 1) / alignment * alignment
        out.append(contentsOf: repeatElement(0, count: dataStart - out.count))
        for (t, o) in zip(tensors, offsets) {
            out.append(contentsOf: repeatElement(0, count: dataStart + o - out.count))
            out.append(contentsOf: t.data)
        }
        return out
    }

    static func typeCode(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    static func typeCode(_ a: GGUFArray) -> UInt32 {
        switch a {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    static func write(_ v: GGUFValue, into out: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
        put(typeCode(v))
        switch v {
        case let .uint8(x): put(x)
        case let .int8(x): put(x)
        case let .uint16(x): put(x)
        case let .int16(x): put(x)
        case let .uint32(x): put(x)
        case let .int32(x): put(x)
        case let .uint64(x): put(x)
        case let .int64(x): put(x)
        case let .float32(x): put(x.bitPattern)
        case let .float64(x): put(x.bitPattern)
        case let .bool(x): put(UInt8(x ? 1 : 0))
        case let .string(s): put(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8))
        case let .array(a): writeArray(a, into: &out)
        }
    }

    static func writeArray(_ a: GGUFArray, into out: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) } }
        put(typeCode(a))
        put(UInt64(a.count))
        switch a {
        case let .uint8(xs): xs.forEach { put($0) }
        case let .int8(xs): xs.forEach { put($0) }
        case let .uint16(xs): xs.forEach { put($0) }
        case let .int16(xs): xs.forEach { put($0) }
        case let .uint32(xs): xs.forEach { put($0) }
        case let .int32(xs): xs.forEach { put($0) }
        case let .uint64(xs): xs.forEach { put($0) }
        case let .int64(xs): xs.forEach { put($0) }
        case let .float32(xs): xs.forEach { put($0.bitPattern) }
        case let .float64(xs): xs.forEach { put($0.bitPattern) }
        case let .bool(xs): xs.forEach { put(UInt8($0 ? 1 : 0)) }
        case let .string(xs): xs.forEach { put(UInt64($0.utf8.count)); out.append(contentsOf: Array($0.utf8)) }
        case let .array(xs): xs.forEach { writeArray($0, into: &out) }
        }
    }
}

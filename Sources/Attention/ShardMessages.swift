/// The messages between the DA-TOP-k coordinator and its KV shards: plain values, encoded as
/// bytes so a shard could live in another process or on another machine. Per (query, KV head)
/// and step there are two round trips, each O(k′) bytes, independent of the context length:
///
///   1. `SelectRequest` (query rows, dense-part maxima, budgets) → `SelectReply`: the shard's
///      local top-k′ of every query row (`TopKRule`): positions and exact logits per row;
///   2. `AttendRequest` (each row's global k-th largest logit) → `AttendReply`: the partial
///      softmax state (m, l, acc per query row) over its keys that pass those thresholds.
///
/// Encoding: little-endian, Int32 and Float32 fields in declaration order, arrays prefixed by
/// their Int32 count.
enum ShardMessage {
    struct SelectRequest: Equatable {
        /// Names the (query, KV head) unit; echoed in every reply and in round 2.
        var ticket: Int32
        var layer: Int32
        var kvHead: Int32
        var sinks: Int32
        var sparseEnd: Int32
        var buckets: Int32
        var bucketKeep: Int32
        /// k′: keys to return (≥ the global k, so the union holds the global top-k).
        var keep: Int32
        /// Query rows `[group][headDim]`, pre-scaled.
        var rows: [Float]
        /// Per row, the maximum logit of the coordinator's dense part.
        var reference: [Float]
    }

    struct SelectReply: Equatable {
        var ticket: Int32
        var positions: [Int32]
        /// Exact logits `[group][positions.count]`.
        var scores: [Float]
    }

    struct AttendRequest: Equatable {
        var ticket: Int32
        /// Per query row, the k-th largest logit over all shards' replies.
        var thresholds: [Float]
    }

    struct AttendReply: Equatable {
        var ticket: Int32
        var m: [Float]
        var l: [Float]
        var acc: [Float]
    }

    enum DecodingError: Error, Equatable { case truncated, trailingBytes }
}

/// Appends fields to a byte buffer.
struct MessageWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func int(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func floats(_ v: [Float]) {
        #if _endian(little)
        wireOrder(v)
        #else
        ints(v.map { Int32(bitPattern: $0.bitPattern) })
        #endif
    }
    mutating func ints(_ v: [Int32]) {
        #if _endian(little)
        wireOrder(v)
        #else
        int(Int32(v.count))
        for x in v { int(x) }
        #endif
    }
    #if _endian(little)
    /// A count-prefixed array of 4-byte fields, appended as they are (already the wire order).
    private mutating func wireOrder<Element: BitwiseCopyable>(_ v: [Element]) {
        int(Int32(v.count))
        v.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    #endif
}

/// Reads fields back; every read checks the bytes left.
struct MessageReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func int() throws(ShardMessage.DecodingError) -> Int32 {
        guard offset + 4 <= bytes.count else { throw .truncated }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return Int32(bitPattern: v)
    }
    mutating func floats() throws(ShardMessage.DecodingError) -> [Float] {
        #if _endian(little)
        try wireOrder(Float.self) // already the host's
        #else
        try ints().map { Float(bitPattern: UInt32(bitPattern: $0)) }
        #endif
    }
    mutating func ints() throws(ShardMessage.DecodingError) -> [Int32] {
        #if _endian(little)
        try wireOrder(Int32.self)
        #else
        let n = Int(try int())
        guard n >= 0, offset + 4 * n <= bytes.count else { throw .truncated }
        var out: [Int32] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try int()) }
        return out
        #endif
    }
    #if _endian(little)
    /// A count-prefixed array of 4-byte fields, copied as they are.
    private mutating func wireOrder<Element: BitwiseCopyable>(_: Element.Type) throws(ShardMessage.DecodingError) -> [Element] {
        let n = Int(try int())
        guard n >= 0, offset + 4 * n <= bytes.count else { throw .truncated }
        let out = [Element](unsafeUninitializedCapacity: n) { buffer, count in
            bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + 4 * n)])) }
            count = n
        }
        offset += 4 * n
        return out
    }
    #endif
    func end() throws(ShardMessage.DecodingError) { if offset != bytes.count { throw .trailingBytes } }
}

extension ShardMessage.SelectRequest {
    func encoded() -> [UInt8] {
        var w = MessageWriter(capacity: 40 + 4 * (rows.count + reference.count))
        for v in [ticket, layer, kvHead, sinks, sparseEnd, buckets, bucketKeep, keep] { w.int(v) }
        w.floats(rows)
        w.floats(reference)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(ShardMessage.DecodingError) {
        var r = MessageReader(bytes)
        self.init(ticket: try r.int(), layer: try r.int(), kvHead: try r.int(), sinks: try r.int(), sparseEnd: try r.int(),
                  buckets: try r.int(), bucketKeep: try r.int(), keep: try r.int(), rows: try r.floats(), reference: try r.floats())
        try r.end()
    }
}

extension ShardMessage.SelectReply {
    func encoded() -> [UInt8] {
        var w = MessageWriter(capacity: 12 + 4 * (positions.count + scores.count))
        w.int(ticket)
        w.ints(positions)
        w.floats(scores)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(ShardMessage.DecodingError) {
        var r = MessageReader(bytes)
        self.init(ticket: try r.int(), positions: try r.ints(), scores: try r.floats())
        try r.end()
    }
}

extension ShardMessage.AttendRequest {
    func encoded() -> [UInt8] {
        var w = MessageWriter(capacity: 8 + 4 * thresholds.count)
        w.int(ticket)
        w.floats(thresholds)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(ShardMessage.DecodingError) {
        var r = MessageReader(bytes)
        self.init(ticket: try r.int(), thresholds: try r.floats())
        try r.end()
    }
}

extension ShardMessage.AttendReply {
    func encoded() -> [UInt8] {
        var w = MessageWriter(capacity: 16 + 4 * (m.count + l.count + acc.count))
        w.int(ticket)
        w.floats(m)
        w.floats(l)
        w.floats(acc)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(ShardMessage.DecodingError) {
        var r = MessageReader(bytes)
        self.init(ticket: try r.int(), m: try r.floats(), l: try r.floats(), acc: try r.floats())
        try r.end()
    }
}

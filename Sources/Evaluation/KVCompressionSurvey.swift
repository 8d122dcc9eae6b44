@_spi(Evaluation) import KVCache

/// How well LZ4PageCodec compresses a cache's sealed pages under each filter, for whole pages (what
/// the codec stores) and for their key and value regions apart: the measurement behind
/// `LZ4PageCodec.filter(for:)` and the compression report (docs/kv-cache.md).
public struct KVCompressionSurvey: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        public var kind: String
        /// "page", "keys" or "values".
        public var region: String
        public var filter: String
        public var pages = 0
        public var rawBytes = 0
        /// Bytes LZ4 stores (a region LZ4 cannot shrink counts at its raw size, as the codec stores it).
        public var storedBytes = 0
        public var ratio: Double { storedBytes > 0 ? Double(rawBytes) / Double(storedBytes) : 1 }
    }

    public var rows: [Row] = []

    public init() {}

    mutating func add(kind: KVPageKind, region: String, filter: LZ4PageCodec.Filter, raw: Int, stored: Int) {
        let name = "\(kind)", f = "\(filter)"
        if let i = rows.firstIndex(where: { $0.kind == name && $0.region == region && $0.filter == f }) {
            rows[i].pages += 1
            rows[i].rawBytes += raw
            rows[i].storedBytes += stored
        } else {
            rows.append(Row(kind: name, region: region, filter: f, pages: 1, rawBytes: raw, storedBytes: stored))
        }
    }

    public mutating func merge(_ other: KVCompressionSurvey) {
        for r in other.rows {
            if let i = rows.firstIndex(where: { $0.kind == r.kind && $0.region == r.region && $0.filter == r.filter }) {
                rows[i].pages += r.pages
                rows[i].rawBytes += r.rawBytes
                rows[i].storedBytes += r.storedBytes
            } else {
                rows.append(r)
            }
        }
    }
}

extension PagedKVCache {
    /// Surveys every sealed page in RAM (a cache without a budget holds them all).
    public func surveyCompression() -> KVCompressionSurvey {
        var survey = KVCompressionSurvey()
        forEachResidentSealedPage { kind, memory, n in
            let split = kind.valuesOffset(headDim: geometry.headDim)
            for filter in LZ4PageCodec.Filter.allCases {
                survey.add(kind: kind, region: "page", filter: filter, raw: n,
                           stored: storedByteCount(memory, byteCount: n, filter: filter))
                survey.add(kind: kind, region: "keys", filter: filter, raw: split,
                           stored: storedByteCount(memory, byteCount: split, filter: filter))
                survey.add(kind: kind, region: "values", filter: filter, raw: n - split,
                           stored: storedByteCount(memory + split, byteCount: n - split, filter: filter))
            }
        }
        return survey
    }
}

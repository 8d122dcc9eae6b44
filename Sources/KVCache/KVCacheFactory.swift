/// How a sequence gets its KV cache. The model knows the geometry (layers, KV heads, head size);
/// the caller chooses the implementation, the format and the memory budget. `Model` builds every
/// sequence's cache through one of these, so a new cache implementation needs no change there.
public struct KVCacheFactory {
    public let format: KVFormat
    private let make: (KVGeometry) throws(KVCacheError) -> KVCache

    public init(format: KVFormat, make: @escaping (KVGeometry) throws(KVCacheError) -> KVCache) {
        self.format = format
        self.make = make
    }

    /// A `PagedKVCache` in `format`, under `budget` when given (pages beyond it spill to the
    /// budget's folder).
    public static func paged(_ format: KVFormat = .f16, budget: KVMemoryBudget? = nil) -> KVCacheFactory {
        KVCacheFactory(format: format) { geometry throws(KVCacheError) in
            try PagedKVCache(format: format, geometry: geometry, budget: budget)
        }
    }

    public func makeCache(geometry: KVGeometry) throws(KVCacheError) -> KVCache { try make(geometry) }
}

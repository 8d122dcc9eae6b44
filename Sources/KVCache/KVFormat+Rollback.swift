extension KVFormat {
    /// How many tokens may be appended to a `PagedKVCache` of this format holding `tokenCount`
    /// tokens, then rolled back in part, so that every token kept is stored exactly as token-by-
    /// token appends would have stored it (at least 1). f16 and int8 store each token as it comes
    /// (int8 per token), so any number; int4 quantizes a page once it leaves the f16 recent window,
    /// and a commit past that boundary would quantize a page that a rollback cannot restore, and
    /// that single-token appends would still read as f16 until the boundary is reached.
    public func rollbackSafeAppendCount(after tokenCount: Int, pageTokenCount pt: Int) -> Int {
        guard self == .int4 else { return Int.max }
        // The next commit count that seals a page: (count − window) reaches a multiple of pt.
        let window = PagedKVCache.int4WindowTokenCount
        let sealed = max(0, tokenCount - window) / pt
        let boundary = window + (sealed + 1) * pt
        return max(1, boundary - 1 - tokenCount)
    }
}

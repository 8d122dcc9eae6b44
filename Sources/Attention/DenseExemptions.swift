/// What every sparse strategy keeps dense (Quest, StreamingLLM, MagicPIG: docs/architecture.md, "Papers"): the first layers (Quest keeps 2;
/// MagicPIG keeps layer 0 and one in the middle), the attention-sink tokens at the start
/// (StreamingLLM, MagicPIG: 4) and a recent window (MagicPIG: 64). The dense part is attended
/// exactly and merged with the sparse part through log-sum-exp.
///
/// The window is rounded up to whole pages: the sparse range of a query that sees `visible`
/// tokens is [sinks, end) with `end` the last page boundary at or before `visible − window`, so
/// between `window` and `window + 63` recent tokens are dense, and an index over the sparse range
/// grows one page at a time.
public struct DenseExemptions: Sendable, Equatable, Codable {
    /// Layers `0..<denseLayerCount` are attended densely.
    public var denseLayerCount: Int
    /// Tokens `0..<sinkTokenCount` (at most one page) are always attended.
    public var sinkTokenCount: Int
    /// At least this many of the newest tokens are always attended. Default 256: on SmolLM2 at
    /// 4–5K tokens it halves topk's mean KL against dense at k = 128 (0.0099 → 0.0048, FIDELITY.md)
    /// for 192 more keys read densely per head.
    public var windowTokenCount: Int

    public init(denseLayerCount: Int = 2, sinkTokenCount: Int = 4, windowTokenCount: Int = 256) {
        precondition(denseLayerCount >= 0 && windowTokenCount >= 1 && (0...64).contains(sinkTokenCount))
        self.denseLayerCount = denseLayerCount
        self.sinkTokenCount = sinkTokenCount
        self.windowTokenCount = windowTokenCount
    }

    /// End of the sparse range (a multiple of `pageTokenCount`) for a query seeing `visible` tokens.
    public func sparseEnd(visible: Int, pageTokenCount: Int) -> Int {
        max(0, visible - windowTokenCount) / pageTokenCount * pageTokenCount
    }

    var parameterDescription: String { "sinks=\(sinkTokenCount),window=\(windowTokenCount),dense_layers=\(denseLayerCount)" }
}

/// How one query splits its visible tokens: dense pages (sinks, window) and the sparse range.
struct SparsePlan {
    let visible: Int
    /// Tokens [sinks, sparseEnd) are the sparse strategy's (none when sparseEnd is 0); the rest is dense.
    let sinks: Int
    let sparseEnd: Int

    init(visible: Int, exemptions: DenseExemptions, pageTokenCount pt: Int) {
        self.visible = visible
        sinks = min(exemptions.sinkTokenCount, visible)
        let end = exemptions.sparseEnd(visible: visible, pageTokenCount: pt)
        sparseEnd = end > sinks ? end : 0 // no sparse range: everything is dense
    }

    var sparseTokenCount: Int { max(0, sparseEnd - sinks) }
    var sparsePageCount: Int { sparseEnd / 64 }

    /// Dense (page, token count) pieces: the sinks at the start of page 0, then the window pages.
    func densePieces(pageTokenCount pt: Int) -> [(page: Int, count: Int)] {
        var pieces: [(page: Int, count: Int)] = []
        if sinks > 0 && sparseEnd > 0 { pieces.append((0, sinks)) }
        var p = sparseEnd / pt
        while p * pt < visible {
            pieces.append((p, min(pt, visible - p * pt)))
            p += 1
        }
        return pieces
    }
}

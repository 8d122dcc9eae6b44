import Attention
import CKernels
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor

/// Many long documents decoded together under one KV memory budget (FlexGen's regime): each
/// document is prefilled into its own cache, all caches share the budget (sealed pages beyond it
/// spill to disk), then every document decodes `decodeTokens` greedy tokens in batched steps —
/// one forward pass per step for all sequences, so each step reads every cache once, paging
/// spilled pages back in layer by layer.
public struct DocumentBatchBenchmark {
    public struct Document: Sendable {
        public let name: String
        public let tokens: [Int32]
        public init(name: String, tokens: [Int32]) { self.name = name; self.tokens = tokens }
    }

    public struct Result: Codable, Sendable {
        public var format: String
        public var documents = 0
        public var documentTokens: [Int] = []
        public var budgetBytes: Int?
        /// KV bytes of all documents' pages (the memory they would take without a budget).
        public var totalKVBytes = 0
        /// The most KV bytes resident at once, across all caches.
        public var peakResidentKVBytes = 0
        /// Bytes in spill files at the end, pages written and read back, raw / stored bytes written.
        public var spilledBytes = 0
        public var pageWrites = 0
        public var pageReads = 0
        /// Of `pageReads`, those during the decode steps (a selecting strategy loads only its pages),
        /// and of those, the first step's (where a sparse strategy builds its index over every page).
        public var decodePageReads = 0
        public var firstDecodeStepPageReads = 0
        public var compressionRatio = 1.0
        public var prefillSeconds = 0.0
        public var decodeSeconds = 0.0
        public var decodeSteps = 0
        /// Greedy tokens per document.
        public var generated: [[Int32]] = []

        public var prefillTokensPerSecond: Double { Double(documentTokens.reduce(0, +)) / max(prefillSeconds, 1e-9) }
        /// Tokens generated per second over all documents.
        public var decodeTokensPerSecond: Double { Double(documents * decodeSteps) / max(decodeSeconds, 1e-9) }
    }

    public let context: ForwardContext
    public let format: KVFormat
    public let budget: KVMemoryBudget?

    public init(context: ForwardContext, format: KVFormat, budget: KVMemoryBudget?) {
        self.context = context
        self.format = format
        self.budget = budget
    }

    public func run(_ documents: [Document], decodeTokens: Int, progress: (String) -> Void = { _ in }) throws(ModelError) -> Result {
        var result = Result(format: format.rawValue)
        result.documents = documents.count
        result.budgetBytes = budget?.byteLimit
        var sequences: [SequenceState] = [], next: [Int32] = []
        let t0 = DispatchTime.now().uptimeNanoseconds
        for doc in documents {
            let seq = try context.model.makeSequence(format: format, budget: budget)
            guard let logits = try context.prefill(seq, tokens: doc.tokens)?.last else { throw .emptyPrompt }
            sequences.append(seq)
            next.append(Self.argmax(logits))
            result.documentTokens.append(doc.tokens.count)
            progress("prefilled \(doc.name): \(doc.tokens.count) tokens, resident KV \(budget?.residentByteCount ?? seq.cache.residentByteCount) bytes")
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let pageReads = { sequences.reduce(0) { $0 + $1.cache.statistics.pageReads } }
        let prefillPageReads = pageReads()
        result.generated = Array(repeating: [], count: documents.count)
        for _ in 0..<decodeTokens {
            for i in sequences.indices { result.generated[i].append(next[i]) }
            let views = try context.forward(zip(sequences, next).map { ForwardRequest($0, tokens: [$1]) })
            next = views.map { Self.argmax($0.last) }
            if result.decodeSteps == 0 { result.firstDecodeStepPageReads = pageReads() - prefillPageReads }
            result.decodeSteps += 1
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        result.prefillSeconds = Double(t1 - t0) / 1e9
        result.decodeSeconds = Double(t2 - t1) / 1e9
        let geometry = context.model.kvGeometry
        var raw = 0, stored = 0
        for seq in sequences {
            let s = seq.cache.statistics
            result.totalKVBytes += Self.kvBytes(tokens: seq.tokenCount, format: format, geometry: geometry)
            result.spilledBytes += s.spilledByteCount
            result.pageWrites += s.pageWrites
            result.pageReads += s.pageReads
            result.decodePageReads += s.pageReads
            raw += s.rawBytesWritten
            stored += s.storedBytesWritten
        }
        result.decodePageReads -= prefillPageReads
        result.compressionRatio = stored > 0 ? Double(raw) / Double(stored) : 1
        result.peakResidentKVBytes = budget?.peakResidentByteCount ?? sequences.reduce(0) { $0 + $1.cache.statistics.peakResidentByteCount }
        return result
    }

    /// Bytes of the pages holding `tokens` tokens in `format` (int4: the last ≥ 128 tokens' pages in f16).
    public static func kvBytes(tokens: Int, format: KVFormat, geometry g: KVGeometry) -> Int {
        let pages = (tokens + 63) / 64, streams = g.layerCount * g.kvHeadCount
        switch format {
        case .f16: return pages * streams * KVPageKind.f16.byteCount(headDim: g.headDim)
        case .int8: return pages * streams * KVPageKind.int8.byteCount(headDim: g.headDim)
        case .int4:
            let quantized = max(0, tokens - PagedKVCache.int4WindowTokenCount) / 64
            return streams * (quantized * KVPageKind.int4.byteCount(headDim: g.headDim) + (pages - quantized) * KVPageKind.f16.byteCount(headDim: g.headDim))
        }
    }

    static func argmax(_ row: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<row.count where row[i] > row[best] { best = i }
        return Int32(best)
    }
}

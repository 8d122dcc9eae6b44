import Attention
import CKernels
import Evaluation
import Foundation
import KVCache
import Model
import Tokenizer
import enum Pipeline.ProcessMemory

/// `pipeline bench --documents`: long documents under a KV memory budget (DocumentBatchBenchmark),
/// or the LZ4 compression survey of their KV pages (`--kv-compression`).
extension BenchCommand {
    func runDocuments(context: ForwardContext, format: KVFormat, budget: KVMemoryBudget?) throws {
        let model = context.model
        let tokenizer = try Tokenizer(gguf: model.file)
        let limit = model.config.contextLength - documentGenTokens
        let docs = try documents.map { path in
            let ids = tokenizer.encode(try readTextFile(path), addSpecial: true, parseSpecial: false)
            return DocumentBatchBenchmark.Document(name: (path as NSString).lastPathComponent, tokens: Array(ids.prefix(limit)))
        }
        if kvCompression {
            try surveyCompression(context: context, documents: docs)
            return
        }
        let storage = KVStorage(root: kvDir)
        storage.cleanUp()
        let bench = DocumentBatchBenchmark(context: context, format: format, budget: budget)
        let result = try bench.run(docs, decodeTokens: documentGenTokens) { line in
            if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        let peakRSS = ProcessMemory.peakResidentBytes()
        if let sparse = context.decodeAttention as? SparseAttentionStrategy { emit(sparse.statistics, test: "documents") }
        if json {
            struct Report: Encodable { let result: DocumentBatchBenchmark.Result; let peakRSSBytes: Int; let threads: Int }
            try printJSON(Report(result: result, peakRSSBytes: peakRSS, threads: context.pool.threadCount))
            return
        }
        let mb = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
        print("documents \(result.documents) (\(result.documentTokens.min() ?? 0)–\(result.documentTokens.max() ?? 0) tokens, \(result.documentTokens.reduce(0, +)) in all), kv \(result.format), threads \(context.pool.threadCount)")
        print("KV of all documents \(mb(result.totalKVBytes)); budget \(result.budgetBytes.map(mb) ?? "none"); peak resident KV \(mb(result.peakResidentKVBytes)); peak RSS \(mb(peakRSS))")
        print("spilled \(mb(result.spilledBytes)) on disk; pages written \(result.pageWrites), read back \(result.pageReads); LZ4 ratio of written pages \(String(format: "%.3f", result.compressionRatio))")
        let later = result.decodePageReads - result.firstDecodeStepPageReads
        print(String(format: "pages read back during decode %d (all documents): first step %d, later steps %.1f per step",
                     result.decodePageReads, result.firstDecodeStepPageReads, Double(later) / Double(max(1, result.decodeSteps - 1))))
        print(String(format: "prefill %.1f tok/s (%.1f s); batched decode of %d documents × %d steps: %.2f tok/s (%.1f s)",
                     result.prefillTokensPerSecond, result.prefillSeconds, result.documents, result.decodeSteps,
                     result.decodeTokensPerSecond, result.decodeSeconds))
        // One hash of every greedy token: equal across runs with and without a budget when spilling is lossless.
        let ids = result.generated.flatMap { $0 }
        print("greedy tokens: \(ids.count), XXH64 \(String(ids.withUnsafeBytes { ck_xxh64($0.baseAddress, $0.count, 0) }, radix: 16))")
    }

    private func surveyCompression(context: ForwardContext, documents docs: [DocumentBatchBenchmark.Document]) throws {
        var rows: [(KVFormat, KVCompressionSurvey.Row)] = []
        for format in KVFormat.allCases {
            var survey = KVCompressionSurvey()
            for doc in docs {
                let seq = try context.model.makeSequence(format: format)
                try context.prefill(seq, tokens: doc.tokens, logits: false)
                guard let cache = seq.cache as? PagedKVCache else { continue }
                survey.merge(cache.surveyCompression())
            }
            rows += survey.rows.map { (format, $0) }
        }
        if json {
            struct Row: Encodable { let format: String; let kind: String; let region: String; let filter: String; let pages: Int; let rawBytes: Int; let storedBytes: Int; let ratio: Double }
            for (f, r) in rows { try printJSON(Row(format: f.rawValue, kind: r.kind, region: r.region, filter: r.filter, pages: r.pages, rawBytes: r.rawBytes, storedBytes: r.storedBytes, ratio: r.ratio)) }
            return
        }
        print("format  page kind  region  filter         pages   raw MiB  stored MiB  LZ4 ratio")
        for (f, r) in rows {
            print(String(format: "%-7@ %-10@ %-7@ %-13@ %6d  %8.2f  %10.2f  %8.3f", f.rawValue as NSString, r.kind as NSString, r.region as NSString,
                         r.filter as NSString, r.pages, Double(r.rawBytes) / 1_048_576, Double(r.storedBytes) / 1_048_576, r.ratio))
        }
    }
}

import ArgumentParser
import Attention
import Evaluation
import Foundation
import KVCache
import Model
import Pipeline
import Planner
import Store
import Tensor
import Tokenizer

/// `pipeline calibrate`: measures this machine (MachineProbe) and stores the profile the router's
/// cost model reads.
struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure this machine and the strategies; store the profile the router uses.",
        discussion: """
        Times prefill at three lengths (per-token and per-pair cost, GEMM GFLOP/s), decode steps at batch 1, 2 and 4 \
        (weight read per step, work per sequence), memory bandwidth, disk write (fsync) and read under --kv-dir, LZ4 \
        on real KV pages, and one decode step's attention of every strategy (dense, topk, da-topk, lsh, with their \
        default parameters) over every KV format (f16, int8, int4) at depths 1024, 4096 and 8000, with what building \
        each sparse strategy's index costs per token (its first step's excess over a later one), and the cost of \
        verifying 5 drafted rows against one decode step at two depths (speculative decoding). Takes about a \
        minute on a 2-core Zen 2; the profile is appended to the store, tagged with the thread count.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Threads (default: all cores); the profile is for this count.") var threads: Int?
    @Option(help: "Folder of the KV spill files (the disk test writes and removes a file there).") var kvDir = Defaults.kvSpillDirectory
    @Flag(help: "Print the profile as JSON on stdout (progress goes to stderr).") var json = false
    @Option(help: """
        Fidelity rows for the router: auto (import the rows shipped for this exact model file, by SHA-256, from \
        --calibration-dir; measure them when none ship), measure (always measure), skip.
        """)
    var fidelity = "auto"
    @Option(help: "Folder of shipped fidelity rows (<model SHA-256>.json).") var calibrationDir = "data/calibration"
    @Option(parsing: .upToNextOption, help: "Measuring: documents compared step by step.")
    var fidelityDocs = ["data/docs/licences/GPL-3.txt", "data/docs/manuals/valgrind-FAQ.txt"]
    @Option(parsing: .upToNextOption, help: "Measuring: needle case files (JSON [{name, prompt, answer}]).")
    var fidelityNeedles = ["data/eval/distractor-needles.json"]
    @Option(help: "Measuring: decode steps compared per document.") var fidelitySteps = 64
    @Option(help: "Measuring: write the measured rows as a shipped-rows file (for data/calibration).") var export: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard ["auto", "measure", "skip"].contains(fidelity) else { throw ValidationError("--fidelity must be auto, measure or skip") }
        guard fidelitySteps >= 1 else { throw ValidationError("--fidelity-steps must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            // The store first: a path that is not a store fails now, not after a minute of measuring.
            let store = try storeOptions.open()
            let model = try LlamaModel(path: modelOptions.modelPath)
            let pool = ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let strategies = AttentionConfiguration.Kind.allCases.map { AttentionConfiguration($0).makeStrategy() }
            var probe = MachineProbe(model: model, pool: pool, kvDirectory: kvDir)
            probe.progress = { [json] line in
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
                fflush(nil) // print() buffers stdout when it is not a terminal: show each line as it comes
            }
            let profile = try probe.run(strategies: strategies)
            let encoded = try profile.encodedJSON()
            try store.saveMachineProfile(json: encoded, threads: profile.threads, source: "calibrate")
            if json {
                print(String(decoding: encoded, as: UTF8.self))
            } else {
                print(Self.summary(profile, store: storeOptions.displayName))
            }
            if fidelity != "skip" { try calibrateFidelity(model: model, pool: pool, store: store, say: probe.progress) }
        }
    }

    static func summary(_ p: MachineProfile, store: String) -> String {
        var lines = [
            "machine profile (\(p.threads) threads), stored in \(store):",
            String(format: "  prefill   %.3f ms/token + %.4f µs/pair (GEMM %.1f GFLOP/s)", p.prefillSecondsPerToken * 1e3,
                   p.prefillSecondsPerPair * 1e6, p.gemmGFLOPS),
            String(format: "  decode    %.2f ms/step weights + %.3f ms/sequence besides attention", p.decodeWeightSeconds * 1e3,
                   p.decodePerSequenceSeconds * 1e3),
            String(format: "  memory    %.1f GB/s", p.memoryGBPerSecond),
            String(format: "  disk      write %.0f MB/s, read %.0f MB/s", p.diskWriteMBPerSecond, p.diskReadMBPerSecond),
            String(format: "  lz4       compress %.0f MB/s, decompress %.0f MB/s", p.lz4CompressMBPerSecond, p.lz4DecompressMBPerSecond),
            "  attention per step and sequence, ms at depths " + (p.attention.values.first?.depths.map(String.init).joined(separator: "/") ?? "")
                + " (fit: fixed ms + µs/token; index build µs/token):",
        ]
        for key in p.attention.keys.sorted() {
            let c = p.attention[key]!
            lines.append(String(format: "    %-14@ %@   (%.3f + %.4f; %@)", key as NSString,
                                c.stepSeconds.map { String(format: "%.3f", $0 * 1e3) }.joined(separator: " / ") as NSString,
                                c.fixedSeconds * 1e3, c.secondsPerToken * 1e6,
                                key.hasPrefix("dense+") ? "no index" : String(format: "%.2f", c.indexBuildSecondsPerToken * 1e6) as NSString))
        }
        if let v = p.verification {
            lines.append("  verification: one extra drafted row costs " + zip(v.depths, v.extraRowCosts)
                .map { String(format: "%.2f", $1) + " of a decode step at depth \($0)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// The router's fidelity rows: imported from the rows shipped for this exact model file, or
    /// measured on the bundled documents and needles (every mix the router considers).
    func calibrateFidelity(model: LlamaModel, pool: ThreadPool, store: any Store, say: (String) -> Void) throws {
        let modelName = URL(fileURLWithPath: modelOptions.modelPath).lastPathComponent
        let digest = SHA256.hex(model.file.mapping.bytes)
        let shippedPath = ShippedCalibration.path(folder: calibrationDir, sha256: digest)
        if fidelity == "auto", let data = FileManager.default.contents(atPath: shippedPath) {
            let shipped: ShippedCalibration
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            do { shipped = try decoder.decode(ShippedCalibration.self, from: data) } catch {
                throw CLIFailure(.dataError, "\(shippedPath): not a shipped calibration file: \(error)")
            }
            guard shipped.modelSHA256 == digest else {
                throw CLIFailure(.dataError, "\(shippedPath) was measured on a model with SHA-256 \(shipped.modelSHA256), not this one")
            }
            let existing = Set(try store.calibrations().map { "\($0.model)|\($0.strategy)|\($0.parameters)|\($0.kvFormat)|\($0.measuredAt.timeIntervalSince1970)" })
            var imported = 0
            for var row in shipped.rows {
                row.id = nil
                row.model = modelName
                guard !existing.contains("\(row.model)|\(row.strategy)|\(row.parameters)|\(row.kvFormat)|\(row.measuredAt.timeIntervalSince1970)") else { continue }
                try store.record(row)
                imported += 1
            }
            say("fidelity: \(shipped.rows.count) rows shipped for this model (SHA-256 \(digest.prefix(12))…), \(imported) new in the store; measured with \(shipped.measuredWith)")
            return
        }
        say(fidelity == "auto" ? "fidelity: no rows ship for this model file (SHA-256 \(digest.prefix(12))…): measuring every mix on the bundled set"
                               : "fidelity: measuring every mix on the bundled set")
        let tokenizer = try Tokenizer(gguf: model.file)
        let limit = model.config.contextLength - 1
        let documents = try fidelityDocs.map { path -> (name: String, tokens: [Int32]) in
            let ids = tokenizer.encode(try readTextFile(path), addSpecial: true, parseSpecial: false)
            guard ids.count > fidelitySteps + 2 else { throw CLIFailure(.dataError, "\(path): \(ids.count) tokens, too few for \(fidelitySteps) steps") }
            return (path, Array(ids.prefix(limit)))
        }
        let needles = try loadNeedleCases(fidelityNeedles, tokenizer: tokenizer)
        var calibration = FidelityCalibration(model: model, pool: pool, documents: documents, needles: needles, steps: fidelitySteps,
                                              isEnd: tokenizer.isEndOfGeneration, decode: { tokenizer.decode($0, skipSpecial: true) })
        // Mixes of one KV format prefill alike: each prefix is prefilled once and loaded by the others.
        let prefixes = PrefixSnapshots(directory: "\(kvDir)/calibration-prefixes-\(ProcessInfo.processInfo.processIdentifier)")
        defer { prefixes.remove() }
        calibration.prefixes = prefixes
        let measuringStarted = Date()
        var rows: [CalibrationRecord] = []
        for mix in JobRouter.mixes where !mix.isExact {
            let started = Date()
            let result: (row: CalibrationRecord, total: FidelityComparison, needles: NeedleTally, harness: FidelityHarness)
            do {
                result = try calibration.measure(mix, modelName: modelName)
            } catch let error as ModelError {
                say("fidelity \(mix.label): not measured on this model: \(error)")  // e.g. int4 pages and a head size below 64
                continue
            }
            rows.append(try store.record(result.row))
            let r = result.row
            say(String(format: "fidelity %-16@ mean KL %.5f, top-1 %.2f%% where dense is confident, needles %d/%d, %d/%d answers changed (%.0f s)",
                       mix.label as NSString, r.meanKL, (r.probableTop1Agreement ?? 0) * 100, r.needlesKept ?? 0, r.needlesReferencePassed ?? 0,
                       r.answersChanged ?? 0, r.answersCompared ?? 0, Date().timeIntervalSince(started)))
        }
        say(String(format: "fidelity: %d rows in %.0f s; %d prefixes prefilled, %d loaded from their snapshots",
                   rows.count, Date().timeIntervalSince(measuringStarted), prefixes.prefilled, prefixes.loaded))
        if let export {
            let with = "pipeline calibrate --fidelity measure: \(fidelityDocs.joined(separator: ", ")) over their last \(fidelitySteps) "
                + "tokens; needles \(fidelityNeedles.joined(separator: ", ")); \(FidelityCalibration.answerPrefixTokens)-token answers"
            let file = ShippedCalibration(modelSHA256: digest, model: modelName, measuredWith: with, rows: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(file).write(to: URL(fileURLWithPath: export))
            say("fidelity: rows written to \(export)")
        }
    }
}

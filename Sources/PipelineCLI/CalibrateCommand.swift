import ArgumentParser
import Foundation
import Model
import Pipeline
import Planner
import Store
import Tensor

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
        default parameters) over every KV format (f16, int8, int4) at depths 1024, 4096 and 8000. Takes about a \
        minute; the profile is appended to the store, tagged with the thread count.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Threads (default: all cores); the profile is for this count.") var threads: Int?
    @Option(help: "Folder of the KV spill files (the disk test writes and removes a file there).") var kvDir = Defaults.kvSpillDirectory
    @Flag(help: "Print the profile as JSON on stdout (progress goes to stderr).") var json = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        try await reportingErrors {
            // The store first: a path that is not a store fails now, not after a minute of measuring.
            let store = try storeOptions.open()
            let model = try LlamaModel(path: modelOptions.modelPath)
            let pool = ThreadPool(threadCount: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            let strategies = try AttentionKind.allCases.map { try StrategyOptions.parse(["--strategy", $0.rawValue]).make() }
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
                + " (fit: fixed ms + µs/token):",
        ]
        for key in p.attention.keys.sorted() {
            let c = p.attention[key]!
            lines.append(String(format: "    %-14@ %@   (%.3f + %.4f)", key as NSString,
                                c.stepSeconds.map { String(format: "%.3f", $0 * 1e3) }.joined(separator: " / ") as NSString,
                                c.fixedSeconds * 1e3, c.secondsPerToken * 1e6))
        }
        return lines.joined(separator: "\n")
    }
}

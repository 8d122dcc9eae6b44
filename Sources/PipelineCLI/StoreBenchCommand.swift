import ArgumentParser
import Foundation
import Pipeline
import Store

/// `pipeline store bench`: the queue's throughput — leases per second with P runner processes
/// on tiny units (lease → complete with one short output, no model), on any store address.
/// It fills an empty store with one job of N units, starts P worker processes of itself, and
/// reports N / (last completion − first lease) over all workers. Use a throw-away store.
struct StoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure leases per second of the store's queue with several runner processes (tiny units, no model).",
        discussion: "--db must name an empty, throw-away store: the bench writes a job of --units units into it.")

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Units in the queue.") var units = 2000
    @Option(help: "Runner processes draining it at once.") var processes = 1
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: .hidden) var worker = false

    func validate() throws {
        guard (1...1_000_000).contains(units) else { throw ValidationError("--units must be from 1 to 1000000") }
        guard (1...64).contains(processes) else { throw ValidationError("--processes must be from 1 to 64") }
    }

    struct WorkerReport: Codable {
        var start: Double
        var end: Double
        var leases: Int
    }

    struct Report: Encodable {
        var store: String
        var processes: Int
        var units: Int
        var seconds: Double
        var leasesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case store, processes, units, seconds
            case leasesPerSecond = "leases_per_second"
        }
    }

    func run() async throws {
        try await reportingErrors {
            if worker { return try drain() }
            let store = try storeOptions.open()
            guard try store.jobs().isEmpty else {
                throw CLIFailure(.dataError, "store bench needs an empty, throw-away store; \(storeOptions.databasePath) holds jobs")
            }
            let now = Date()
            let job = JobRecord(id: "benchqueue01", name: "queue-bench", specJSON: "{}", specHash: String(repeating: "b", count: 64),
                                sourcePath: "/bench/queue.json", modelPath: nil, promptCount: 1, submittedAt: now)
            let documents = (0..<units).map { DocumentRecord(path: "/bench/doc-\($0).txt", contentHash: "h\($0)", byteCount: 10) }
            _ = try store.submit(JobSubmission(job: job, documents: documents))
            let binary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            var workers: [(Process, Pipe)] = []
            for _ in 0..<processes {
                let process = Process(), pipe = Pipe()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = ["store", "bench", "--worker", "--db", storeOptions.databasePath]
                process.standardOutput = pipe
                try process.run()
                workers.append((process, pipe))
            }
            var reports: [WorkerReport] = []
            for (process, pipe) in workers {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw CLIFailure(.software, "a bench worker exited \(process.terminationStatus)") }
                if let report = try? JSONDecoder().decode(WorkerReport.self, from: data) { reports.append(report) }
            }
            let done = try store.statistics(jobID: job.id).first?.count(.done) ?? 0
            let outputs = try store.results(jobID: job.id).count
            guard done == units, outputs == units, reports.map(\.leases).reduce(0, +) == units else {
                throw CLIFailure(.software, "the queue was not drained exactly once: \(done) done, \(outputs) outputs, "
                                 + "\(reports.map(\.leases).reduce(0, +)) leases for \(units) units")
            }
            let active = reports.filter { $0.leases > 0 }
            let seconds = (active.map(\.end).max() ?? 0) - (active.map(\.start).min() ?? 0)
            let report = Report(store: storeOptions.databasePath.hasPrefix("postgres") ? "postgres" : "sqlite", processes: processes,
                                units: units, seconds: seconds, leasesPerSecond: seconds > 0 ? Double(units) / seconds : 0)
            if json { try printJSON(report) } else {
                print(String(format: "%@ with %d processes: %d units in %.3f s, %.0f leases/s", report.store, processes, units, seconds,
                             report.leasesPerSecond))
            }
        }
    }

    /// A worker: lease → complete (one tiny output) until the queue is empty; prints its report.
    private func drain() throws {
        let store = try storeOptions.open(createIfMissing: false)
        let owner = RunnerOptions.makeOwner()
        var report = WorkerReport(start: 0, end: 0, leases: 0)
        while let unit = try store.leaseNextUnit(owner: owner, leaseSeconds: 60) {
            if report.leases == 0 { report.start = Date().timeIntervalSince1970 }
            let lease = unit.lease
            let output = OutputRecord(unitID: lease.unitID, promptIndex: 0, prompt: "q", text: "a", promptTokenCount: 1,
                                      generatedTokenCount: 1, prefillSeconds: 0, decodeSeconds: 0, finishReason: "length")
            let metrics = MetricsRecord(unitID: lease.unitID, contentHash: unit.document.contentHash ?? "", documentTokenCount: 1,
                                        keptTokenCount: 1, truncatedHeadTokens: nil, truncatedTailTokens: nil, tokensIn: 2, tokensOut: 1,
                                        prefillSeconds: 0, prefillTokensPerSecond: 0, decodeSeconds: 0, decodeTokensPerSecond: 0,
                                        documentPrefillSeconds: 0, perPromptPrefillSeconds: 0, peakMemoryBytes: 0, strategyMix: "bench",
                                        kvBytesInMemory: 0, kvBytesOnDisk: 0, wallSeconds: 0, runner: owner)
            try store.complete(lease, outputs: [output], metrics: metrics)
            report.leases += 1
            report.end = Date().timeIntervalSince1970
        }
        try printJSON(report)
    }
}

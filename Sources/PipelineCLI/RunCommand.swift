import ArgumentParser
import Foundation
import Pipeline

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Lease pending work units and run them (cron-safe, resumable).",
        discussion: """
        Runs units until none is left to lease, then exits 0. Several runners may run at once (say,
        overlapping cron runs): each unit is leased by one of them. A runner that is killed leaves a
        lease that expires after 60 s; a later run redoes the unit, with no duplicate output.
        SIGINT/SIGTERM: the current unit is finished or released, then the runner exits 0 (a second
        signal exits at once). A unit that fails 3 times is marked failed and the others go on.
        On a terminal a status line shows progress; otherwise (cron) one log line per event.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Run at most one unit, then exit.")
    var once = false

    @Option(help: "Stop taking new units after N seconds (the current unit is finished).")
    var maxSeconds: Double?

    @Option(help: "Threads for the engine (default: the engine's choice).")
    var threads: Int?

    @Option(name: .customLong("memory-budget-mb"), help: "Override every job's memory_budget_mb.")
    var memoryBudgetMB: Int?

    @Option(help: "Units run together, their decode steps batched (one weight read per step for all): a number, or auto (the cost model's choice under the memory budget, up to 8).")
    var batchUnits = "auto"

    @Option(help: "KV spill files and document snapshots (default: $PIPELINE_KV_DIR or data/kv).")
    var kvDir: String?

    @Option(help: "A unit's lease lasts this long unless renewed (every quarter of it, at most every 10 s); a killed runner's unit is redone after it.")
    var leaseSeconds: Double = 60

    @Option(help: "A unit that fails this many times is marked failed.")
    var maxAttempts = 3

    @Option(help: "A unit whose runners died holding it (killed, crashed, cut off from the store) this many times is marked failed.")
    var maxAbandonedLeases = 2

    func validate() throws {
        if let maxSeconds, !(maxSeconds > 0) { throw ValidationError("--max-seconds must be a positive number") }
        if !(1...100).contains(maxAttempts) { throw ValidationError("--max-attempts must be from 1 to 100") }
        if !(1...100).contains(maxAbandonedLeases) { throw ValidationError("--max-abandoned-leases must be from 1 to 100") }
        if !(leaseSeconds >= 1 && leaseSeconds <= 86_400) { throw ValidationError("--lease-seconds must be from 1 to 86400") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let memoryBudgetMB, memoryBudgetMB < 16 { throw ValidationError("--memory-budget-mb must be at least 16") }
        if batchUnits != "auto" {
            guard let n = Int(batchUnits), (1...64).contains(n) else { throw ValidationError("--batch-units must be auto or from 1 to 64") }
        }
    }

    func run() async throws {
        try await reportingErrors {
            let store = try storeOptions.open()
            let display = ProgressDisplay(terminal: isatty(STDERR_FILENO) != 0)
            var options = RunnerOptions(modelPath: modelOptions.modelPath)
            options.once = once
            options.maxSeconds = maxSeconds
            options.threads = threads
            options.memoryBudgetMB = memoryBudgetMB
            options.leaseSeconds = leaseSeconds
            options.heartbeatSeconds = min(10, leaseSeconds / 4)
            options.maxAttempts = maxAttempts
            options.maxAbandonedLeases = maxAbandonedLeases
            let stop = StopFlag()
            stop.raiseOnTerminationSignals()
            let summary = try RunSession.run(store: store, options: options, batchUnits: Int(batchUnits).map { .fixed($0) } ?? .auto,
                                             kvDirectory: kvDir ?? Defaults.kvDirectory, stop: stop, log: display.log,
                                             observe: { display.handle($0) })
            if summary == nil { display.log("nothing to run") }
        }
    }
}

/// Renders runner events: on a terminal, one status line on stderr redrawn in place (units,
/// tokens per second, ETA, the current unit's phase); otherwise one timestamped line per event
/// on stdout, for cron mail and log files.
final class ProgressDisplay: @unchecked Sendable {
    private let terminal: Bool
    private let lock = NSLock()
    private var progress = RunProgress()
    private var lastDraw = Date.distantPast

    init(terminal: Bool) { self.terminal = terminal }

    func handle(_ event: RunnerEvent) {
        lock.withLock {
            progress.apply(event)
            if let line = Self.logLine(event) {
                if terminal {
                    clearLine()
                    FileHandle.standardError.write(Data("\(line)\n".utf8))
                } else {
                    log(line)
                }
            }
            if terminal && !isStopped(event) { draw(force: !isProgressOnly(event)) }
        }
    }

    func log(_ line: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        print("\(stamp) \(line)")
        fflush(nil)
    }

    private func isProgressOnly(_ event: RunnerEvent) -> Bool {
        if case .unitProgress = event { return true }
        return false
    }

    private func isStopped(_ event: RunnerEvent) -> Bool {
        if case .stopped = event { return true }
        return false
    }

    private func clearLine() { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }

    private func draw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = now
        var line = "[\(progress.unitsFinished)/\(progress.leasableAtStart) units"
        if progress.unitsFailed > 0 { line += ", \(progress.unitsFailed) failed" }
        line += "] \(String(format: "%.1f", progress.tokensPerSecond(at: now))) tok/s"
        line += "  ETA \(progress.etaSeconds(at: now).map(formatDuration) ?? "--")"
        if let current = progress.current {
            line += "  \(displayPath(current.documentPath)) \(progress.currentPhase)"
        }
        clearLine()
        FileHandle.standardError.write(Data(String(line.prefix(160)).utf8))
    }

    /// The log line of an event, or nil for progress-only events.
    static func logLine(_ event: RunnerEvent) -> String? {
        switch event {
        case .started(let owner, let leasable):
            return "runner \(owner) started: \(leasable) units to run"
        case .unitStarted(let start):
            var line = "unit \(start.unitID) started: job \(start.jobName) (\(start.jobID)), \(displayPath(start.documentPath)), attempt \(start.attempt)"
            if let previous = start.previousOwner { line += ", taken over from \(previous) (lease expired)" }
            return line
        case .unitProgress:
            return nil
        case .unitCompleted(let unitID, let m):
            var line = "unit \(unitID) done: \(m.tokensIn) tokens in, \(m.tokensOut) out, prefill \(String(format: "%.1f", m.prefillTokensPerSecond)) tok/s, decode \(String(format: "%.1f", m.decodeTokensPerSecond)) tok/s, \(m.strategyMix), \(String(format: "%.1f", m.wallSeconds)) s"
            if let head = m.truncatedHeadTokens, let tail = m.truncatedTailTokens {
                line += ", truncated to head \(head) + tail \(tail) of \(m.documentTokenCount) tokens"
            }
            return line
        case .unitFailed(let unitID, let error, let final):
            return "unit \(unitID) \(final ? "failed" : "failed (will retry)"): \(error.message)"
        case .unitReleased(let unitID):
            return "unit \(unitID) released (stopping)"
        case .leaseLost(let unitID):
            return "unit \(unitID): lease lost to another runner; nothing written"
        case .stopped(let summary):
            return "runner stopped (\(summary.reason.rawValue)): \(summary.unitsDone) done, \(summary.unitsFailed) failed, \(summary.unitsRetried) to retry, \(summary.unitsReleased) released, \(String(format: "%.1f", summary.seconds)) s"
        }
    }
}

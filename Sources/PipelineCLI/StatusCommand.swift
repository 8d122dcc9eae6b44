import ArgumentParser
import Foundation
import Pipeline
import Store

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show jobs: state, units done/failed/pending, tokens, throughput, ETA, strategy.",
        discussion: """
        Without JOB, one line per job. With JOB (an id, or a name for its latest version), the job in
        detail and each of its units, with the error of failed ones. Reads a snapshot of the store:
        works while runners write. Exit 66 when the store or the job does not exist.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "A job id or name (default: every job).")
    var job: String?

    @Flag(help: "Print JSON: {\"jobs\": [...]} (and \"units\": [...] with JOB).")
    var json = false

    struct Output: Encodable {
        var jobs: [JobReport]
        var units: [UnitLine]?
        /// Live leases by the runner's host (every job, or JOB's).
        var hosts: [HostLine] = []
    }

    struct UnitLine: Encodable {
        var unit: Int64
        var document: String
        var state: String
        var attempts: Int
        var error: String?
        var leaseOwner: String?
        var tokens: Int?
        /// The mix the unit ran and why (done units).
        var mix: String?
        var route: String?

        enum CodingKeys: String, CodingKey {
            case unit, document, state, attempts, error, tokens, mix, route
            case leaseOwner = "lease_owner"
        }
    }

    func run() async throws {
        try await reportingErrors {
            let store = try storeOptions.open(createIfMissing: false, readOnly: true)
            var output = Output(jobs: [])
            if let job {
                let record = try store.job(job)
                output.hosts = HostLine.lines(try store.activeLeases(), jobID: record.id)
                output.jobs = try store.statistics(jobID: record.id).map(JobReport.init)
                output.units = try store.units(jobID: record.id).map { unit in
                    UnitLine(unit: unit.unitID, document: unit.documentPath, state: unit.state.rawValue,
                             attempts: unit.attempts, error: unit.lastError.map(PipelineError.message(stored:)),
                             leaseOwner: unit.leaseOwner, tokens: unit.tokenCount, mix: unit.strategyMix, route: unit.routeReason)
                }
            } else {
                output.jobs = try store.statistics(jobID: nil).map(JobReport.init)
                output.hosts = HostLine.lines(try store.activeLeases(), jobID: nil)
            }
            if json {
                try printJSON(output)
            } else {
                printText(output)
            }
        }
    }

    private func printText(_ output: Output) {
        if output.jobs.isEmpty {
            print("no jobs")
            return
        }
        print("JOB           STATE    UNITS  DONE FAILED PENDING RUNNING  TOKENS IN/OUT      TOK/S  ETA       NAME / STRATEGY")
        for r in output.jobs {
            let tokens = "\(r.tokensIn)/\(r.tokensOut)"
            let eta = r.etaSeconds.map(formatDuration) ?? "--"
            print(pad(r.id, 13) + " " + pad(r.state.rawValue, 8) + " " + lpad(r.units, 5) + " " + lpad(r.done, 5) + " "
                  + lpad(r.failed, 6) + " " + lpad(r.pending, 7) + " " + lpad(r.running, 7) + "  " + pad(tokens, 17) + " "
                  + pad(String(format: "%6.1f", r.tokensPerSecond), 6) + "  " + pad(eta, 9) + " " + r.name + "  " + r.strategySummary)
        }
        guard let units = output.units, let r = output.jobs.first else {
            HostLine.printText(output.hosts)
            return
        }
        print("")
        print("job \(r.name) (\(r.id)) from \(displayPath(r.sourcePath))")
        print("  prefill \(String(format: "%.1f", r.prefillTokensPerSecond)) tok/s, decode \(String(format: "%.1f", r.decodeTokensPerSecond)) tok/s")
        if r.perPromptPrefillSeconds > 0 {
            print("  KV reuse: prefill \(String(format: "%.1f", r.prefillSeconds)) s instead of \(String(format: "%.1f", r.perPromptPrefillSeconds)) s prefilling per prompt (saved \(String(format: "%.1f", r.prefillSecondsSaved)) s)")
        }
        print("  strategy: requested \(r.requestedStrategy); used \(r.strategies.isEmpty ? "nothing yet" : r.strategySummary)")
        if r.truncatedUnits > 0 { print("  \(r.truncatedUnits) documents truncated (truncate-middle)") }
        if let e = r.predictionError {
            print(String(format: "  cost model: mean prediction error %.1f%% over %d units (|predicted − measured| / measured)", e * 100, r.predictedUnits))
        }
        for unit in units {
            var line = "  unit \(unit.unit)  \(pad(unit.state, 7))  attempts \(unit.attempts)  \(displayPath(unit.document))"
            if let tokens = unit.tokens { line += "  \(tokens) tokens" }
            if let owner = unit.leaseOwner { line += "  (runner \(owner))" }
            print(line)
            if let error = unit.error { print("      error: \(error)") }
            if let mix = unit.mix { print("      ran \(mix)" + (unit.route.map { ": \($0)" } ?? "")) }
        }
        HostLine.printText(output.hosts)
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func lpad(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}

/// A path relative to the working directory when it lies under it, else as it is.
func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath + "/"
    return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
}

/// `h:mm:ss`.
func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
}

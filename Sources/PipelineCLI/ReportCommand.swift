import ArgumentParser
import Foundation
import Pipeline
import Store

/// `pipeline report [JOB] --html FILE`: what the router did, as one self-contained page.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML page of what the router did, per job and per unit.",
        discussion: """
        Per unit: the mix it ran and why, predicted against measured seconds, prefill and decode tokens per \
        second, KV bytes in RAM and on disk, and the fidelity figures of the mix (its newest calibration row). \
        Per job: totals and documents per hour. Charts are inline SVG: no scripts, no network. Every job when \
        JOB is left out. Exit 66 when the store or the job does not exist.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "A job id or name (default: every job).") var job: String?
    @Option(help: "The HTML file to write.") var html: String

    func run() async throws {
        try await reportingErrors {
            let store = try storeOptions.open(createIfMissing: false, readOnly: true)
            let records = try job.map { [try store.job($0)] } ?? store.jobs()
            let jobs = try records.map { record in
                let fidelity = (try? JobSpec.stored(record.specJSON, jobID: record.id))?.fidelity.rawValue ?? "?"
                return HTMLReport.Job(report: JobReport(try store.statistics(jobID: record.id)[0]), units: try store.metrics(jobID: record.id),
                                      fidelity: fidelity)
            }
            let page = HTMLReport(jobs: jobs, calibrations: try store.calibrations()).render()
            do {
                try page.write(toFile: html, atomically: true, encoding: .utf8)
            } catch {
                throw CLIFailure(.cantCreate, "cannot write \(html): \(error.localizedDescription)")
            }
            print("wrote \(html): \(jobs.count) job\(jobs.count == 1 ? "" : "s"), \(jobs.reduce(0) { $0 + $1.units.count }) units")
        }
    }
}

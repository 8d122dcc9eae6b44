import ArgumentParser
import Foundation
import Pipeline
import Store

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate job files and enqueue their work units.",
        discussion: """
        Each PATH is a job file, or a folder whose *.json files are job files. Submitting is
        idempotent: the same content is the same job (whitespace, key order and spelled-out defaults
        do not matter); a changed file is a new job. Resubmitting a job adds units only for documents
        it did not have yet. Prints one line per job: id, name, new or existing, units.
        Invalid files are reported (exit 65; 66 when only missing) and the valid ones are still submitted.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "Job files, or folders of job files (*.json).")
    var paths: [String] = []

    @Option(help: ArgumentHelp("A folder documents may be read from, besides each job file's own folder tree (repeatable; also PIPELINE_DOCUMENT_ROOTS, colon-separated).",
                               valueName: "folder"))
    var documentsRoot: [String] = []

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one job file or folder") }
    }

    func run() async throws {
        try await reportingErrors {
            let store = try storeOptions.open()
            let report = try Submitter(store: store, roots: DocumentRoots.fromEnvironment(adding: documentsRoot)).submit(paths: paths)
            for job in report.submitted {
                let receipt = job.receipt
                let what = receipt.created ? "new" : (receipt.unitsAdded > 0 ? "existing, +\(receipt.unitsAdded) units" : "existing")
                print("\(receipt.jobID)  \(job.name)  \(what)  \(receipt.unitCount) units  \(job.file)")
            }
            for error in report.rejected {
                FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            }
            if !report.rejected.isEmpty {
                let dataError = report.rejected.contains { $0.exitStatus == .dataError }
                throw ExitCode((dataError ? ExitStatus.dataError : ExitStatus.noInput).rawValue)
            }
        }
    }
}

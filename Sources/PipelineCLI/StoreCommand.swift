import ArgumentParser
import Foundation
import Store

/// `pipeline store copy --from SQLITE --to POSTGRES`: moves a store to another backend (or file).
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the store: copy it to another backend, measure its queue.",
        subcommands: [StoreCopyCommand.self, StoreBenchCommand.self])
}

struct StoreCopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy every job, unit, output, metric, calibration row and machine profile into an empty store.",
        discussion: """
        FROM and TO are store addresses as for --db: an SQLite file or postgres://USER@HOST:PORT/DATABASE.
        The copy is read in one snapshot and written in one transaction, with the same ids, and then
        read back and counted. Refused (exit 65) when TO already holds jobs, or while runners hold live
        leases on FROM (stop them first: a unit they finish would land in FROM only). Units whose lease
        had expired are copied as pending, their attempt given back. FROM is left as it was.
        """)

    @Option(help: "The store to copy (it must exist).")
    var from: String

    @Option(help: "The destination store (created and migrated if needed; it must hold no job).")
    var to: String

    @Flag(help: "Print the counts as JSON.")
    var json = false

    struct Counts: Encodable, Equatable {
        var jobs: Int, documents: Int, units: Int, done: Int, outputs: Int, metrics: Int, calibrations: Int
        var machineProfiles: Int

        init(_ s: StoreSnapshot) {
            jobs = s.jobs.count
            documents = s.documents.count
            units = s.units.count
            done = s.units.filter { $0.state == .done }.count
            outputs = s.outputs.count
            metrics = s.metrics.count
            calibrations = s.calibrations.count
            machineProfiles = s.machineProfiles.count
        }

        enum CodingKeys: String, CodingKey {
            case jobs, documents, units, done, outputs, metrics, calibrations
            case machineProfiles = "machine_profiles"
        }
    }

    func run() async throws {
        try await reportingErrors {
            let source = try openStore(from, createIfMissing: false)
            let snapshot = try source.snapshot()
            let destination = try openStore(to)
            try destination.restore(snapshot)
            let copied = Counts(try destination.snapshot()), expected = Counts(snapshot)
            guard copied == expected else {
                throw CLIFailure(.software, "the copy does not match its source: \(copied) read back, \(expected) expected")
            }
            if json {
                try printJSON(copied)
            } else {
                print("copied \(copied.jobs) jobs, \(copied.units) units (\(copied.done) done), \(copied.outputs) outputs, "
                      + "\(copied.metrics) metrics, \(copied.calibrations) calibration rows, \(copied.machineProfiles) machine profiles")
            }
        }
    }
}

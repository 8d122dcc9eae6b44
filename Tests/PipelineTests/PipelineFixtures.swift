import Foundation
import Pipeline
import Store
import TestSupport

/// A folder with documents, job files and an on-disk store: the world of one test.
final class Workspace: @unchecked Sendable {
    let folder = TemporaryDirectory("pipeline-test")
    var databasePath: String { folder.file("pipeline.sqlite") }

    /// `count` small text documents `docs/doc-N.txt` (N from 1) with distinct contents.
    @discardableResult
    func documents(_ count: Int, words: Int = 50) -> [String] {
        (1...count).map { n in
            let text = (0..<words).map { "word\($0 % 17)-\(n)" }.joined(separator: " ") + "\n"
            return folder.write("docs/doc-\(n).txt", text)
        }
    }

    /// Writes a job file `jobs/NAME.json`; `extra` fields are merged in.
    @discardableResult
    func job(_ name: String, documents: [String] = ["../docs/*.txt"], prompts: [String] = ["First question?", "Second question?"],
             extra: [String: Any] = [:]) -> String {
        var object: [String: Any] = ["name": name, "documents": documents, "prompts": prompts, "max_new_tokens": 16]
        object.merge(extra) { $1 }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return folder.write("jobs/\(name).json", Array(data))
    }

    /// Documents live in docs/, beside jobs/: the workspace is an allowed root.
    var roots: DocumentRoots { DocumentRoots(extra: [folder.path]) }

    func store(busyTimeout: Double = 10) throws -> SQLiteStore { try SQLiteStore(path: databasePath, busyTimeout: busyTimeout) }

    /// Submits job files and returns the job ids, in order.
    func submit(_ paths: String...) throws -> [String] {
        let report = try Submitter(store: try store(), roots: roots).submit(paths: paths)
        precondition(report.rejected.isEmpty, "fixture jobs must be valid: \(report.rejected)")
        return report.submitted.map(\.receipt.jobID)
    }

    func options(lease: Double = 60, heartbeat: Double = 10) -> RunnerOptions {
        var options = RunnerOptions(modelPath: "/models/none.gguf")
        options.leaseSeconds = lease
        options.heartbeatSeconds = heartbeat
        return options
    }
}

/// Collects runner events (thread-safe).
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [RunnerEvent] = []
    func record(_ event: RunnerEvent) { lock.withLock { items.append(event) } }
    var events: [RunnerEvent] { lock.withLock { items } }
    var failures: [(PipelineError, Bool)] {
        events.compactMap { if case .unitFailed(_, let e, let final) = $0 { (e, final) } else { nil } }
    }
}

/// Polls `condition` every 20 ms for up to `seconds`; true when it held.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// A runner working on a background thread.
final class BackgroundRun: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var outcome: Result<RunSummary, Error>?

    init(_ runner: Runner) {
        Thread.detachNewThread { [self] in
            let result = Result { try runner.run() }
            lock.withLock { outcome = result }
            done.signal()
        }
    }

    /// Waits up to `seconds` for the runner to return.
    func wait(seconds: Double = 60) throws -> RunSummary {
        guard done.wait(timeout: .now() + seconds) == .success else { throw TimedOut() }
        done.signal()
        return try lock.withLock { outcome! }.get()
    }

    struct TimedOut: Error {}
}

// Real processes for the tests that need them: the `pipeline` executable (CLI contracts, exit
// codes), and runner processes that can be killed (crash recovery, concurrent runners, signals).
//
// A runner process needs an executor, and the only honest one in tests is the echo test double,
// which lives in this test binary, not in `pipeline`. So a runner process is this test binary
// started again with `--filter childRunnerProcess` and the PIPELINE_TEST_CHILD_RUNNER environment
// variable: the one test it then runs (`ChildRunnerHarness`) is a real `Runner` over the on-disk
// store with the echo executor and the real signal handling. Product code has no test hook.
import Foundation
import Pipeline
import Store
import Testing

/// The output of one `pipeline` invocation.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Processes {
    /// This test binary (resolved now: `/proc/self/exe` means another file in a child).
    static let testBinary: String = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]

    /// The `pipeline` executable built beside the tests.
    static var pipelineBinary: String {
        URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("pipeline").path
    }

    /// Runs `pipeline ARGS` against the store `database`, in `folder`, and waits for it.
    static func pipeline(_ arguments: [String], database: String, in folder: String) throws -> CLIResult {
        let out = folder + "/.cli-\(UUID().uuidString).out", err = out + ".err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pipelineBinary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["PIPELINE_DB"] = database
        // The workspace's documents sit beside its jobs/ folder: allow the whole workspace.
        environment["PIPELINE_DOCUMENT_ROOTS"] = folder
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// How a runner process is set up (passed as JSON in the environment).
struct ChildRunnerConfiguration: Codable {
    static let environmentKey = "PIPELINE_TEST_CHILD_RUNNER"

    var database: String
    var behaviour = EchoBehaviour()
    var leaseSeconds = 60.0
    var heartbeatSeconds = 10.0

    static var current: ChildRunnerConfiguration? {
        guard let json = ProcessInfo.processInfo.environment[environmentKey] else { return nil }
        return try? JSONDecoder().decode(ChildRunnerConfiguration.self, from: Data(json.utf8))
    }

    /// Starts a runner process; its output goes to `log`.
    func launch(log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Processes.testBinary)
        process.arguments = ["--testing-library", "swift-testing", "--filter", "childRunnerProcess"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.environmentKey] = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        process.environment = environment
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = process.standardOutput
        try process.run()
        return process
    }
}

/// Only does something inside a runner process started by `ChildRunnerConfiguration.launch`.
@Suite struct ChildRunnerHarness {
    @Test(.enabled(if: ChildRunnerConfiguration.current != nil, "runs only as a child runner process"))
    func childRunnerProcess() throws {
        let configuration = try #require(ChildRunnerConfiguration.current)
        let stop = StopFlag()
        stop.raiseOnTerminationSignals()
        var options = RunnerOptions(modelPath: "/models/none.gguf")
        options.leaseSeconds = configuration.leaseSeconds
        options.heartbeatSeconds = configuration.heartbeatSeconds
        let runner = Runner(store: try SQLiteStore(path: configuration.database), executor: EchoExecutor(configuration.behaviour),
                            options: options, stop: stop, observe: { print("event:", $0) })
        let summary = try runner.run()
        print("summary:", summary)
    }
}

/// Waits for a process to end, up to `seconds`; false if it is still running.
func waitForExit(_ process: Process, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { return false }
    process.waitUntilExit()
    return true
}

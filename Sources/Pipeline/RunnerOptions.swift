import Foundation

/// How a runner behaves (the flags of `pipeline run`, plus lease timing).
public struct RunnerOptions: Sendable, Equatable {
    /// Run at most one unit, then exit.
    public var once = false
    /// Stop taking new units after this many seconds (the current unit is finished).
    public var maxSeconds: Double?
    /// Passed to the executor.
    public var threads: Int?
    /// Overrides every job's `memory_budget_mb`.
    public var memoryBudgetMB: Int?
    /// The model used for jobs that do not name one.
    public var modelPath: String
    /// A lease lasts this long unless renewed…
    public var leaseSeconds: Double = 60
    /// …and is renewed this often while the unit runs.
    public var heartbeatSeconds: Double = 10
    /// A unit that fails this many times is marked failed.
    public var maxAttempts = 3
    /// A unit whose runners died holding it this many times is failed, not leased again: a unit
    /// that crashes the process costs two runs, not every later cron run.
    public var maxAbandonedLeases = 2
    /// Units leased and run together when the executor can batch them (their decode steps share
    /// each weight read). 1: one unit at a time.
    public var batchUnits = 1
    /// Who this runner is, in leases and metrics.
    public var owner: String = RunnerOptions.makeOwner()

    public init(modelPath: String) { self.modelPath = modelPath }

    /// host:pid:random — unique per process, readable in `status`.
    public static func makeOwner() -> String {
        let host = ProcessInfo.processInfo.hostName
        let random = UUID().uuidString.prefix(8).lowercased()
        return "\(host):\(ProcessInfo.processInfo.processIdentifier):\(random)"
    }
}

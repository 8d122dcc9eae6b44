import Foundation
import Store

/// What a runner reports as it goes, for the progress display and logs (the CLI renders them).
public enum RunnerEvent: Sendable, Equatable {
    /// The runner starts with this many units leasable.
    case started(owner: String, leasableUnits: Int)
    case unitStarted(UnitStart)
    case unitProgress(unitID: Int64, UnitEvent)
    case unitCompleted(unitID: Int64, metrics: MetricsRecord)
    /// `final`: the unit is now marked failed; else it will be retried.
    case unitFailed(unitID: Int64, error: PipelineError, final: Bool)
    /// The unit was given back untouched (cancelled by a signal).
    case unitReleased(unitID: Int64)
    /// The lease was lost (expired and retaken): nothing was written for the unit.
    case leaseLost(unitID: Int64)
    case stopped(RunSummary)
}

public struct UnitStart: Sendable, Equatable {
    public var unitID: Int64
    public var jobID: String
    public var jobName: String
    public var documentPath: String
    public var attempt: Int
    public var promptCount: Int
    /// Set when this unit's previous runner died holding it.
    public var previousOwner: String?
}

public struct RunSummary: Sendable, Equatable {
    public enum StopReason: String, Sendable, Equatable {
        case noMoreWork = "no more work"
        case once = "--once"
        case timeLimit = "--max-seconds reached"
        case signal = "stopped by signal"
    }

    public var reason: StopReason = .noMoreWork
    public var unitsStarted = 0
    public var unitsDone = 0
    public var unitsFailed = 0
    public var unitsRetried = 0
    public var unitsReleased = 0
    public var leasesLost = 0
    public var tokensIn = 0
    public var tokensOut = 0
    public var seconds: Double = 0
}

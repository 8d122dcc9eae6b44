// The state behind `pipeline run`'s progress display: fed with runner events, it answers units
// done, tokens per second and ETA. The CLI draws it (a status line on a terminal, log lines else).
import Foundation
import Store

public struct RunProgress: Sendable {
    public let startedAt: Date
    public private(set) var leasableAtStart = 0
    public private(set) var unitsDone = 0
    public private(set) var unitsFailed = 0
    public private(set) var unitsRetried = 0
    /// Tokens (in + out) of recorded units.
    public private(set) var tokensRecorded = 0
    /// The unit being worked on, and its tokens so far (prefill + decode) from executor events.
    public private(set) var current: UnitStart?
    public private(set) var currentTokens = 0
    public private(set) var currentPhase = ""
    private var currentPrefilled = 0
    private var currentGenerated: [Int: Int] = [:]

    public init(startedAt: Date = Date()) { self.startedAt = startedAt }

    public mutating func apply(_ event: RunnerEvent) {
        switch event {
        case .started(_, let leasable):
            leasableAtStart = leasable
        case .unitStarted(let start):
            current = start
            currentTokens = 0
            currentPrefilled = 0
            currentGenerated = [:]
            currentPhase = "reading"
        case .unitProgress(_, let unitEvent):
            apply(unitEvent)
        case .unitCompleted(_, let metrics):
            unitsDone += 1
            tokensRecorded += metrics.tokensIn + metrics.tokensOut
            clearCurrent()
        case .unitFailed(_, _, let final):
            if final { unitsFailed += 1 } else { unitsRetried += 1 }
            clearCurrent()
        case .unitReleased, .leaseLost, .stopped:
            clearCurrent()
        }
    }

    private mutating func apply(_ event: UnitEvent) {
        switch event {
        case .tokenized(let documentTokens, let keptTokens):
            currentPhase = keptTokens < documentTokens ? "tokenized \(documentTokens) (kept \(keptTokens))" : "tokenized \(documentTokens)"
        case .prefill(let done, let total):
            currentPrefilled = done
            currentPhase = "prefill \(done)/\(total)"
        case .decode(let index, let generated):
            currentGenerated[index] = generated
            currentPhase = "prompt \(index + 1)/\(current?.promptCount ?? 0): \(generated) tokens"
        case .promptFinished(let index):
            currentPhase = "prompt \(index + 1)/\(current?.promptCount ?? 0) done"
        }
        currentTokens = currentPrefilled + currentGenerated.values.reduce(0, +)
    }

    private mutating func clearCurrent() {
        current = nil
        currentTokens = 0
        currentPhase = ""
    }

    /// Units this run has finished (done or finally failed).
    public var unitsFinished: Int { unitsDone + unitsFailed }

    public func tokensPerSecond(at now: Date = Date()) -> Double {
        let elapsed = now.timeIntervalSince(startedAt)
        return elapsed > 0 ? Double(tokensRecorded + currentTokens) / elapsed : 0
    }

    /// Seconds until the units leasable at start are finished, at this run's pace so far; nil
    /// before the first unit finishes. Other runners sharing the work make it pessimistic.
    public func etaSeconds(at now: Date = Date()) -> Double? {
        guard unitsFinished > 0 else { return nil }
        let perUnit = now.timeIntervalSince(startedAt) / Double(unitsFinished)
        return Double(max(leasableAtStart - unitsFinished, 0)) * perUnit
    }
}

// `pipeline run`: lease a unit, run it, record it, repeat — until there is no leasable work, or
// `--once`, `--max-seconds` or a signal says stop. Safe to start from cron while another runner
// is still going: leases keep them apart (Store.swift), heartbeats keep a long unit from being
// taken over, and a killed runner's lease simply expires so that a later run redoes its unit.
//
// One unit (Runner+Unit.swift): lease → read and check the document → executor (prefill once,
// every prompt after it) → outputs + metrics + done in one transaction that checks the lease.
import Foundation
import Synchronization
import Store

public final class Runner: Sendable {
    let store: any Store
    let executor: any UnitExecutor
    let options: RunnerOptions
    let stop: StopFlag
    let observe: @Sendable (RunnerEvent) -> Void
    /// Job specs decoded so far, by job id: each job's stored spec is decoded once per run.
    let specs = Mutex<[String: JobSpec]>([:])

    /// `stop`: raised by signals (see `StopFlag.raiseOnTerminationSignals`) or tests; the current
    /// unit is released if the executor stops, or recorded if it finishes first.
    public init(store: any Store, executor: any UnitExecutor, options: RunnerOptions, stop: StopFlag = StopFlag(),
                observe: @escaping @Sendable (RunnerEvent) -> Void = { _ in }) {
        self.store = store
        self.executor = executor
        self.options = options
        self.stop = stop
        self.observe = observe
    }

    /// Runs until there is nothing to do or a stop condition; store errors (busy) are thrown and
    /// leave any leased unit to expire and be redone.
    @discardableResult
    public func run() throws -> RunSummary {
        let start = Date()
        var summary = RunSummary()
        observe(.started(owner: options.owner, leasableUnits: try store.leasableUnitCount()))
        while true {
            if stop.isRaised {
                summary.reason = .signal
                break
            }
            if let maxSeconds = options.maxSeconds, Date().timeIntervalSince(start) >= maxSeconds {
                summary.reason = .timeLimit
                break
            }
            if options.once && summary.unitsStarted > 0 {
                summary.reason = .once
                break
            }
            guard let leased = try store.leaseNextUnit(owner: options.owner, leaseSeconds: options.leaseSeconds) else {
                summary.reason = .noMoreWork
                break
            }
            summary.unitsStarted += 1
            if let batchExecutor = executor as? any BatchUnitExecutor, options.batchUnits > 1, !options.once {
                // Lease more units to decode together with this one.
                var batch = [leased]
                while batch.count < options.batchUnits,
                      let more = try store.leaseNextUnit(owner: options.owner, leaseSeconds: options.leaseSeconds) {
                    batch.append(more)
                    summary.unitsStarted += 1
                }
                try processBatch(batch, executor: batchExecutor, &summary)
            } else {
                try process(leased, &summary)
            }
        }
        summary.seconds = Date().timeIntervalSince(start)
        observe(.stopped(summary))
        return summary
    }
}

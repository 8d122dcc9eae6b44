import Foundation
import Testing
import Store
@testable import Pipeline
import Planner

/// The runner in this process, with the echo test executor (a test double, not a model).
@Suite struct RunnerTests {
    @Test func submitRunStatusResultsEndToEnd() throws {
        let w = Workspace()
        let docs = w.documents(3)
        let jobID = try #require(try w.submit(w.job("e2e")).first)
        let store = try w.store()
        let executor = EchoExecutor()
        let events = EventLog()
        let summary = try Runner(store: store, executor: executor, options: w.options(), observe: events.record).run()
        #expect(summary.unitsDone == 3 && summary.unitsFailed == 0 && summary.reason == .noMoreWork)
        #expect(executor.unitsCalled.values.allSatisfy { $0 == 1 } && executor.calls == 3)

        let report = try #require(try store.statistics(jobID: jobID).map(JobReport.init).first)
        #expect(report.state == .done && report.done == 3 && report.pending == 0 && report.etaSeconds == 0)
        #expect(report.strategies == ["dense+f16": 3])
        // Item 5: the document is prefilled once per unit; the per-prompt baseline is recorded beside it.
        #expect(report.perPromptPrefillSeconds > report.prefillSeconds && report.prefillSecondsSaved > 0)

        let results = try store.results(jobID: jobID)
        #expect(results.count == 6)
        for result in results {
            let text = try String(contentsOfFile: result.documentPath, encoding: .utf8)
            #expect(result.output.text == EchoExecutor.expectedOutput(document: text, prompt: result.output.prompt))
        }
        #expect(Set(results.map(\.documentPath)) == Set(docs.map { URL(fileURLWithPath: $0).standardizedFileURL.path }))
        #expect(results.map(\.output.promptIndex) == [0, 1, 0, 1, 0, 1])
        #expect(events.events.contains { if case .unitCompleted = $0 { true } else { false } })
    }

    @Test func aUnitThatFailsThreeTimesIsMarkedFailedAndTheRestGoOn() throws {
        let w = Workspace()
        w.documents(3)
        let jobID = try #require(try w.submit(w.job("retry")).first)
        let store = try w.store()
        let executor = EchoExecutor(EchoBehaviour(failDocumentsContaining: "doc-2"))
        let events = EventLog()
        let summary = try Runner(store: store, executor: executor, options: w.options(), observe: events.record).run()
        #expect(summary.unitsDone == 2 && summary.unitsFailed == 1 && summary.unitsRetried == 2)
        let units = try store.units(jobID: jobID)
        let failed = try #require(units.first { $0.documentPath.hasSuffix("doc-2.txt") })
        #expect(failed.state == .failed && failed.attempts == 3)
        let error = try JSONDecoder().decode(PipelineError.self, from: Data(try #require(failed.lastError).utf8))
        #expect(error == .executorFailed(document: failed.documentPath, detail: "echo executor told to fail (call \(executor.calls))"))
        #expect(events.failures.map(\.1) == [false, false, true])
        #expect(try store.results(jobID: jobID).count == 4)
        #expect(try store.statistics(jobID: jobID).map(JobReport.init).first?.state == .failed)
    }

    @Test func aTransientFailureIsRetried() throws {
        let w = Workspace()
        w.documents(2)
        let jobID = try #require(try w.submit(w.job("transient")).first)
        let store = try w.store()
        let summary = try Runner(store: store, executor: EchoExecutor(EchoBehaviour(failFirstCalls: 1)), options: w.options()).run()
        #expect(summary.unitsDone == 2 && summary.unitsRetried == 1 && summary.unitsFailed == 0)
        #expect(try store.units(jobID: jobID).map(\.attempts).sorted() == [1, 2])
    }

    /// Missing, folder, empty, not UTF-8, changed since submit: each unit fails with its error, the good one runs.
    @Test func badDocumentsFailTheirUnitsWithClearErrors() throws {
        let w = Workspace()
        w.documents(1)
        try FileManager.default.createDirectory(atPath: w.folder.file("docs/folder.txt"), withIntermediateDirectories: true)
        w.folder.write("docs/empty.txt", "")
        w.folder.write("docs/binary.txt", [0x50, 0x4B, 0x03, 0x04, 0xFF, 0xFE])
        w.folder.write("docs/changing.txt", "before")
        let jobID = try #require(try w.submit(w.job("bad-docs", documents: [
            "../docs/doc-1.txt", "../docs/missing.txt", "../docs/folder.txt", "../docs/empty.txt", "../docs/binary.txt",
            "../docs/changing.txt",
        ])).first)
        w.folder.write("docs/changing.txt", "after")
        let store = try w.store()
        let summary = try Runner(store: store, executor: EchoExecutor(), options: w.options()).run()
        #expect(summary.unitsDone == 1 && summary.unitsFailed == 5)
        let errors = try store.units(jobID: jobID).compactMap { unit in
            try unit.lastError.map { try JSONDecoder().decode(PipelineError.self, from: Data($0.utf8)) }
        }
        let path = { (name: String) in URL(fileURLWithPath: w.folder.file("docs/" + name)).standardizedFileURL.path }
        #expect(errors == [
            .documentMissing(path: path("missing.txt")),
            .documentIsFolder(path: path("folder.txt")),
            .documentEmpty(path: path("empty.txt")),
            .documentNotUTF8(path: path("binary.txt"), byteOffset: 4, byte: 0xFF),
            .documentChanged(path: path("changing.txt"), submittedHash: SHA256.hex(Array("before".utf8)),
                             currentHash: SHA256.hex(Array("after".utf8))),
        ])
    }

    @Test(arguments: [OverflowPolicy.fail, .truncateMiddle])
    func longDocumentsFollowTheOverflowPolicy(policy: OverflowPolicy) throws {
        let w = Workspace()
        let docs = w.documents(1, words: 50)
        let jobID = try #require(try w.submit(w.job("long", extra: ["overflow": policy.rawValue])).first)
        let store = try w.store()
        let executor = EchoExecutor(EchoBehaviour(contextLimit: 20))
        _ = try Runner(store: store, executor: executor, options: w.options()).run()
        let stats = try #require(try store.statistics(jobID: jobID).first)
        let unit = try #require(try store.units(jobID: jobID).first)
        switch policy {
        case .fail:
            #expect(unit.state == .failed)
            let error = try JSONDecoder().decode(PipelineError.self, from: Data(try #require(unit.lastError).utf8))
            #expect(error == .documentTooLong(path: URL(fileURLWithPath: docs[0]).standardizedFileURL.path, tokenCount: 50, limit: 20))
        case .truncateMiddle:
            #expect(unit.state == .done && unit.tokenCount == 50)
            #expect(stats.truncatedUnits == 1 && stats.tokensIn == 20 + 4)
        }
    }

    @Test func aSignalReleasesTheCurrentUnitUntouched() throws {
        let w = Workspace()
        w.documents(2)
        let jobID = try #require(try w.submit(w.job("cancel")).first)
        let store = try w.store()
        let stop = StopFlag()
        let events = EventLog()
        let run = BackgroundRun(Runner(store: store, executor: EchoExecutor(EchoBehaviour(sleepPerPromptMs: 5000)),
                                       options: w.options(), stop: stop, observe: events.record))
        #expect(try eventually(within: 10) { try store.units(jobID: jobID).contains { $0.state == .leased } })
        stop.raise("test")
        let summary = try run.wait(seconds: 10)
        #expect(summary.reason == .signal && summary.unitsReleased == 1 && summary.unitsDone == 0)
        let units = try store.units(jobID: jobID)
        #expect(units.allSatisfy { $0.state == .pending && $0.attempts == 0 && $0.leaseOwner == nil })
        #expect(try store.results(jobID: jobID).isEmpty)
        #expect(events.events.contains(.unitReleased(unitID: units[0].unitID)))
    }

    @Test func maxSecondsStopsTakingNewUnitsAndOnceRunsOne() throws {
        let w = Workspace()
        w.documents(4)
        let jobID = try #require(try w.submit(w.job("limits")).first)
        let store = try w.store()
        var options = w.options()
        options.maxSeconds = 0.5
        let executor = EchoExecutor(EchoBehaviour(sleepPerPromptMs: 400))   // 0.8 s per unit
        let timed = try Runner(store: store, executor: executor, options: options).run()
        #expect(timed.reason == .timeLimit && timed.unitsDone == 1)
        options.maxSeconds = nil
        options.once = true
        let once = try Runner(store: store, executor: executor, options: options).run()
        #expect(once.reason == .once && once.unitsDone == 1)
        #expect(try store.statistics(jobID: jobID).first?.count(.pending) == 2)
    }

    /// A heartbeat keeps a unit that outlives its lease period from being taken by another runner.
    @Test func aLongUnitIsNotStolenWhileItsHeartbeatRuns() throws {
        let w = Workspace()
        w.documents(1)
        let jobID = try #require(try w.submit(w.job("heartbeat")).first)
        let executor = EchoExecutor(EchoBehaviour(sleepPerPromptMs: 1500))   // 3 s per unit
        let first = BackgroundRun(Runner(store: try w.store(), executor: executor, options: w.options(lease: 1, heartbeat: 0.1)))
        let store = try w.store()
        #expect(try eventually(within: 10) { try store.units(jobID: jobID).first?.state == .leased })
        for _ in 0..<5 {
            usleep(400_000)   // 2 s in all: well past the 1 s lease, which keeps being renewed
            let other = try Runner(store: store, executor: executor, options: w.options(lease: 1, heartbeat: 0.1)).run()
            #expect(other.unitsStarted == 0)
        }
        #expect(try first.wait().unitsDone == 1)
        #expect(executor.calls == 1)
        #expect(try store.results(jobID: jobID).count == 2)
    }

    /// A runner whose lease expired (hung, no heartbeat) loses the unit; the new holder's outputs are the only ones.
    @Test func anExpiredLeaseIsRedoneWithoutDuplicateOutput() throws {
        let w = Workspace()
        w.documents(1)
        let jobID = try #require(try w.submit(w.job("expired")).first)
        let store = try w.store()
        let slow = EchoExecutor(EchoBehaviour(sleepPerPromptMs: 1500))
        let events = EventLog()
        let hung = BackgroundRun(Runner(store: try w.store(), executor: slow, options: w.options(lease: 0.3, heartbeat: 1000),
                                        observe: events.record))
        #expect(try eventually(within: 10) { try store.units(jobID: jobID).first?.state == .leased })
        #expect(try eventually(within: 10) { try store.leasableUnitCount() == 1 })   // its lease expired
        let rescuer = EchoExecutor()
        let rescued = try Runner(store: store, executor: rescuer, options: w.options()).run()
        #expect(rescued.unitsDone == 1 && rescuer.calls == 1)
        let late = try hung.wait()
        #expect(late.unitsDone == 0 && late.leasesLost == 1)
        #expect(events.events.contains { if case .leaseLost = $0 { true } else { false } })
        let results = try store.results(jobID: jobID)
        #expect(results.map(\.output.promptIndex) == [0, 1])
        #expect(try store.units(jobID: jobID).first?.attempts == 2)
    }

    /// Runners whose previous holders all died are given up after three attempts.
    @Test func aUnitWhoseRunnersKeepDyingIsAbandoned() throws {
        let w = Workspace()
        let docs = w.documents(1)
        let jobID = try #require(try w.submit(w.job("abandoned")).first)
        let store = try w.store()
        for _ in 0..<3 { _ = try store.leaseNextUnit(owner: "doomed", leaseSeconds: 0) }   // three dead runners
        let executor = EchoExecutor()
        let summary = try Runner(store: store, executor: executor, options: w.options()).run()
        #expect(summary.unitsFailed == 1 && executor.calls == 0)
        let unit = try #require(try store.units(jobID: jobID).first)
        let error = try JSONDecoder().decode(PipelineError.self, from: Data(try #require(unit.lastError).utf8))
        #expect(error == .unitAbandoned(document: URL(fileURLWithPath: docs[0]).standardizedFileURL.path, attempts: 3))
    }

    /// Four runners on four connections at once: every unit is executed exactly once.
    @Test func concurrentRunnersNeverShareAUnit() throws {
        let w = Workspace()
        w.documents(16, words: 20)
        let jobID = try #require(try w.submit(w.job("concurrent")).first)
        let executor = EchoExecutor(EchoBehaviour(sleepPerPromptMs: 5))
        let runs = try (0..<4).map { _ in BackgroundRun(Runner(store: try w.store(), executor: executor, options: w.options())) }
        let summaries = try runs.map { try $0.wait() }
        #expect(summaries.reduce(0) { $0 + $1.unitsDone } == 16)
        #expect(executor.unitsCalled.count == 16 && executor.unitsCalled.values.allSatisfy { $0 == 1 })
        let results = try w.store().results(jobID: jobID)
        #expect(results.count == 32)
        #expect(Set(results.map { "\($0.unitID)/\($0.output.promptIndex)" }).count == 32)
    }
}

/// TEST DOUBLE: an executor that breaks the contract by returning no outputs.
struct SilentExecutor: UnitExecutor {
    func plan(_ work: UnitWork) throws -> PlannedUnit { PlannedUnit(work: work, plan: .withoutRouter(work.spec)) }
    func execute(_ unit: PlannedUnit, events: @Sendable (UnitEvent) -> Void, isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        UnitOutcome(prompts: [], measurements: UnitMeasurements(
            documentTokenCount: 1, keptTokenCount: 1, truncation: nil, documentPrefillSeconds: 0, perPromptPrefillSeconds: 0,
            peakMemoryBytes: 0, kvBytesInMemory: 0, kvBytesOnDisk: 0, strategyMix: .exact))
    }
}

@Test func anExecutorThatBreaksItsContractFailsTheUnitAndWritesNothing() throws {
    let w = Workspace()
    let docs = w.documents(1)
    let jobID = try #require(try w.submit(w.job("contract")).first)
    let store = try w.store()
    let events = EventLog()
    _ = try Runner(store: store, executor: SilentExecutor(), options: w.options(), observe: events.record).run()
    #expect(events.failures.map(\.0).last == .executorContractViolated(
        document: URL(fileURLWithPath: docs[0]).standardizedFileURL.path, detail: "returned 0 outputs for 2 prompts"))
    #expect(try store.units(jobID: jobID).first?.state == .failed)
    #expect(try store.results(jobID: jobID).isEmpty)
}

/// TEST DOUBLE: the echo executor, with a plan of its own per unit, recording the plans it is
/// handed to execute.
final class PlanningEchoExecutor: UnitExecutor, @unchecked Sendable {
    let echo = EchoExecutor()
    private let lock = NSLock()
    private var planned: [Int64: String] = [:]
    private var executed: [Int64: String] = [:]
    var plansMade: [Int64: String] { lock.withLock { planned } }
    var plansExecuted: [Int64: String] { lock.withLock { executed } }

    func plan(_ work: UnitWork) throws -> PlannedUnit {
        let reason = "test route for unit \(work.unitID)"
        lock.withLock { planned[work.unitID] = reason }
        return PlannedUnit(work: work, plan: UnitPlan(mix: StrategyMix(.dense, kv: .int8), prediction: nil, reason: reason))
    }

    func execute(_ unit: PlannedUnit, events: @Sendable (UnitEvent) -> Void, isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        lock.withLock { executed[unit.work.unitID] = unit.plan.reason }
        return try echo.execute(unit, events: events, isCancelled: isCancelled)
    }
}

/// The runner plans each unit once, hands that plan to the executor unchanged, and records the
/// plan's route with the unit.
@Test func theRunnerHandsThePlanToTheExecutorAndRecordsItsRoute() throws {
    let w = Workspace()
    w.documents(3)
    let jobID = try #require(try w.submit(w.job("planned")).first)
    let store = try w.store()
    let executor = PlanningEchoExecutor()
    let summary = try Runner(store: store, executor: executor, options: w.options()).run()
    #expect(summary.unitsDone == 3)
    #expect(executor.plansMade.count == 3 && executor.plansExecuted == executor.plansMade)
    let units = try store.units(jobID: jobID)
    #expect(units.count == 3)
    for unit in units { #expect(unit.routeReason == "test route for unit \(unit.unitID)") }
    #expect(try store.statistics(jobID: jobID).map(JobReport.init).first?.strategies == ["dense+int8": 3])
}

/// A unit whose planning fails (a document too long for the context under `overflow: fail`)
/// is recorded as failed with that error, and is never executed.
@Test func aUnitThatCannotBePlannedFailsWithoutRunning() throws {
    let w = Workspace()
    w.documents(2)
    let jobID = try #require(try w.submit(w.job("unplannable")).first)
    let store = try w.store()
    let events = EventLog()
    let summary = try Runner(store: store, executor: UnplannableExecutor(), options: w.options(), observe: events.record).run()
    #expect(summary.unitsFailed == 2 && summary.unitsDone == 0)
    #expect(events.failures.allSatisfy { if case .documentTooLong = $0.0 { true } else { false } })
    #expect(try store.units(jobID: jobID).allSatisfy { $0.state == .failed })
}

/// TEST DOUBLE: planning always refuses the document; executing would be a test failure.
struct UnplannableExecutor: UnitExecutor {
    func plan(_ work: UnitWork) throws -> PlannedUnit {
        throw PipelineError.documentTooLong(path: work.documentPath, tokenCount: 10, limit: 5)
    }
    func execute(_ unit: PlannedUnit, events: @Sendable (UnitEvent) -> Void, isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        Issue.record("unit \(unit.work.unitID) executed without a plan")
        throw CancellationError()
    }
}

import Foundation
import Testing
import Store
@testable import Pipeline

/// Runner processes: killed with SIGKILL, stopped with SIGTERM, run side by side.
@Suite(.serialized) struct ProcessTests {
    /// kill -9 a runner mid-unit, restart: every (unit, prompt) has exactly one output.
    @Test func aKilledRunnersUnitIsRedoneWithExactlyOneOutputPerPrompt() throws {
        let w = Workspace()
        w.documents(3)
        let jobID = try #require(try w.submit(w.job("crash")).first)
        let store = try w.store()
        let callLog = w.folder.file("calls.log")
        let configuration = ChildRunnerConfiguration(
            database: w.databasePath, behaviour: EchoBehaviour(sleepPerPromptMs: 300, callLog: callLog),
            leaseSeconds: 1.5, heartbeatSeconds: 0.3)
        let victim = try configuration.launch(log: w.folder.file("victim.log"))
        let pid = victim.processIdentifier
        // Wait until it is inside the executor (mid-unit: leased, executing, nothing written yet).
        var killedUnit: UnitSummary?
        #expect(try eventually(within: 30) {
            let calls = (try? String(contentsOfFile: callLog, encoding: .utf8)) ?? ""
            killedUnit = try store.units(jobID: jobID).first { unit in
                unit.leaseOwner?.contains(":\(pid):") == true && calls.contains("\(pid) \(unit.unitID) ")
            }
            return killedUnit != nil
        })
        kill(pid, SIGKILL)
        #expect(waitForExit(victim, seconds: 10))
        #expect(victim.terminationReason == .uncaughtSignal)
        let unit = try #require(killedUnit)
        #expect(try store.results(jobID: jobID).allSatisfy { $0.unitID != unit.unitID })

        // The dead runner's lease expires; a new runner (as cron would start) redoes its unit.
        #expect(try eventually(within: 10) { try store.leasableUnitCount() == 3 - (try store.statistics(jobID: jobID).first?.count(.done) ?? 0) })
        let restart = try configuration.launch(log: w.folder.file("restart.log"))
        #expect(waitForExit(restart, seconds: 60))
        #expect(restart.terminationStatus == 0)

        let results = try store.results(jobID: jobID)
        #expect(results.count == 6)
        #expect(Set(results.map { "\($0.unitID)/\($0.output.promptIndex)" }).count == 6)
        let units = try store.units(jobID: jobID)
        #expect(units.allSatisfy { $0.state == .done })
        #expect(units.first { $0.unitID == unit.unitID }?.attempts == 2)
        let calls = try String(contentsOfFile: callLog, encoding: .utf8).split(separator: "\n")
        #expect(calls.filter { $0.split(separator: " ")[1] == "\(unit.unitID)" }.count == 2)   // started twice, written once
    }

    /// Two runner processes started together (overlapping cron runs) never run the same unit;
    /// status and results keep answering while they write.
    @Test func twoRunnerProcessesNeverShareAUnitAndStatusWorksMeanwhile() throws {
        let w = Workspace()
        w.documents(10, words: 30)
        let jobID = try #require(try w.submit(w.job("pair")).first)
        let callLog = w.folder.file("calls.log")
        let configuration = ChildRunnerConfiguration(database: w.databasePath,
                                                     behaviour: EchoBehaviour(sleepPerPromptMs: 60, callLog: callLog))
        let runners = try (1...2).map { try configuration.launch(log: w.folder.file("runner-\($0).log")) }
        let store = try w.store()
        var readsWhileRunning = 0
        while runners.contains(where: \.isRunning) {
            let status = try Processes.pipeline(["status", jobID, "--json"], database: w.databasePath, in: w.folder.path)
            let results = try Processes.pipeline(["results", jobID, "--jsonl"], database: w.databasePath, in: w.folder.path)
            #expect(status.status == 0 && results.status == 0, "\(status.stderr) \(results.stderr)")
            _ = try store.statistics(jobID: jobID)
            if runners.contains(where: \.isRunning) { readsWhileRunning += 1 }
        }
        #expect(readsWhileRunning > 0)
        #expect(runners.allSatisfy { $0.terminationStatus == 0 })
        let calls = try String(contentsOfFile: callLog, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        #expect(calls.count == 10)
        #expect(Set(calls.map { $0[1] }).count == 10)   // each unit executed once, by one of the two
        let results = try store.results(jobID: jobID)
        #expect(results.count == 20 && Set(results.map { "\($0.unitID)/\($0.output.promptIndex)" }).count == 20)
    }

    /// SIGTERM: the runner releases its unit untouched and exits 0.
    @Test func sigtermReleasesTheUnitAndExitsCleanly() throws {
        let w = Workspace()
        w.documents(1)
        let jobID = try #require(try w.submit(w.job("term")).first)
        let store = try w.store()
        let runner = try ChildRunnerConfiguration(database: w.databasePath, behaviour: EchoBehaviour(sleepPerPromptMs: 10_000))
            .launch(log: w.folder.file("runner.log"))
        #expect(try eventually(within: 30) { try store.units(jobID: jobID).first?.state == .leased })
        kill(runner.processIdentifier, SIGTERM)
        #expect(waitForExit(runner, seconds: 10))
        #expect(runner.terminationReason == .exit && runner.terminationStatus == 0)
        let unit = try #require(try store.units(jobID: jobID).first)
        #expect(unit.state == .pending && unit.attempts == 0 && unit.leaseOwner == nil)
        #expect(try store.results(jobID: jobID).isEmpty)
        let log = try String(contentsOfFile: w.folder.file("runner.log"), encoding: .utf8)
        #expect(log.contains("unitReleased"))
    }
}

import Foundation
import Testing
import Store
@testable import Pipeline

@Suite struct ProgressTests {
    func start(_ unitID: Int64) -> RunnerEvent {
        .unitStarted(UnitStart(unitID: unitID, jobID: "j", jobName: "job", documentPath: "/d/\(unitID).txt", attempt: 1,
                               promptCount: 2, previousOwner: nil))
    }

    func metrics(_ unitID: Int64, tokensIn: Int, tokensOut: Int) -> MetricsRecord {
        MetricsRecord(unitID: unitID, contentHash: "h", documentTokenCount: tokensIn, keptTokenCount: tokensIn,
                      truncatedHeadTokens: nil, truncatedTailTokens: nil, tokensIn: tokensIn, tokensOut: tokensOut,
                      prefillSeconds: 1, prefillTokensPerSecond: 1, decodeSeconds: 1, decodeTokensPerSecond: 1,
                      documentPrefillSeconds: 1, perPromptPrefillSeconds: 2, peakMemoryBytes: 0, strategyMix: "dense+f16",
                      kvBytesInMemory: 0, kvBytesOnDisk: 0, wallSeconds: 2, runner: "r")
    }

    @Test func unitsTokensPerSecondAndETAFollowTheEvents() {
        let t0 = Date(timeIntervalSince1970: 1000)
        var progress = RunProgress(startedAt: t0)
        progress.apply(.started(owner: "r", leasableUnits: 4))
        #expect(progress.etaSeconds(at: t0.addingTimeInterval(1)) == nil)
        progress.apply(start(1))
        progress.apply(.unitProgress(unitID: 1, .prefill(doneTokens: 600, totalTokens: 900)))
        #expect(progress.currentTokens == 600 && progress.currentPhase == "prefill 600/900")
        progress.apply(.unitProgress(unitID: 1, .decode(promptIndex: 1, generatedTokens: 40)))
        #expect(progress.currentTokens == 640 && progress.currentPhase == "prompt 2/2: 40 tokens")
        progress.apply(.unitCompleted(unitID: 1, metrics: metrics(1, tokensIn: 900, tokensOut: 100)))
        #expect(progress.unitsDone == 1 && progress.current == nil && progress.currentTokens == 0)
        progress.apply(start(2))
        progress.apply(.unitFailed(unitID: 2, error: .documentEmpty(path: "/d/2.txt"), final: true))
        let now = t0.addingTimeInterval(10)
        #expect(progress.unitsFinished == 2 && progress.unitsFailed == 1)
        #expect(progress.tokensPerSecond(at: now) == 100)       // 1000 tokens in 10 s
        #expect(progress.etaSeconds(at: now) == 10)             // 2 units left at 5 s each
    }

    @Test(arguments: [
        ([UnitState.pending: 2], JobReport.State.pending),
        ([.pending: 1, .done: 1], .pending),
        ([.leased: 1, .done: 1], .running),
        ([.done: 2], .done),
        ([.done: 1, .failed: 1], .failed),
        ([:], .pending),
    ])
    func jobStateFollowsItsUnits(counts: [UnitState: Int], state: JobReport.State) {
        let job = JobRecord(id: "j", name: "job", specJSON: "{}", specHash: "h", sourcePath: "/j.json", modelPath: nil,
                            promptCount: 1, submittedAt: Date())
        #expect(JobReport(JobStatistics(job: job, unitCounts: counts)).state == state)
    }
}

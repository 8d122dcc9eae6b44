// TEST DOUBLE — not an inference engine. A deterministic `UnitExecutor` for testing leasing,
// retries, crash recovery, concurrency and status/results without a model: a "token" is a
// whitespace-separated word, and the output of a prompt is a hash of the document and the prompt.
// It can be told to sleep per prompt, to fail its first N calls or on some documents, and it
// counts its calls per unit (and can append them to a log file shared between processes).
import Foundation
import Pipeline
import Planner

struct EchoBehaviour: Codable, Sendable {
    /// Sleep this long per prompt (in slices, watching `isCancelled`).
    var sleepPerPromptMs = 0
    /// Throw on the first N calls of this executor.
    var failFirstCalls = 0
    /// Always throw for documents whose path contains this.
    var failDocumentsContaining: String?
    /// Context limit in words, for the overflow policy.
    var contextLimit = 8192
    /// Append "pid unitID attempt" per call to this file (O_APPEND; shared by processes).
    var callLog: String?
}

struct EchoFailure: Error, CustomStringConvertible {
    let call: Int
    var description: String { "echo executor told to fail (call \(call))" }
}

final class EchoExecutor: UnitExecutor, @unchecked Sendable {
    let behaviour: EchoBehaviour
    private let lock = NSLock()
    private var callsPerUnit: [Int64: Int] = [:]
    private var totalCalls = 0

    init(_ behaviour: EchoBehaviour = EchoBehaviour()) { self.behaviour = behaviour }

    var calls: Int { lock.withLock { totalCalls } }
    func calls(unit: Int64) -> Int { lock.withLock { callsPerUnit[unit] ?? 0 } }
    var unitsCalled: [Int64: Int] { lock.withLock { callsPerUnit } }

    /// The output the executor gives for a document text and prompt: what tests compare against.
    static func expectedOutput(document: String, prompt: String) -> String {
        "echo " + SHA256.hex(Array((document + "\u{0}" + prompt).utf8)).prefix(16)
    }

    func plan(_ work: UnitWork) throws -> PlannedUnit { PlannedUnit(work: work, plan: .withoutRouter(work.spec)) }

    func execute(_ unit: PlannedUnit, events: @Sendable (UnitEvent) -> Void,
                 isCancelled: @Sendable () -> Bool) throws -> UnitOutcome {
        let work = unit.work
        let call = lock.withLock {
            totalCalls += 1
            callsPerUnit[work.unitID, default: 0] += 1
            return totalCalls
        }
        if let log = behaviour.callLog { Self.append("\(getpid()) \(work.unitID) \(work.attempt)\n", to: log) }
        if call <= behaviour.failFirstCalls { throw EchoFailure(call: call) }
        if let marker = behaviour.failDocumentsContaining, work.documentPath.contains(marker) { throw EchoFailure(call: call) }

        let words = work.documentText.split(whereSeparator: \.isWhitespace)
        let (kept, truncation) = try work.spec.overflow.apply(to: words, limit: behaviour.contextLimit, documentPath: work.documentPath)
        events(.tokenized(documentTokens: words.count, keptTokens: kept.count))
        events(.prefill(doneTokens: kept.count, totalTokens: kept.count))
        let documentPrefillSeconds = Double(kept.count) * 1e-5   // synthetic, deterministic

        var prompts: [PromptOutcome] = []
        for (index, prompt) in work.spec.prompts.enumerated() {
            if isCancelled() { throw CancellationError() }
            try sleep(milliseconds: behaviour.sleepPerPromptMs, isCancelled: isCancelled)
            let promptTokens = prompt.split(whereSeparator: \.isWhitespace).count
            let generated = min(8, work.spec.maxNewTokens)
            events(.decode(promptIndex: index, generatedTokens: generated))
            events(.promptFinished(promptIndex: index))
            prompts.append(PromptOutcome(text: Self.expectedOutput(document: work.documentText, prompt: prompt),
                                         promptTokenCount: promptTokens, generatedTokenCount: generated,
                                         prefillSeconds: Double(promptTokens) * 1e-5, decodeSeconds: Double(generated) * 1e-3,
                                         finishReason: generated == work.spec.maxNewTokens ? .length : .stop))
        }
        let strategy = unit.plan.mix
        // The baseline re-prefills document + prompt for every prompt.
        let perPrompt = prompts.reduce(0) { $0 + documentPrefillSeconds + $1.prefillSeconds }
        let measurements = UnitMeasurements(
            documentTokenCount: words.count, keptTokenCount: kept.count, truncation: truncation,
            documentPrefillSeconds: documentPrefillSeconds, perPromptPrefillSeconds: perPrompt,
            peakMemoryBytes: kept.count * 64, kvBytesInMemory: kept.count * 32, kvBytesOnDisk: 0, strategyMix: strategy)
        return UnitOutcome(prompts: prompts, measurements: measurements)
    }

    private func sleep(milliseconds: Int, isCancelled: () -> Bool) throws {
        var left = milliseconds
        while left > 0 {
            if isCancelled() { throw CancellationError() }
            let slice = min(left, 20)
            usleep(useconds_t(slice * 1000))
            left -= slice
        }
    }

    private static func append(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

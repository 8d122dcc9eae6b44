import ArgumentParser
import Foundation
import Grammar
import Pipeline

struct BenchStructuredCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-structured",
        abstract: "Measure constrained decoding: schema compile time, and mask time per decode step against the step.",
        discussion: """
        Every prompt with a response_format in the job files is decoded greedily at depth ~0 (the
        prompt alone, no document), --rounds times, rounds interleaved over the schemas. Round 0
        starts with an empty plan cache (cold), later rounds reuse it (warm). Per row: compile ms
        (median of 5), decode steps, forward passes, forced tokens, median step ms, mask µs (mean,
        median, p99; mask = plan + masking the logits, sampling excluded), and mask/step.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "Job files whose prompts have a response_format.") var jobFiles: [String]
    @Option(help: "Rounds over all schemas (round 0 cold).") var rounds = 3
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object per row.") var json = false

    func run() async throws {
        try await reportingErrors {
            var cases: [(name: String, format: ResponseFormat, prompt: String, maxNewTokens: Int)] = []
            for file in jobFiles {
                let spec = try JobFile.load(file, roots: DocumentRoots.fromEnvironment()).spec
                for i in spec.prompts.indices {
                    let s = spec.settings(ofPrompt: i)
                    if let format = s.responseFormat { cases.append(("\(spec.name)#\(i)", format, s.text, s.maxNewTokens)) }
                }
            }
            guard !cases.isEmpty else { throw CLIFailure(.dataError, "no prompt of these job files has a response_format") }
            let load0 = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
            let bench = try StructuredOutputBenchmark(modelPath: modelOptions.modelPath, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
            print(String(format: "token trie: %d nodes, built in %.1f ms; load average before: %@", bench.trieNodeCount, bench.trieSeconds * 1e3,
                         load0?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"))
            var maskers: [Int: TokenMasker] = [:]
            var compile: [Int: Double] = [:]
            for round in 0..<rounds {
                for (i, c) in cases.enumerated() {
                    if maskers[i] == nil {
                        compile[i] = try bench.compileSeconds(c.format)
                        maskers[i] = try bench.freshMasker(c.format)
                    }
                    let row = try bench.decode(name: c.name, round: round, compileSeconds: compile[i]!, masker: maskers[i]!,
                                               prompt: c.prompt, maxNewTokens: c.maxNewTokens)
                    if json { try printJSON(row); continue }
                    print(String(format: "%-28@ r%d compile %6.2f ms  %3d steps %3d passes %3d tokens (%2d forced) %@  step %6.2f ms  mask µs mean %7.1f med %7.1f p99 %8.1f  mask/step %5.2f%%",
                                 row.schema, row.round, row.compileMilliseconds, row.steps, row.forwardPasses, row.generatedTokens,
                                 row.forcedTokens, row.finishReason, row.stepMillisecondsMedian, row.maskMicrosecondsMean,
                                 row.maskMicrosecondsMedian, row.maskMicrosecondsP99, row.maskShareOfStep * 100))
                }
            }
            let load1 = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
            print("load average after: \(load1?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?")")
        }
    }
}

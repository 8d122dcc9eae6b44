import ArgumentParser
import Foundation
import Pipeline
import Store

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Print a job's outputs: one record per (document, prompt).",
        discussion: """
        JOB is a job id, or a name for its latest version. Outputs of done units are printed in unit
        then prompt order, also while runners are still working. With --jsonl, one JSON object per
        line: job, unit, document, prompt_index, prompt, output, prompt_tokens, generated_tokens,
        prefill_seconds, decode_seconds, finish_reason, mix (what ran), route (why). Exit 66 when the store or the job does not exist.
        """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "A job id or name.")
    var job: String

    @Flag(help: "One JSON object per line.")
    var jsonl = false

    struct Line: Encodable {
        var job: String
        var unit: Int64
        var document: String
        var promptIndex: Int
        var prompt: String
        var output: String
        var promptTokens: Int
        var generatedTokens: Int
        var prefillSeconds: Double
        var decodeSeconds: Double
        var finishReason: String
        /// The mix the unit ran and why.
        var mix: String?
        var route: String?

        enum CodingKeys: String, CodingKey {
            case job, unit, document, prompt, output, mix, route
            case promptIndex = "prompt_index", promptTokens = "prompt_tokens", generatedTokens = "generated_tokens"
            case prefillSeconds = "prefill_seconds", decodeSeconds = "decode_seconds", finishReason = "finish_reason"
        }

        init(_ r: ResultRecord) {
            job = r.jobID
            unit = r.unitID
            document = r.documentPath
            promptIndex = r.output.promptIndex
            prompt = r.output.prompt
            output = r.output.text
            promptTokens = r.output.promptTokenCount
            generatedTokens = r.output.generatedTokenCount
            prefillSeconds = r.output.prefillSeconds
            decodeSeconds = r.output.decodeSeconds
            finishReason = r.output.finishReason
            mix = r.strategyMix
            route = r.routeReason
        }
    }

    func run() async throws {
        try await reportingErrors {
            let store = try storeOptions.open(createIfMissing: false, readOnly: true)
            let record = try store.job(job)
            let results = try store.results(jobID: record.id)
            if jsonl {
                for result in results { try printJSON(Line(result)) }
                return
            }
            for result in results {
                let o = result.output
                print("== \(displayPath(result.documentPath)) — prompt \(o.promptIndex + 1)/\(record.promptCount) (unit \(result.unitID))")
                print("> \(o.prompt)")
                print(o.text)
                print("[\(o.promptTokenCount) prompt tokens, \(o.generatedTokenCount) generated (\(o.finishReason)), prefill \(String(format: "%.2f", o.prefillSeconds)) s, decode \(String(format: "%.2f", o.decodeSeconds)) s]")
                print("")
            }
            let failed = try store.units(jobID: record.id).filter { $0.state == .failed }
            for unit in failed {
                print("== \(displayPath(unit.documentPath)) (unit \(unit.unitID)) failed: \(unit.lastError.map(PipelineError.message(stored:)) ?? "unknown error")")
            }
            if results.isEmpty && failed.isEmpty { print("no results yet for job \(record.name) (\(record.id))") }
        }
    }
}

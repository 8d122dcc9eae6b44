import ArgumentParser
import Foundation
import Pipeline
import Planner
import Store

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show, per document of a job, the strategy mixes the router considered and why the winner won.",
        discussion: """
        Every mix this build runs ({dense, topk, da-topk, lsh} × {f16, int8, int4}, default parameters) is \
        checked against its newest calibration row (pipeline eval) for the job's fidelity and costed by the \
        cost model on the newest machine profile (pipeline calibrate, refit after runs): predicted seconds, \
        peak memory and spill under the job's memory budget. A job that pins a mix runs it; the plan still \
        shows what auto would choose. Exit 66 when the store or the job does not exist.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "A job id or name.") var job: String
    @Option(help: "Threads the profile was measured with (default: the newest profile).") var threads: Int?
    @Option(help: "KV folder whose document snapshots count as cached (default: $PIPELINE_KV_DIR or data/kv); only read.")
    var kvDir: String?
    @Flag(help: "Print JSON.") var json = false

    struct DocumentPlan: Encodable {
        var document: String
        var tokens: Int?
        var route: Route?
        var error: String?
    }

    struct Output: Encodable {
        var job: String
        var fidelity: String
        var strategy: String
        var documents: [DocumentPlan]
    }

    func run() async throws {
        try await reportingErrors {
            let store = try storeOptions.open(createIfMissing: false, readOnly: true)
            let record = try store.job(job)
            let spec = try JobSpec.stored(record.specJSON, jobID: record.id)
            let router = try JobRouter.load(from: store, threads: threads)
            let executor = ModelUnitExecutor(threads: 1, kvDirectory: kvDir ?? Defaults.kvDirectory)
            let modelPath = record.modelPath ?? modelOptions.modelPath
            var plans: [DocumentPlan] = []
            for unit in try store.units(jobID: record.id) {
                do {
                    let text = try DocumentReader.read(unit.documentPath, expectedHash: nil)
                    let work = UnitWork(jobID: record.id, jobName: record.name, unitID: unit.unitID, attempt: 0, documentPath: unit.documentPath,
                                        documentText: text.text, spec: spec, memoryBudgetMB: spec.memoryBudgetMB, modelPath: modelPath, threads: 1)
                    let (route, tokens) = try executor.route(work, router: router)
                    plans.append(DocumentPlan(document: unit.documentPath, tokens: tokens, route: route))
                } catch {
                    plans.append(DocumentPlan(document: unit.documentPath, error: "\(error)"))
                }
            }
            let requested: String = switch spec.strategy {
            case .auto: "auto"
            case let .pinned(mix): mix.label
            }
            let output = Output(job: record.id, fidelity: spec.fidelity.rawValue, strategy: requested, documents: plans)
            if json { try printJSON(output); return }
            print("job \(record.id) \(record.name): fidelity \(spec.fidelity.rawValue), strategy \(requested), memory budget \(spec.memoryBudgetMB) MiB"
                  + (router.profile == nil ? " — no machine profile: run pipeline calibrate" : ""))
            for p in plans {
                guard let route = p.route else { print("\n\(p.document): \(p.error ?? "")"); continue }
                print("\n\(p.document) (\(p.tokens ?? 0) tokens): \(route.chosen) — \(route.reason)")
                for a in route.alternatives {
                    let cost = a.prediction.map {
                        String(format: "%7.1f s (prefill %.1f, decode %.1f), peak %4d MiB", $0.seconds, $0.prefillSeconds, $0.decodeSeconds, $0.peakMemoryBytes >> 20)
                    } ?? String(repeating: " ", count: 9) + "—"
                    print("  \(a.mix == route.chosen ? "*" : " ") \(a.mix.padding(toLength: 13, withPad: " ", startingAt: 0)) \(a.eligible ? "eligible  " : "excluded  ")\(cost)  \(a.reason)")
                }
            }
        }
    }
}

import Evaluation
import Foundation
import Model
import Pipeline
import Store
import Testing
import TestSupport

/// The whole product on a tiny synthetic model, through the `pipeline` binary: submit → run →
/// status → results. The recorded outputs must be exactly what the model generates for each
/// (document, prompt) when run directly — the runner stores the engine's real work.
@Suite struct EndToEndModelTests {
    @Test func submitRunStatusResultsOnASyntheticModel() throws {
        let w = Workspace()
        let modelPath = SyntheticModel.chat(seed: 5).write(in: w.folder, name: "models/tiny.gguf")
        w.documents(3, words: 40)
        w.folder.write("docs/bad.txt", [0xC3, 0x28]) // not UTF-8: its unit fails, the others go on
        let prompts = ["Summarize the text.", "Which word comes first?"]
        let jobPath = w.job("tiny", prompts: prompts, extra: ["model": "../models/tiny.gguf", "max_new_tokens": 6])

        let submit = try Processes.pipeline(["submit", jobPath], database: w.databasePath, in: w.folder.path)
        #expect(submit.status == 0, "\(submit.stderr)")
        let run = try Processes.pipeline(["run", "--threads", "2"], database: w.databasePath, in: w.folder.path)
        #expect(run.status == 0, "\(run.stderr)")

        let status = try Processes.pipeline(["status", "tiny", "--json"], database: w.databasePath, in: w.folder.path)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let job = try #require((json["jobs"] as? [[String: Any]])?.first)
        #expect(job["done"] as? Int == 3 && job["failed"] as? Int == 1 && job["pending"] as? Int == 0)

        let results = try Processes.pipeline(["results", "tiny", "--jsonl"], database: w.databasePath, in: w.folder.path)
        let records = results.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(records.count == 3 * prompts.count)

        // The same work done directly by the executor gives the same texts.
        let executor = ModelUnitExecutor(threads: 1, kvDirectory: w.folder.file("kv"))
        let spec = try JobFile.load(jobPath, roots: w.roots).spec
        for n in 1...3 {
            let path = w.folder.file("docs/doc-\(n).txt")
            let work = UnitWork(jobID: "direct", jobName: "tiny", unitID: Int64(n), attempt: 1, documentPath: path,
                                documentText: try String(contentsOfFile: path, encoding: .utf8), spec: spec,
                                memoryBudgetMB: 1024, modelPath: modelPath, threads: 1)
            let outcome = try executor.execute(work, events: { _ in }, isCancelled: { false })
            let recorded = records.filter { ($0["document"] as? String)?.hasSuffix("doc-\(n).txt") == true }
            #expect(recorded.count == prompts.count)
            for (i, prompt) in outcome.prompts.enumerated() {
                let r = recorded.first { ($0["prompt_index"] as? Int) == i }
                #expect(r?["output"] as? String == prompt.text, "doc-\(n) prompt \(i)")
                #expect(prompt.generatedTokenCount <= 6)
            }
            #expect(outcome.measurements.perPromptPrefillSeconds > outcome.measurements.documentPrefillSeconds)
        }
    }

    /// Units run together (decode steps batched across documents) record the same outputs as
    /// units run one at a time; a bad document in the batch fails alone.
    @Test func batchedUnitsRecordTheSameOutputs() throws {
        func run(batch: Int) throws -> [String: String] {
            let w = Workspace()
            _ = SyntheticModel.chat(seed: 9).write(in: w.folder, name: "models/tiny.gguf")
            w.documents(5, words: 30)
            w.folder.write("docs/doc-6.txt", "")
            let job = w.job("batched", prompts: ["One?", "Two, a longer prompt?", "Three?"],
                            extra: ["model": "../models/tiny.gguf", "max_new_tokens": 7])
            #expect(try Processes.pipeline(["submit", job], database: w.databasePath, in: w.folder.path).status == 0)
            let r = try Processes.pipeline(["run", "--batch-units", "\(batch)", "--threads", "2"], database: w.databasePath, in: w.folder.path)
            #expect(r.status == 0, "\(r.stderr)")
            let status = try Processes.pipeline(["status", "batched", "--json"], database: w.databasePath, in: w.folder.path)
            let job0 = try #require(((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]])?.first)
            #expect(job0["done"] as? Int == 5 && job0["failed"] as? Int == 1)
            let lines = try Processes.pipeline(["results", "batched", "--jsonl"], database: w.databasePath, in: w.folder.path).stdout
            var outputs: [String: String] = [:]
            for line in lines.split(separator: "\n") {
                guard let r = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let doc = r["document"] as? String, let i = r["prompt_index"] as? Int, let out = r["output"] as? String else { continue }
                outputs["\((doc as NSString).lastPathComponent)#\(i)"] = out
            }
            return outputs
        }
        let single = try run(batch: 1), batched = try run(batch: 4)
        #expect(single.count == 15)
        #expect(batched == single)
    }

    /// `pipeline calibrate` stores a profile; `pipeline plan` then costs every mix per document
    /// (without calibration rows only dense f16 is eligible at fidelity high, and says why);
    /// `pipeline run` records each unit's prediction, `status --json` the prediction error.
    @Test func calibratePlanRunRecordsPredictions() throws {
        let w = Workspace()
        _ = SyntheticModel.chat(seed: 3).write(in: w.folder, name: "models/tiny.gguf")
        w.documents(2, words: 30)
        let job = w.job("planned", prompts: ["One?", "Two?"], extra: ["model": "../models/tiny.gguf", "max_new_tokens": 4])
        func cli(_ args: [String]) throws -> CLIResult {
            try Processes.pipeline(args, database: w.databasePath, in: w.folder.path)
        }
        #expect(try cli(["submit", job]).status == 0)
        let unplanned = try cli(["plan", "planned", "--json", "--model", "models/tiny.gguf"])
        #expect(unplanned.status == 0, "\(unplanned.stderr)")
        #expect(unplanned.stdout.contains("no machine profile"))
        let calibrate = try cli(["calibrate", "--model", "models/tiny.gguf", "--threads", "2", "--fidelity", "skip"])
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        let plan = try cli(["plan", "planned", "--json", "--model", "models/tiny.gguf"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let documents = try #require(object["documents"] as? [[String: Any]])
        #expect(documents.count == 2)
        for d in documents {
            let route = try #require(d["route"] as? [String: Any])
            #expect(route["chosen"] as? String == "dense+f16")
            let alternatives = try #require(route["alternatives"] as? [[String: Any]])
            #expect(alternatives.count == 12)
            #expect(alternatives.filter { $0["eligible"] as? Bool == true }.count == 1)
            // int4 pages need a head size that is a multiple of 64: this model's 16 has no int4 cost
            let costed = alternatives.filter { $0["prediction"] != nil }.compactMap { $0["mix"] as? String }
            #expect(Set(costed) == Set(alternatives.compactMap { $0["mix"] as? String }.filter { !$0.hasSuffix("int4") }), "\(costed)")
        }
        #expect(try cli(["run", "--threads", "2"]).status == 0)
        let status = try cli(["status", "planned", "--json"])
        let jobs = try #require((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]])
        #expect(jobs.first?["predicted_units"] as? Int == 2)
        #expect((jobs.first?["prediction_error"] as? Double).map { $0 >= 0 } == true)
    }

    /// `calibrate` measures fidelity rows for every mix on the given documents and needles and can
    /// export them; a shipped file keyed by the model's SHA-256 is imported instead of measuring,
    /// and one whose digest is not the model's is refused.
    @Test func calibrateMeasuresShipsAndImportsFidelityRows() throws {
        let w = Workspace()
        let modelPath = SyntheticModel.chat(seed: 3).write(in: w.folder, name: "models/tiny.gguf")
        w.documents(1, words: 40)
        let needle = #"[{"name": "n1", "prompt": "word1-1 word2-1", "answer": "word"}]"#
        w.folder.write("needles.json", needle)
        func cli(_ args: [String], db: String) throws -> CLIResult {
            try Processes.pipeline(args, database: w.folder.file(db), in: w.folder.path)
        }
        let measured = try cli(["calibrate", "--model", "models/tiny.gguf", "--threads", "2", "--fidelity", "measure",
                                "--fidelity-docs", "docs/doc-1.txt", "--fidelity-needles", "needles.json", "--fidelity-steps", "4",
                                "--export", "shipped.json"], db: "a.sqlite")
        #expect(measured.status == 0, "\(measured.stderr)")
        // Mixes of one KV format share each prefill: the document and the needle are prefilled in
        // f16 (the reference) and int8 (dense+int8, first), then loaded by the other six mixes.
        #expect(measured.stdout.contains("7 rows in") && measured.stdout.contains("4 prefixes prefilled, 12 loaded"), "\(measured.stdout)")
        let measuredRows = try SQLiteStore(path: w.folder.file("a.sqlite")).calibrations()
        // Every mix but dense f16 that this model's head size allows (int4 needs 64): 7 of 11.
        #expect(measuredRows.count == 7 && measuredRows.allSatisfy { $0.probableTop1Agreement != nil && $0.answersCompared == 1 })
        #expect(measured.stdout.contains("not measured on this model"))

        let digest = SHA256.hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: modelPath))))
        try FileManager.default.createDirectory(atPath: w.folder.file("shipped"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: w.folder.file("shipped.json"), toPath: w.folder.file("shipped/\(digest).json"))
        let imported = try cli(["calibrate", "--model", "models/tiny.gguf", "--threads", "2", "--calibration-dir", "shipped"], db: "b.sqlite")
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("7 rows shipped for this model"))
        #expect(try SQLiteStore(path: w.folder.file("b.sqlite")).calibrations().map(\.meanKL) == measuredRows.map(\.meanKL))

        let other = String(repeating: "0", count: 64)
        let text = try String(contentsOfFile: w.folder.file("shipped.json"), encoding: .utf8).replacingOccurrences(of: digest, with: other)
        try text.write(toFile: w.folder.file("shipped/\(digest).json"), atomically: true, encoding: .utf8)
        let refused = try cli(["calibrate", "--model", "models/tiny.gguf", "--threads", "2", "--calibration-dir", "shipped"], db: "c.sqlite")
        #expect(refused.status == 65 && refused.stderr.contains("was measured on a model with SHA-256 \(other)"), "\(refused.stderr)")
    }

    /// The rows that ship are for the default model file, by its SHA-256, and cover every mix the
    /// router weighs against the exact one, with the figures the fidelity tiers read.
    @Test func shippedRowsAreTheDefaultModelFiles() throws {
        let modelPath = try Paths.requireFile(Paths.realModel)
        let digest = SHA256.hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: modelPath))))
        let file = Paths.inPackage("data/calibration/\(digest).json")
        let data = try #require(FileManager.default.contents(atPath: file), "no rows ship for \(digest)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let shipped = try decoder.decode(ShippedCalibration.self, from: data)
        #expect(shipped.modelSHA256 == digest)
        let mixes = Set(shipped.rows.map { "\($0.strategy)+\($0.kvFormat)" })
        #expect(mixes == Set(JobRouter.mixes.filter { !$0.isExact }.map(\.label)))
        #expect(shipped.rows.allSatisfy { $0.probableTop1Agreement != nil && $0.needlesReferencePassed != nil && $0.answersChanged != nil })
    }
}

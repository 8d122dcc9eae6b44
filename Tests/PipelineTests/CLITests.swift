import Foundation
import Testing
import Store
@testable import Pipeline

/// The `pipeline` executable's contracts: output, idempotence and exit codes (0/64/65/66/70).
@Suite struct CLITests {
    func pipeline(_ w: Workspace, _ arguments: String...) throws -> CLIResult {
        try Processes.pipeline(arguments, database: w.databasePath, in: w.folder.path)
    }

    @Test func submitPrintsJobIdsAndIsIdempotent() throws {
        let w = Workspace()
        w.documents(2)
        w.job("one")
        let first = try pipeline(w, "submit", "jobs")
        #expect(first.status == 0, "\(first.stderr)")
        let id = try #require(first.stdout.split(separator: " ").first.map(String.init))
        #expect(id.count == 12 && id.allSatisfy(\.isHexDigit))
        #expect(first.stdout.contains("one  new  2 units"))
        let again = try pipeline(w, "submit", "jobs/one.json")
        #expect(again.status == 0 && again.stdout.hasPrefix("\(id)  one  existing  2 units"))
    }

    /// An invalid job file: exit 65, named with its field; the valid file in the same call is submitted.
    @Test func invalidJobFilesExit65AndValidOnesAreStillSubmitted() throws {
        let w = Workspace()
        w.documents(1)
        w.job("good")
        w.folder.write("jobs/typo.json", #"{"name": "typo", "documents": ["../docs/*.txt"], "prompts": ["Q?"], "temprature": 1}"#)
        w.folder.write("jobs/broken.json", #"{"name": "#)
        let result = try pipeline(w, "submit", "jobs")
        #expect(result.status == 65)
        #expect(result.stdout.contains("good  new  1 units"))
        #expect(result.stderr.contains("jobs/typo.json: unknown field \"temprature\""))
        #expect(result.stderr.contains("jobs/broken.json: not a JSON object"))
        let status = try pipeline(w, "status", "--json")
        #expect(status.status == 0 && status.stdout.contains("\"name\":\"good\"") && !status.stdout.contains("typo"))
    }

    @Test(arguments: [
        (["submit", "jobs/absent.json"], Int32(66), "jobs/absent.json: no such file or folder"),
        (["status", "nope"], 66, "no job with id or name \"nope\""),
        (["results", "nope"], 66, "no job with id or name \"nope\""),
        (["submit"], 64, "give at least one job file or folder"),
        (["run", "--threads", "0"], 64, "--threads must be at least 1"),
        (["run", "--max-seconds", "0"], 64, "--max-seconds must be a positive number"),
        (["results"], 64, "Missing expected argument '<job>'"),
    ])
    func badInvocationsExitWithTheDocumentedCode(arguments: [String], status: Int32, message: String) throws {
        let w = Workspace()
        w.documents(1)
        #expect(try pipeline(w, "submit", w.job("present")).status == 0)
        let result = try Processes.pipeline(arguments, database: w.databasePath, in: w.folder.path)
        #expect(result.status == status)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func statusAndResultsNeverCreateAStore() throws {
        let w = Workspace()
        for command in [["status"], ["results", "x"]] {
            let result = try Processes.pipeline(command, database: w.databasePath, in: w.folder.path)
            #expect(result.status == 66 && result.stderr.contains("no store at"))
        }
        #expect(!FileManager.default.fileExists(atPath: w.databasePath))
        w.folder.write("pipeline.sqlite", "this is not SQLite, just text long enough to not be a database header\n")
        #expect(try pipeline(w, "status").status == 65)
    }

    /// Status and results of a job run here (echo test executor), as the CLI prints them.
    @Test func statusAndResultsPrintWhatTheRunnerRecorded() throws {
        let w = Workspace()
        w.documents(2)
        w.folder.write("docs/zz-binary.txt", [0xFF, 0xFE, 0x00])
        let jobID = try #require(try w.submit(w.job("shown", prompts: ["Summarize.", "Who?", "Why?"])).first)
        _ = try Runner(store: try w.store(), executor: EchoExecutor(), options: w.options()).run()

        let status = try pipeline(w, "status", "shown", "--json")
        #expect(status.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let job = try #require((json["jobs"] as? [[String: Any]])?.first)
        #expect(job["id"] as? String == jobID && job["state"] as? String == "failed")
        #expect(job["done"] as? Int == 2 && job["failed"] as? Int == 1 && job["pending"] as? Int == 0)
        let units = try #require(json["units"] as? [[String: Any]])
        #expect((units.last?["error"] as? String)?.contains("not UTF-8 text (byte 0xFF at offset 0)") == true)

        let lines = try pipeline(w, "results", jobID, "--jsonl").stdout.split(separator: "\n")
        #expect(lines.count == 6)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["prompt"] as? String == "Summarize." && first["prompt_index"] as? Int == 0)
        let document = try String(contentsOfFile: w.folder.file("docs/doc-1.txt"), encoding: .utf8)
        #expect(first["output"] as? String == EchoExecutor.expectedOutput(document: document, prompt: "Summarize."))
        for key in ["job", "unit", "document", "generated_tokens", "prompt_tokens", "prefill_seconds", "decode_seconds", "finish_reason"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        let text = try pipeline(w, "results", "shown")
        #expect(text.status == 0 && text.stdout.contains("> Who?") && text.stdout.contains("failed: document"))
        let table = try pipeline(w, "status")
        #expect(table.stdout.contains(jobID) && table.stdout.contains("failed"))
    }
}

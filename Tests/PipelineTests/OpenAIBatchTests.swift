import Foundation
import Testing
import TestSupport

/// `pipeline submit FILE.jsonl` and `results --format openai`, through the binary on a tiny
/// synthetic model: requests sharing their leading messages become one unit each (one prefill
/// of the shared messages for all their questions), a group too long for the context fails and
/// its request goes to the error file, every output line parses with the `openai` package's
/// types, and a file with bad lines is refused naming each line.
@Suite struct OpenAIBatchTests {
    static func request(_ id: String, leading: [(String, String)], question: String, extra: [String: Any] = [:]) -> String {
        var body: [String: Any] = ["model": "tiny", "max_tokens": 6, "temperature": 0,
                                   "messages": leading.map { ["role": $0.0, "content": $0.1] } + [["role": "user", "content": question]]]
        body.merge(extra) { $1 }
        if extra["max_completion_tokens"] != nil { body["max_tokens"] = nil }
        let line: [String: Any] = ["custom_id": id, "method": "POST", "url": "/v1/chat/completions", "body": body]
        return String(decoding: try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func batchInRoundTripsToOpenAIOutput() throws {
        let w = Workspace()
        _ = SyntheticModel.chat(seed: 5).write(in: w.folder, name: "models/tiny.gguf")
        let docA = [("system", "Answer briefly."), ("user", "alpha beta gamma delta epsilon zeta eta theta")]
        let docB = [("user", "one two three four five six seven eight nine ten")]
        let tooLong = [("user", Array(repeating: "word", count: 900).joined(separator: " "))]
        let schema: [String: Any] = ["type": "json_schema", "json_schema": ["name": "x", "strict": true, "schema": [
            "type": "object", "properties": ["k": ["enum": ["a", "b"]]], "required": ["k"], "additionalProperties": false]]]
        let lines = [
            Self.request("a1", leading: docA, question: "First?"), Self.request("b1", leading: docB, question: "Which number?"),
            Self.request("a2", leading: docA, question: "Second?", extra: ["response_format": schema, "max_tokens": 12]),
            Self.request("a3", leading: docA, question: "Third?", extra: ["max_completion_tokens": 3, "seed": 4, "temperature": 0.7]),
            Self.request("b2", leading: docB, question: "Again?"), Self.request("long", leading: tooLong, question: "Fits?"),
        ]
        _ = w.folder.write("batch.jsonl", lines.joined(separator: "\n") + "\n")
        let submit = try Processes.pipeline(["submit", "batch.jsonl"], database: w.databasePath, in: w.folder.path)
        #expect(submit.status == 0, "\(submit.stderr)")
        #expect(submit.stdout.contains("batch  new  3 units"), "one unit per shared prefix: \(submit.stdout)")

        let run = try Processes.pipeline(["run", "--threads", "2", "--model", "models/tiny.gguf"], database: w.databasePath, in: w.folder.path)
        #expect(run.status == 0, "\(run.stderr)")
        let results = try Processes.pipeline(["results", "batch", "--format", "openai", "--error-file", "errors.jsonl"],
                                             database: w.databasePath, in: w.folder.path)
        #expect(results.status == 0, "\(results.stderr)")
        _ = w.folder.write("out.jsonl", results.stdout)
        #expect(results.stdout.split(separator: "\n").count == 5)
        let check = try PythonScript.run("check_openai_batch_output.py", arguments: [
            w.folder.file("out.jsonl"), w.folder.file("errors.jsonl"), "--custom-ids", "a1,a2,a3,b1,b2,long"])
        #expect(check.status == 0 && check.output.contains("6 passed, 0 failed"), "\(check.output)")
        let errors = try String(contentsOfFile: w.folder.file("errors.jsonl"), encoding: .utf8)
        #expect(errors.contains("\"custom_id\":\"long\"") && errors.contains("unit_failed"))
        // The constrained request's answer is JSON of its schema, or cut.
        let a2 = try #require(results.stdout.split(separator: "\n").first { $0.contains("\"custom_id\":\"a2\"") })
        let body = try #require(try JSONSerialization.jsonObject(with: Data(a2.utf8)) as? [String: Any])
        let choice = try #require((((body["response"] as? [String: Any])?["body"] as? [String: Any])?["choices"] as? [[String: Any]])?.first)
        let content = try #require((choice["message"] as? [String: Any])?["content"] as? String)
        if choice["finish_reason"] as? String == "stop" {
            #expect(content == #"{"k":"a"}"# || content == #"{"k":"b"}"#, "\(content)")
        }
        // a3 asked for 3 tokens at most.
        let a3 = try #require(results.stdout.split(separator: "\n").first { $0.contains("\"custom_id\":\"a3\"") })
        #expect(a3.contains("\"completion_tokens\":3") || a3.contains("\"finish_reason\":\"stop\""), "\(a3)")
    }

    @Test func everyBadLineIsNamed() throws {
        let w = Workspace()
        let good = Self.request("ok", leading: [], question: "Hi?")
        let bad = [
            good,
            #"{"custom_id": "m", "method": "GET", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "x"}]}}"#,
            "not json",
            Self.request("ok", leading: [], question: "Duplicate id?"),
            Self.request("t", leading: [], question: "Top p?", extra: ["top_p": 0.5]),
            Self.request("r", leading: [("user", "doc")], question: "Q?", extra: ["response_format": ["type": "json_schema", "json_schema": [
                "name": "x", "schema": ["type": "object", "properties": ["d": ["type": "string", "format": "date"]]]]]]),
            #"{"custom_id": "last", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "assistant", "content": "x"}]}}"#,
        ]
        _ = w.folder.write("bad.jsonl", bad.joined(separator: "\n") + "\n")
        let submit = try Processes.pipeline(["submit", "bad.jsonl"], database: w.databasePath, in: w.folder.path)
        #expect(submit.status == 65)
        for (line, what) in [(2, "\"method\""), (3, "not JSON"), (4, "line 1 has it"), (5, "body.top_p"),
                             (6, "body.response_format.json_schema.schema.properties.d.format"), (7, "body.messages[0].role")] {
            #expect(submit.stderr.contains("bad.jsonl:\(line):") && submit.stderr.contains(what), "line \(line): \(submit.stderr)")
        }
        #expect(!submit.stderr.contains("bad.jsonl:1:"))
        #expect(submit.stdout.isEmpty, "a file with bad lines is not submitted")
    }
}

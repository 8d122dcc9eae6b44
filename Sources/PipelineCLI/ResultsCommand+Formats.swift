import ArgumentParser
import Foundation
import Grammar
import Pipeline
import Store

/// `results --format openai` (Batch API output lines) and `--format csv` (one row per answer,
/// one column per top-level key of the JSON answers).
enum ResultsFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl, openai, csv
}

extension ResultsCommand {
    /// OpenAI Batch API output: one line per finished request on stdout, in job order, with a
    /// chat.completion body; the requests of failed units go to `errorFile` (written only when
    /// there are some). Requests whose unit has not run yet are counted on stderr.
    static func writeOpenAI(store: any Store, job: JobRecord, errorFile: String?) throws {
        let spec = try JobSpec.stored(job.specJSON, jobID: job.id)
        let units = try store.units(jobID: job.id)
        let documentTokens = Dictionary(units.map { ($0.documentPath, $0.tokenCount ?? 0) }, uniquingKeysWith: { a, _ in a })
        let created = Int(job.submittedAt.timeIntervalSince1970)
        var answered = Set<Int>()
        for result in try store.results(jobID: job.id) {
            let o = result.output, i = o.promptIndex
            let options = spec.promptOptions?[i]
            answered.insert(i)
            let prompt = (documentTokens[result.documentPath] ?? 0) + o.promptTokenCount
            let body: JSONValue = .object([
                "id": .string("chatcmpl-\(job.id)-\(i)"), "object": .string("chat.completion"), "created": .integer(Int64(created)),
                "model": .string(options?.model ?? job.modelPath.map { ($0 as NSString).lastPathComponent } ?? "pipeline"),
                "choices": .array([.object([
                    "index": .integer(0), "logprobs": .null, "finish_reason": .string(o.finishReason),
                    "message": .object(["role": .string("assistant"), "content": .string(o.text), "refusal": .null]),
                ])]),
                "usage": .object(["prompt_tokens": .integer(Int64(prompt)), "completion_tokens": .integer(Int64(o.generatedTokenCount)),
                                  "total_tokens": .integer(Int64(prompt + o.generatedTokenCount))]),
            ])
            try printJSON(JSONValue.object([
                "id": .string("batch_req_\(job.id)_\(i)"), "custom_id": .string(options?.customID ?? String(i)),
                "response": .object(["status_code": .integer(200), "request_id": .string("req_\(job.id)_\(i)"), "body": body]),
                "error": .null,
            ]))
        }
        var errors: [String] = []
        var waiting = 0
        for unit in units {
            let indices = spec.promptIndices(forDocument: unit.documentPath).filter { !answered.contains($0) }
            guard unit.state == .failed else { waiting += indices.count; continue }
            let message = unit.lastError.map(PipelineError.message(stored:)) ?? "unknown error"
            for i in indices {
                let line = JSONValue.object([
                    "id": .string("batch_req_\(job.id)_\(i)"), "custom_id": .string(spec.promptOptions?[i].customID ?? String(i)),
                    "response": .null, "error": .object(["code": .string("unit_failed"), "message": .string(message)]),
                ])
                errors.append(String(decoding: try Self.encoder.encode(line), as: UTF8.self))
            }
        }
        if !errors.isEmpty {
            let path = errorFile ?? "\(job.name)-\(job.id).errors.jsonl"
            do { try (errors.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw CLIFailure(.tempFail, "cannot write the error file \(path): \(error.localizedDescription)")
            }
            FileHandle.standardError.write(Data("\(errors.count) failed requests written to \(path)\n".utf8))
        }
        if waiting > 0 { FileHandle.standardError.write(Data("\(waiting) requests not answered yet (their units have not run)\n".utf8)) }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// CSV (RFC 4180): document, prompt_index, custom_id, finish_reason, then one column per
    /// top-level key of the answers that are JSON objects (first-seen order; nested values as
    /// compact JSON), and `unparsed` with the text of answers that are not.
    static func writeCSV(store: any Store, job: JobRecord) throws {
        let spec = try JobSpec.stored(job.specJSON, jobID: job.id)
        let results = try store.results(jobID: job.id)
        var keys: [String] = [], known = Set<String>()
        let parsed: [[String: JSONValue]?] = results.map { r in
            guard case .object(let object)? = try? JSONValue.parse(Data(r.output.text.utf8)) else { return nil }
            return object
        }
        // Key order: the answer's own (compact output follows the schema's order).
        for (r, object) in zip(results, parsed) where object != nil {
            for key in Self.keyOrder(r.output.text) where !known.contains(key) { known.insert(key); keys.append(key) }
        }
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        print((["document", "prompt_index", "custom_id", "finish_reason"] + keys + ["unparsed"]).map(field).joined(separator: ","))
        for (r, object) in zip(results, parsed) {
            var row = [r.documentPath, String(r.output.promptIndex), spec.promptOptions?[r.output.promptIndex].customID ?? "", r.output.finishReason]
            for key in keys {
                switch object?[key] {
                case nil, .null?: row.append("")
                case .string(let s)?: row.append(s)
                case let value?: row.append(value.compactText)
                }
            }
            row.append(object == nil ? r.output.text : "")
            print(row.map(field).joined(separator: ","))
        }
    }

    /// The top-level keys of a JSON object's text, in the order written.
    static func keyOrder(_ text: String) -> [String] {
        guard let data = text.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return object.keys.sorted { a, b in
            (text.range(of: JSONValue.quoted(a) + ":")?.lowerBound ?? text.endIndex) < (text.range(of: JSONValue.quoted(b) + ":")?.lowerBound ?? text.endIndex)
        }
    }
}

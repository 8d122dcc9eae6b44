// OpenAI Batch API input (`pipeline submit FILE.jsonl`): one request per line,
//   {"custom_id", "method": "POST", "url": "/v1/chat/completions",
//    "body": {"messages", "max_tokens" | "max_completion_tokens", "temperature", "seed",
//             "response_format", "model", "n": 1, "stream": false}}
// becomes one job. A request's leading messages (all but its last, which must be the user's
// question) are its document: requests that share them share one unit, so the messages are
// prefilled once and every question of the group is appended to the same KV. Each distinct
// group is written once, content-addressed, to `documentFolder` as {"messages": [...]}.
// Every bad line is reported by number; one bad line rejects the file (as the Batch API does).
import Foundation
import Grammar
import Store

public enum BatchFile {
    /// Every error of a rejected file.
    public struct Rejected: Error { public var errors: [PipelineError] }

    static let bodyKeys = ["max_completion_tokens", "max_tokens", "messages", "model", "n", "response_format", "seed", "stream", "temperature"]
    static let roles = ["assistant", "developer", "system", "user"]

    public static func load(_ path: String, documentFolder: String, now: Date = Date()) throws -> JobFile {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw FileManager.default.fileExists(atPath: absolute) ? PipelineError.jobFileUnreadable(file: path, reason: "it could not be read")
                : PipelineError.jobFileMissing(file: path)
        }
        var errors: [PipelineError] = []
        var requests: [(request: Request, line: Int)] = []
        var seenIDs: [String: Int] = [:]
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) else { continue }
            let file = "\(path):\(n + 1)"
            do {
                let request = try Request(line: Data(line), file: file)
                if let first = seenIDs[request.customID] {
                    throw PipelineError.invalidJobField(file: file, field: "custom_id", expected: "an id no other line has (line \(first) has it)",
                                                       found: JSONValue.string(request.customID).brief)
                }
                seenIDs[request.customID] = n + 1
                requests.append((request, n + 1))
            } catch let error as PipelineError {
                errors.append(error)
            }
        }
        if requests.isEmpty && errors.isEmpty { errors.append(.jobFileNotJSON(file: path, detail: "no request lines")) }
        guard errors.isEmpty else { throw Rejected(errors: errors) }

        // One document per distinct run of leading messages, in order of first use.
        var documents: [String] = []
        var documentByKey: [String: String] = [:]
        var spec = JobSpec(name: jobName(path), documents: [], prompts: [], temperature: 1)
        var options: [PromptOptions] = []
        for (request, _) in requests {
            let text = try documentText(request.leading)
            let document: String
            if let known = documentByKey[text] { document = known } else {
                document = try write(text, folder: documentFolder, file: path)
                documentByKey[text] = document
                documents.append(document)
            }
            spec.prompts.append(request.question)
            options.append(PromptOptions(responseFormat: request.responseFormat, maxNewTokens: request.maxTokens ?? JobSpec.defaultMaxNewTokens,
                                         temperature: request.temperature, seed: request.seed, customID: request.customID,
                                         document: document, model: request.model))
        }
        spec.documents = documents
        spec.promptOptions = options
        let canonical = try spec.canonicalJSON()
        let hash = SHA256.hex(Array(canonical.utf8))
        let job = JobRecord(id: String(hash.prefix(JobFile.idLength)), name: spec.name, specJSON: canonical, specHash: hash,
                            sourcePath: absolute, modelPath: nil, promptCount: spec.prompts.count, submittedAt: now)
        return JobFile(path: absolute, spec: spec, submission: JobSubmission(job: job, documents: documents.map(JobFile.fingerprint)))
    }

    /// The file's name without `.jsonl`, other characters than letters, digits, `.`, `_`, `-` as `-`.
    static func jobName(_ path: String) -> String {
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let cleaned = String(base.unicodeScalars.map { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) ? Character($0) : "-" })
        let trimmed = cleaned.drop { !$0.isLetter && !$0.isNumber }.prefix(100)
        return trimmed.isEmpty ? "batch" : String(trimmed)
    }

    static func documentText(_ messages: [ChatMessageRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(["messages": messages]), as: UTF8.self)
    }

    static func write(_ text: String, folder: String, file: String) throws -> String {
        let path = URL(fileURLWithPath: folder).standardizedFileURL.appendingPathComponent(String(SHA256.hex(Array(text.utf8)).prefix(24)) + ".json").path
        if FileManager.default.fileExists(atPath: path) { return path }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PipelineError.jobFileUnreadable(file: file, reason: "its shared messages could not be written to \(folder): \(error.localizedDescription)")
        }
        return path
    }
}

/// One message as a batch document keeps it.
struct ChatMessageRecord: Codable, Equatable {
    var role: String
    var content: String
}

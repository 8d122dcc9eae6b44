import Foundation

/// Runs one of the package's Python scripts (tools/reference/…) with python3: the independent checkers
/// of structured outputs (`jsonschema`) and of the OpenAI batch format (`openai`'s types).
public enum PythonScript {
    public static func run(_ script: String, arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Paths.inPackage("tools/reference/" + script)] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// tools/reference/validate_json_outputs.py over JSON lines {"schema", "output", "finish_reason"}.
    public static func validateJSONOutputs(lines: [String]) throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("outputs-\(UUID().uuidString).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try run("validate_json_outputs.py", arguments: [file.path])
    }
}

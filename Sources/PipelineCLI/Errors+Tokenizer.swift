import Foundation
import GGUF
import Tokenizer

/// A vocabulary the tokenizer cannot use is bad input data.
extension TokenizerError: CLIReportable {
    var exitStatus: ExitStatus { .dataError }
    var message: String { description }
}

/// Opens the model's tokenizer for a command: a missing or unreadable model file exits 66, a file that is not
/// a readable GGUF 65 (the GGUF error is reported here, so `GGUFError` needs no CLI conformance
/// of its own), a vocabulary the tokenizer cannot use 65 (`TokenizerError`).
func loadTokenizer(_ modelPath: String) throws -> Tokenizer {
    guard FileManager.default.fileExists(atPath: modelPath) else {
        throw CLIFailure(.noInput, "model file not found: \(modelPath) (set --model or PIPELINE_MODEL)")
    }
    let gguf: GGUFFile
    do {
        gguf = try GGUFFile(path: modelPath)
    } catch {
        if case .cannotOpen = error { throw CLIFailure(.noInput, "\(error)") }
        throw CLIFailure(.dataError, "\(modelPath): \(error)")
    }
    return try Tokenizer(gguf: gguf)
}

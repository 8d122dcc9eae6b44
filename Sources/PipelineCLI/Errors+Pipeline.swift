import Foundation
import Pipeline

/// How submit and run failures read and exit: a bad job file or document is bad data (65), a
/// missing job file is missing input (66), an engine failure is internal (70).
extension PipelineError: CLIReportable {
    var exitStatus: ExitStatus {
        switch self {
        case .jobFileMissing, .jobFileUnreadable, .noJobFiles, .documentMissing, .documentUnreadable:
            .noInput
        case .jobFileNotJSON, .invalidJobField, .unknownJobField, .documentOutsideRoots, .documentBecameLink, .documentIsFolder, .documentEmpty, .documentNotUTF8,
             .documentChanged, .documentTooLong, .storedSpecUnreadable, .strategyNotImplemented, .strategyUnsupported,
             .noRoomForDocument:
            .dataError
        case .executorFailed, .executorContractViolated, .unitAbandoned, .engineUnavailable:
            .software
        }
    }

    var message: String {
        switch self {
        case .jobFileMissing(let file):
            "\(file): no such file or folder"
        case .jobFileUnreadable(let file, let reason):
            "\(file): cannot read the job file: \(reason)"
        case .noJobFiles(let folder):
            "\(folder): the folder holds no job files (*.json)"
        case .jobFileNotJSON(let file, let detail):
            "\(file): not a JSON object: \(detail)"
        case .invalidJobField(let file, let field, let expected, let found):
            "\(file): field \"\(field)\": expected \(expected), found \(found ?? "nothing (the field is missing)")"
        case .unknownJobField(let file, let field, let allowed):
            "\(file): unknown field \"\(field)\"; the fields are \(allowed.joined(separator: ", "))"
        case .documentOutsideRoots(let file, let path, let roots):
            "\(file): document \(path) is outside the folders documents may come from (\(roots.joined(separator: ", "))); "
                + "allow its folder with --documents-root or PIPELINE_DOCUMENT_ROOTS"
        case .documentBecameLink(let path, let resolved):
            "document \(path): now leads to \(resolved) through a symbolic link; submit the job again"
        case .documentMissing(let path):
            "document \(path): no such file"
        case .documentIsFolder(let path):
            "document \(path): is a folder, not a text file"
        case .documentUnreadable(let path, let reason):
            "document \(path): cannot be read: \(reason)"
        case .documentEmpty(let path):
            "document \(path): is empty (no text)"
        case .documentNotUTF8(let path, let offset, let byte):
            "document \(path): not UTF-8 text (byte 0x\(String(byte, radix: 16, uppercase: true)) at offset \(offset))"
        case .documentChanged(let path, let submitted, let current):
            "document \(path): changed since it was submitted (SHA-256 \(submitted.prefix(12))… now \(current.prefix(12))…); submit the job again"
        case .documentTooLong(let path, let tokens, let limit):
            "document \(path): \(tokens) tokens, more than the limit of \(limit); set \"overflow\": \"truncate-middle\" to keep its head and tail"
        case .storedSpecUnreadable(let jobID, let detail):
            "job \(jobID): the stored spec cannot be read: \(detail)"
        case .executorFailed(let document, let detail):
            "document \(document): the engine failed: \(detail)"
        case .executorContractViolated(let document, let detail):
            "document \(document): the engine broke its contract: \(detail)"
        case .unitAbandoned(let document, let attempts):
            "document \(document): given up after \(attempts) attempts whose runners stopped without finishing (killed or hung)"
        case .engineUnavailable(let modelPath, let reason):
            "cannot run units with model \(modelPath): \(reason)"
        case .strategyNotImplemented(let document, let strategy, let available):
            "document \(document): strategy \(strategy) is not implemented in this build (available: \(available))"
        case .strategyUnsupported(let document, let strategy, let reason):
            "document \(document): strategy \(strategy) cannot run on this model: \(reason)"
        case .noRoomForDocument(let path, let context, let template, let prompt, let maxNew):
            "document \(path): the model's context of \(context) tokens holds no document after the template (\(template) tokens), "
                + "the longest prompt (\(prompt) tokens) and max_new_tokens (\(maxNew)); shorten the prompts or lower max_new_tokens"
        }
    }

    /// A unit's stored failure (JSON of a `PipelineError`) as a message; other text as it is.
    static func message(stored: String) -> String {
        guard let error = try? JSONDecoder().decode(PipelineError.self, from: Data(stored.utf8)) else { return stored }
        return error.message
    }
}

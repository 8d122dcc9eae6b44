import Foundation

/// Everything that can go wrong in submitting and running jobs, as data: each case names the file,
/// field, job or document concerned. The CLI turns these into messages and exit codes
/// (`Errors+Pipeline.swift`). `Codable`, because a unit's failure is stored with it and shown by
/// `pipeline status` long after the runner that saw it has gone.
public enum PipelineError: Error, Codable, Equatable, Sendable {
    // MARK: Job files (submit)

    /// A path given to `submit` does not exist.
    case jobFileMissing(file: String)
    /// A job file exists but could not be read.
    case jobFileUnreadable(file: String, reason: String)
    /// A folder given to `submit` holds no `*.json` file.
    case noJobFiles(folder: String)
    /// The job file is not valid JSON (or not a JSON object).
    case jobFileNotJSON(file: String, detail: String)
    /// A field is missing or has a wrong value: `expected` says what would be right, `found`
    /// what was there (nil when the field is missing).
    case invalidJobField(file: String, field: String, expected: String, found: String?)
    /// A field the job format does not have (a typo, usually).
    case unknownJobField(file: String, field: String, allowed: [String])
    /// A document resolves (symbolic links followed) outside the folders documents may come from.
    case documentOutsideRoots(file: String, path: String, roots: [String])

    // MARK: Documents (one unit fails, the rest go on)

    case documentMissing(path: String)
    case documentIsFolder(path: String)
    case documentUnreadable(path: String, reason: String)
    case documentEmpty(path: String)
    /// Not UTF-8 text: the first invalid byte and its offset.
    case documentNotUTF8(path: String, byteOffset: Int, byte: UInt8)
    /// The path, resolved at submit time, now leads elsewhere (a symbolic link was put in its way).
    case documentBecameLink(path: String, resolved: String)
    /// The file's bytes differ from those fingerprinted at submit time.
    case documentChanged(path: String, submittedHash: String, currentHash: String)
    /// Longer than the model's context under the `fail` overflow policy.
    case documentTooLong(path: String, tokenCount: Int, limit: Int)

    // MARK: Running

    /// The stored job spec could not be decoded (the store was edited, or written by another version).
    case storedSpecUnreadable(jobID: String, detail: String)
    /// The engine failed on this unit; `detail` is its own description of the error.
    case executorFailed(document: String, detail: String)
    /// The engine broke the executor contract (for example returned the wrong number of outputs).
    case executorContractViolated(document: String, detail: String)
    /// The unit's lease expired this many times (its runners were killed or hung): given up.
    case unitAbandoned(document: String, attempts: Int)
    /// No inference engine is linked into this build, or the model could not be loaded.
    case engineUnavailable(modelPath: String, reason: String)
    /// The job pins a strategy mix this build cannot run (it never silently runs another one).
    case strategyNotImplemented(document: String, strategy: String, available: String)
    /// The mix cannot run on this unit's model (a kernel limit such as the GQA group size).
    case strategyUnsupported(document: String, strategy: String, reason: String)
    /// The prompt and the answer's token limit leave no room for the document in the context.
    case noRoomForDocument(path: String, contextLength: Int, templateTokens: Int, longestPromptTokens: Int, maxNewTokens: Int)
}

// One job file loaded for submission: read, validated, canonicalised, documents resolved and
// fingerprinted. Nothing is written here; `Submitter` hands the result to the store.
import Foundation
import Store

public struct JobFile: Sendable {
    /// The job file's absolute path.
    public var path: String
    public var spec: JobSpec
    public var submission: JobSubmission

    /// Job ids are the first 12 hex digits of the canonical spec's SHA-256.
    public static let idLength = 12

    /// `roots`: where documents may be read from besides the job file's folder (`DocumentRoots`).
    public static func load(_ path: String, roots: DocumentRoots = DocumentRoots(), now: Date = Date()) throws -> JobFile {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let fm = FileManager.default
        guard fm.fileExists(atPath: absolute) else { throw PipelineError.jobFileMissing(file: path) }
        guard let data = fm.contents(atPath: absolute) else {
            throw PipelineError.jobFileUnreadable(file: path, reason: fm.isReadableFile(atPath: absolute)
                ? "it could not be read" : "permission denied")
        }
        let spec = try JobSpec.parse(data, file: path)
        let folder = (absolute as NSString).deletingLastPathComponent
        let allowed = roots.resolved(jobFolder: folder)
        let documents = try DocumentResolver.resolve(spec.documents, relativeTo: folder, file: path).map { document in
            guard let real = DocumentRoots.contained(document, in: allowed) else {
                throw PipelineError.documentOutsideRoots(file: path, path: document, roots: allowed)
            }
            return fingerprint(real)
        }
        let canonical = try spec.canonicalJSON()
        let hash = SHA256.hex(Array(canonical.utf8))
        let modelPath = spec.model.map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: folder + "/" + $0).standardizedFileURL.path }
        let job = JobRecord(id: String(hash.prefix(idLength)), name: spec.name, specJSON: canonical, specHash: hash,
                            sourcePath: absolute, modelPath: modelPath, promptCount: spec.prompts.count, submittedAt: now)
        return JobFile(path: absolute, spec: spec, submission: JobSubmission(job: job, documents: documents))
    }

    /// The document's bytes hashed when it is a readable regular file; else no hash (its unit will
    /// fail with the precise reason when it runs).
    static func fingerprint(_ path: String) -> DocumentRecord {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
              let data = FileManager.default.contents(atPath: path)
        else { return DocumentRecord(path: path, contentHash: nil, byteCount: nil) }
        return DocumentRecord(path: path, contentHash: SHA256.hex(data), byteCount: data.count)
    }
}

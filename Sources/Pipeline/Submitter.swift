// `pipeline submit PATH...`: every job file named (a folder means its `*.json` files) is validated
// and recorded; an invalid file is reported and the others are still submitted.
import Foundation
import Store

public struct Submitter: Sendable {
    public let store: any Store
    /// Where job files may read documents from besides their own folder.
    public let roots: DocumentRoots

    public init(store: any Store, roots: DocumentRoots = DocumentRoots()) {
        self.store = store
        self.roots = roots
    }

    /// Per-file outcomes. Store errors (busy, I/O) abort the call and are thrown.
    public func submit(paths: [String]) throws -> SubmitReport {
        var report = SubmitReport()
        for path in paths {
            let files: [String]
            do {
                files = try Self.jobFiles(at: path)
            } catch let error as PipelineError {
                report.rejected.append(error)
                continue
            }
            for file in files {
                do {
                    let job = try JobFile.load(file, roots: roots)
                    let receipt = try store.submit(job.submission)
                    report.submitted.append(SubmittedJob(file: file, name: job.spec.name, receipt: receipt))
                } catch let error as PipelineError {
                    report.rejected.append(error)
                }
            }
        }
        return report
    }

    /// A file is itself; a folder is its `*.json` files, sorted (not recursive).
    static func jobFiles(at path: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw PipelineError.jobFileMissing(file: path)
        }
        guard isFolder.boolValue else { return [path] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw PipelineError.jobFileUnreadable(file: path, reason: "the folder could not be listed")
        }
        let files = names.filter { $0.hasSuffix(".json") }.sorted().map { (path as NSString).appendingPathComponent($0) }
        if files.isEmpty { throw PipelineError.noJobFiles(folder: path) }
        return files
    }
}

public struct SubmittedJob: Sendable, Equatable {
    public var file: String
    public var name: String
    public var receipt: SubmitReceipt
}

public struct SubmitReport: Sendable, Equatable {
    public var submitted: [SubmittedJob] = []
    public var rejected: [PipelineError] = []
}

import Foundation
import Testing
import Store
import TestSupport
@testable import Pipeline

@Suite struct SubmitterTests {
    @Test func sameContentIsTheSameJobAndAChangedFileIsANewOne() throws {
        let w = Workspace()
        w.documents(3)
        let file = w.job("j")
        let store = try w.store()
        let first = try Submitter(store: store, roots: w.roots).submit(paths: [file])
        let again = try Submitter(store: store, roots: w.roots).submit(paths: [file])
        #expect(first.submitted.map(\.receipt.created) == [true] && first.submitted[0].receipt.unitCount == 3)
        #expect(again.submitted.map(\.receipt) == [SubmitReceipt(jobID: first.submitted[0].receipt.jobID, created: false,
                                                                 unitsAdded: 0, unitCount: 3)])
        w.job("j", prompts: ["Another question?"])
        let changed = try Submitter(store: store, roots: w.roots).submit(paths: [file])
        #expect(changed.submitted[0].receipt.created && changed.submitted[0].receipt.jobID != first.submitted[0].receipt.jobID)
        #expect(try store.job("j").id == changed.submitted[0].receipt.jobID)   // a name means its latest version
        #expect(first.submitted[0].receipt.jobID.count == JobFile.idLength)
    }

    @Test func documentsResolveRelativeToTheJobFileWithHashes() throws {
        let w = Workspace()
        let docs = w.documents(2)
        let job = try JobFile.load(w.job("j", documents: ["../docs/doc-2.txt", "../docs/*.txt", "../docs/missing.txt"]), roots: w.roots)
        let paths = job.submission.documents.map(\.path)
        let resolved = docs.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        #expect(paths == [resolved[1], resolved[0], URL(fileURLWithPath: w.folder.file("docs/missing.txt")).standardizedFileURL.path])
        #expect(job.submission.documents[0].contentHash == SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: docs[1]))))
        #expect(job.submission.documents[2].contentHash == nil)   // its unit will fail when run
    }

    /// Invalid files are reported while the valid ones in the same call are still submitted.
    @Test func invalidFilesAreReportedAndValidOnesStillSubmitted() throws {
        let w = Workspace()
        w.documents(2)
        w.job("good")
        let bad = w.folder.write("jobs/bad.json", #"{"name": "bad", "documents": ["../docs/*.txt"], "prompts": []}"#)
        let noMatch = w.job("nomatch", documents: ["../nowhere/*.txt"])
        let missing = w.folder.file("jobs/absent.json")
        let report = try Submitter(store: try w.store(), roots: w.roots).submit(paths: [w.folder.file("jobs"), missing])
        #expect(report.submitted.map(\.name) == ["good"])
        #expect(report.rejected == [
            .invalidJobField(file: bad, field: "prompts", expected: "a non-empty array of strings (each a prompt)", found: "an array of 0"),
            .invalidJobField(file: noMatch, field: "documents[0]", expected: "a path or glob pattern matching at least one file",
                             found: "\"../nowhere/*.txt\""),
            .jobFileMissing(file: missing),
        ])
    }

    @Test func aFolderWithoutJobFilesIsReported() throws {
        let w = Workspace()
        w.documents(1)
        let report = try Submitter(store: try w.store(), roots: w.roots).submit(paths: [w.folder.file("docs")])
        #expect(report.rejected == [.noJobFiles(folder: w.folder.file("docs"))])
    }

    @Test func aJobsModelIsResolvedAgainstItsFile() throws {
        let w = Workspace()
        w.documents(1)
        let job = try JobFile.load(w.job("j", extra: ["model": "../models/m.gguf"]), roots: w.roots)
        #expect(job.submission.job.modelPath == URL(fileURLWithPath: w.folder.file("models/m.gguf")).standardizedFileURL.path)
    }

    /// Documents must resolve under the job file's folder tree or an allowed root: an absolute
    /// path elsewhere, `..` out of it, and a symbolic link leading out of it are refused at
    /// submit; a link put in a submitted document's place is refused when the unit reads it.
    @Test func documentsOutsideTheAllowedRootsAreRefused() throws {
        let w = Workspace()
        w.documents(1)
        let outside = TemporaryDirectory("pipeline-outside")
        let secret = outside.write("secret.txt", "the secret\n")
        let inJobs = w.folder.write("jobs/local.txt", "a local document\n")
        try FileManager.default.createSymbolicLink(atPath: w.folder.file("jobs/link.txt"), withDestinationPath: secret)
        let cases: [[String]] = [[secret], ["../../\((outside.path as NSString).lastPathComponent)/secret.txt"], ["link.txt"], ["../docs/*.txt"]]
        for documents in cases {
            let file = w.job("j", documents: documents)
            #expect {
                _ = try JobFile.load(file)
            } throws: { error in
                guard case PipelineError.documentOutsideRoots(let named, _, _) = error else { return false }
                return named == file
            }
        }
        // The job file's own folder tree needs no option; an extra root admits its documents.
        #expect(try JobFile.load(w.job("j", documents: ["local.txt"])).submission.documents.map(\.path)
                == [DocumentRoots.realPath(inJobs)])
        #expect(try JobFile.load(w.job("j", documents: ["../docs/*.txt"]), roots: w.roots).submission.documents.count == 1)
        // Submitted, then replaced by a link to elsewhere: the runner's read refuses it.
        let job = try JobFile.load(w.job("j", documents: ["local.txt"]))
        let stored = job.submission.documents[0]
        try FileManager.default.removeItem(atPath: inJobs)
        try FileManager.default.createSymbolicLink(atPath: inJobs, withDestinationPath: secret)
        #expect(throws: PipelineError.documentBecameLink(path: stored.path, resolved: DocumentRoots.realPath(secret))) {
            _ = try DocumentReader.read(stored.path, expectedHash: stored.contentHash)
        }
    }
}

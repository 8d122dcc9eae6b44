// Where a job file may read documents from. Whoever can write a job file must not be able to make
// the runner read any file it can read (`/etc/shadow`, another team's folders): every document
// path is resolved — `..` and symbolic links included — and must then lie under an allowed root.
// The roots are the job file's own folder tree, plus the folders given with `submit
// --documents-root` or in `PIPELINE_DOCUMENT_ROOTS` (colon-separated). The stored path is the
// resolved one; the runner refuses it later if it has become a link (`DocumentReader`).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct DocumentRoots: Sendable, Equatable {
    /// Extra roots besides each job file's folder, as given (resolved when checked).
    public var extra: [String]

    public init(extra: [String] = []) { self.extra = extra }

    /// `PIPELINE_DOCUMENT_ROOTS`'s folders (colon-separated) followed by `options`.
    public static func fromEnvironment(adding options: [String] = []) -> DocumentRoots {
        let variable = ProcessInfo.processInfo.environment["PIPELINE_DOCUMENT_ROOTS"] ?? ""
        return DocumentRoots(extra: variable.split(separator: ":").map(String.init).filter { !$0.isEmpty } + options)
    }

    /// The resolved roots for a job file in `folder`.
    func resolved(jobFolder folder: String) -> [String] {
        ([folder] + extra).map { Self.realPath(URL(fileURLWithPath: $0).standardizedFileURL.path) }
    }

    /// `path` with symbolic links and `..` resolved; for a path that does not exist (yet), its
    /// deepest existing folder resolved and the rest appended.
    static func realPath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != path else { return path }
        return (realPath(parent) as NSString).appendingPathComponent((path as NSString).lastPathComponent)
    }

    /// The resolved path when it lies under one of `roots`, else nil.
    static func contained(_ path: String, in roots: [String]) -> String? {
        let real = realPath(path)
        return roots.contains { root in real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/") } ? real : nil
    }
}

// Resolving a job's `documents` entries against the job file's folder, at submit time.
//
// An entry with a glob metacharacter (`*`, `?`, `[`) is a pattern (POSIX glob(3)); it must match at
// least one path. Any other entry is a plain path and always becomes a unit, even when the file is
// missing or unreadable: that unit then fails with a clear error when it runs, and the rest go on.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum DocumentResolver {
    /// Absolute, standardised paths in entry order (each pattern's matches sorted), duplicates dropped.
    static func resolve(_ entries: [String], relativeTo folder: String, file: String) throws -> [String] {
        var seen = Set<String>()
        var paths: [String] = []
        for (index, entry) in entries.enumerated() {
            let matches: [String]
            if isPattern(entry) {
                let pattern = entry.hasPrefix("/") ? entry : escaped(folder) + "/" + entry
                matches = try glob(pattern, file: file, field: "documents[\(index)]", entry: entry)
            } else {
                matches = [entry.hasPrefix("/") ? entry : folder + "/" + entry]
            }
            for match in matches {
                let path = URL(fileURLWithPath: match).standardizedFileURL.path
                if seen.insert(path).inserted { paths.append(path) }
            }
        }
        return paths
    }

    static func isPattern(_ entry: String) -> Bool { entry.contains { "*?[".contains($0) } }

    /// Backslash-escapes glob metacharacters of a literal folder name.
    private static func escaped(_ folder: String) -> String {
        var result = ""
        for character in folder {
            if "*?[]\\".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }

    private static func glob(_ pattern: String, file: String, field: String, entry: String) throws -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        #if canImport(Glibc)
        let status = Glibc.glob(pattern, 0, nil, &matches)
        #else
        let status = Darwin.glob(pattern, 0, nil, &matches)
        #endif
        let noMatch = PipelineError.invalidJobField(
            file: file, field: field, expected: "a path or glob pattern matching at least one file", found: "\"\(entry)\"")
        guard status == 0 else { throw noMatch }
        var paths: [String] = []
        for i in 0..<Int(matches.gl_pathc) {
            if let cString = matches.gl_pathv[i] { paths.append(String(cString: cString)) }
        }
        if paths.isEmpty { throw noMatch }
        return paths.sorted()
    }
}

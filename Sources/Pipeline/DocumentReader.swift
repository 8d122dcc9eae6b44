// Reading a unit's document before the executor sees it: it must be a readable regular file of
// non-empty UTF-8 text whose bytes are those fingerprinted at submit time. Each failure names the
// path and what was wrong (PipelineError.document*).
import Foundation

public struct DocumentText: Sendable, Equatable {
    public var text: String
    /// SHA-256 of the bytes read.
    public var contentHash: String
    public var byteCount: Int
}

public enum DocumentReader {
    /// `expectedHash` nil: no fingerprint to compare (plan, tests). A path that exists but now
    /// resolves elsewhere (a link put in its way after submit) is `documentBecameLink`.
    public static func read(_ path: String, expectedHash: String?) throws -> DocumentText {
        let fm = FileManager.default
        let real = DocumentRoots.realPath(path)
        if real != path && fm.fileExists(atPath: path) { throw PipelineError.documentBecameLink(path: path, resolved: real) }
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isFolder) else { throw PipelineError.documentMissing(path: path) }
        if isFolder.boolValue { throw PipelineError.documentIsFolder(path: path) }
        guard fm.isReadableFile(atPath: path) else { throw PipelineError.documentUnreadable(path: path, reason: "permission denied") }
        guard let data = fm.contents(atPath: path) else {
            throw PipelineError.documentUnreadable(path: path, reason: "it could not be read")
        }
        let bytes = [UInt8](data)
        let hash = SHA256.hex(bytes)
        if let expectedHash, expectedHash != hash {
            throw PipelineError.documentChanged(path: path, submittedHash: expectedHash, currentHash: hash)
        }
        if let offset = firstInvalidUTF8Offset(bytes) {
            throw PipelineError.documentNotUTF8(path: path, byteOffset: offset, byte: bytes[offset])
        }
        let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        let text = String(decoding: hasBOM ? bytes[3...] : bytes[...], as: UTF8.self)
        if text.allSatisfy({ $0.isWhitespace }) { throw PipelineError.documentEmpty(path: path) }
        return DocumentText(text: text, contentHash: hash, byteCount: bytes.count)
    }

    /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629:
    /// no overlongs, no surrogates, nothing above U+10FFFF), or nil when all of it is well formed.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let lead = bytes[i]
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF   // bounds of the second byte
            switch lead {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= bytes.count else { return i }
            guard (low...high).contains(bytes[i + 1]) else { return i + 1 }
            for j in 2..<length where !(0x80...0xBF).contains(bytes[i + j]) { return i + j }
            i += length
        }
        return nil
    }
}

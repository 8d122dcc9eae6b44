import Foundation
import Testing
import TestSupport
@testable import Pipeline

@Suite struct DocumentTests {
    enum Bad: String, CaseIterable, Sendable { case missing, folder, empty, whitespace, notUTF8, truncatedSequence, surrogate, changed }

    /// Each kind of bad document fails with its own error naming the path.
    @Test(arguments: Bad.allCases)
    func badDocumentsFailClearly(kind: Bad) throws {
        let dir = TemporaryDirectory()
        let path = dir.file("doc.txt")
        var expectedHash: String?
        let expected: PipelineError
        switch kind {
        case .missing:
            expected = .documentMissing(path: path)
        case .folder:
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            expected = .documentIsFolder(path: path)
        case .empty:
            dir.write("doc.txt", "")
            expected = .documentEmpty(path: path)
        case .whitespace:
            dir.write("doc.txt", " \n\t\n")
            expected = .documentEmpty(path: path)
        case .notUTF8:
            dir.write("doc.txt", Array("Licence text".utf8) + [0xFF, 0x41])
            expected = .documentNotUTF8(path: path, byteOffset: 12, byte: 0xFF)
        case .truncatedSequence:
            dir.write("doc.txt", Array("caf".utf8) + [0xC3])
            expected = .documentNotUTF8(path: path, byteOffset: 3, byte: 0xC3)
        case .surrogate:
            dir.write("doc.txt", [0x41, 0xED, 0xA0, 0x80])
            expected = .documentNotUTF8(path: path, byteOffset: 2, byte: 0xA0)
        case .changed:
            dir.write("doc.txt", "new text")
            expectedHash = SHA256.hex(Array("old text".utf8))
            expected = .documentChanged(path: path, submittedHash: expectedHash ?? "", currentHash: SHA256.hex(Array("new text".utf8)))
        }
        #expect(throws: expected) { try DocumentReader.read(path, expectedHash: expectedHash) }
    }

    @Test func goodTextIsReadWithoutItsBOM() throws {
        let dir = TemporaryDirectory()
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("Grüße — 文書 🙂\n".utf8)
        let path = dir.write("doc.md", bytes)
        let text = try DocumentReader.read(path, expectedHash: SHA256.hex(bytes))
        #expect(text.text == "Grüße — 文書 🙂\n" && text.byteCount == bytes.count)
    }

    @Test func overflowFailNamesTheCountAndTheLimit() throws {
        #expect(throws: PipelineError.documentTooLong(path: "d.txt", tokenCount: 10, limit: 8)) {
            try OverflowPolicy.fail.apply(to: Array(0..<10), limit: 8, documentPath: "d.txt")
        }
        #expect(try OverflowPolicy.fail.apply(to: Array(0..<8), limit: 8, documentPath: "d.txt").kept == Array(0..<8))
    }

    @Test func truncateMiddleKeepsHeadAndTailAndSaysSo() throws {
        let (kept, truncation) = try OverflowPolicy.truncateMiddle.apply(to: Array(0..<10), limit: 5, documentPath: "d.txt")
        #expect(kept == [0, 1, 2, 8, 9])
        #expect(truncation == Truncation(originalTokens: 10, headTokens: 3, tailTokens: 2))
        let fits = try OverflowPolicy.truncateMiddle.apply(to: Array(0..<5), limit: 5, documentPath: "d.txt")
        #expect(fits.kept == Array(0..<5) && fits.truncation == nil)
    }
}

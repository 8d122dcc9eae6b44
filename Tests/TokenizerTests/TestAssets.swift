import Foundation
import Testing
import Tokenizer

/// Paths to the assets tests compare against. The model and llama.cpp's vocab files are not in
/// the repository (`scripts/fetch-test-assets.sh` fetches them into `data/`); fixtures made here
/// live in `Tests/TokenizerTests/Fixtures/`. A missing asset fails the test with the remedy.
enum TestAssets {
    /// The package root, found from this file's path (Tests/TokenizerTests/TestAssets.swift).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let fetchScript = "scripts/fetch-test-assets.sh"
    static let smolLM2 = "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The absolute path of a fetched asset; fails the calling test when it is missing.
    static func require(_ relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = packageRoot.appendingPathComponent(relativePath).path
        try #require(FileManager.default.fileExists(atPath: path),
                     "missing test asset \(relativePath): run \(fetchScript) first", sourceLocation: sourceLocation)
        return path
    }

    static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: packageRoot.appendingPathComponent("Tests/TokenizerTests/Fixtures/\(name)"))
    }

    /// The vocab file `data/vocab/ggml-vocab-<name>.gguf` as a tokenizer.
    static func vocab(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Tokenizer {
        try Tokenizer(path: require("data/vocab/ggml-vocab-\(name).gguf", sourceLocation: sourceLocation))
    }

    /// SmolLM2's tokenizer, loaded once for all tests.
    static func smol(sourceLocation: SourceLocation = #_sourceLocation) throws -> Tokenizer {
        _ = try require(smolLM2, sourceLocation: sourceLocation)
        return try smolTokenizer.get()
    }

    private static let smolTokenizer = Result { try Tokenizer(path: packageRoot.appendingPathComponent(smolLM2).path) }
}

import ArgumentParser
import Foundation

/// Defaults shared by every command (README): store `data/pipeline.sqlite` (`--db`,
/// `PIPELINE_DB`), model `data/models/SmolLM2-135M-Instruct.Q4_1.gguf` (`--model`, `PIPELINE_MODEL`).
enum Defaults {
    static let databasePath = "data/pipeline.sqlite"
    static let modelPath = "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let kvSpillDirectory = "data/kv"
    /// Spill files and document snapshots of `pipeline run` (`--kv-dir`, `PIPELINE_KV_DIR`).
    static var kvDirectory: String { environment("PIPELINE_KV_DIR") ?? kvSpillDirectory }

    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "GGUF model file (default: $PIPELINE_MODEL or \(Defaults.modelPath)).")
    var model: String?

    var modelPath: String { model ?? Defaults.environment("PIPELINE_MODEL") ?? Defaults.modelPath }
}

struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Store: an SQLite file, or postgres://USER@HOST:PORT/DATABASE (default: $PIPELINE_DB or \(Defaults.databasePath)).")
    var db: String?

    var databasePath: String { db ?? Defaults.environment("PIPELINE_DB") ?? Defaults.databasePath }
}

/// Prints one JSON value on stdout, keys sorted so output is stable.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

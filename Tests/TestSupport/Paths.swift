import Foundation

/// Locations of the package and of assets that `scripts/fetch-test-assets.sh` puts under data/.
public enum Paths {
    /// The package root, found from this source file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func inPackage(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

    /// The real model. Integration tests fail (never skip) when it is missing.
    public static var realModel: String { inPackage("data/models/SmolLM2-135M-Instruct.Q4_1.gguf") }

    public static func requireFile(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw MissingAsset(path: path) }
        return path
    }

    public struct MissingAsset: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "missing test asset \(path): run scripts/fetch-test-assets.sh" }
    }
}

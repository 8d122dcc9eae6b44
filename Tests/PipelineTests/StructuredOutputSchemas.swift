import Foundation
import Pipeline
import TestSupport

/// Inputs of the real-model structured-output tests. The 22 schemas live in a job file
/// (Tests/Fixtures/structured/extraction-schemas.json, also the input of `pipeline
/// bench-structured`): extraction questions a team would ask of licences and manuals, covering
/// every keyword of the supported subset (strings with maxLength, enums, consts, integers,
/// numbers, booleans, nulls, type arrays, anyOf, nested objects, arrays with minItems/maxItems,
/// optional properties, a top-level array, and json_object); every fourth prompt samples.
enum StructuredOutputSchemas {
    static let jobPath = Paths.inPackage("Tests/Fixtures/structured/extraction-schemas.json")

    static func spec() throws -> JobSpec {
        try JobSpec.parse(try Data(contentsOf: URL(fileURLWithPath: jobPath)), file: jobPath)
    }

    /// (file under data/docs, byte offset, byte count): ten short excerpts and two long ones.
    static let excerpts: [(String, Int, Int)] = [
        ("licences/MPL-2.0.txt", 0, 600), ("licences/GPL-3.txt", 0, 600), ("licences/LGPL-2.1.txt", 0, 600),
        ("licences/GFDL-1.3.txt", 0, 600), ("manuals/zlib-FAQ.txt", 0, 600), ("manuals/libffi-README.md", 0, 600),
        ("manuals/systemd-README.txt", 0, 600), ("manuals/libjpeg-turbo-README.md", 0, 600),
        ("licences/GPL-2.txt", 0, 600), ("manuals/zlib-FAQ.txt", 3000, 600),
        ("licences/Apache-2.0.txt", 0, 2500), ("manuals/valgrind-FAQ.txt", 0, 2500),
    ]
}

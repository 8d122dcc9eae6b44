import Foundation
import GGUF
import Model
import Testing
import TestSupport

/// GGUF metadata the model math cannot use is refused with its key named, instead of loading a
/// model that produces empty or garbage output.
@Suite struct ModelMetadataTests {
    static let badValues: [(String, GGUFValue)] = [
        ("llama.rope.freq_base", .float32(0)), ("llama.rope.freq_base", .float32(-10000)),
        ("llama.rope.freq_base", .float32(.nan)), ("llama.rope.freq_base", .float32(.infinity)),
        ("llama.rope.dimension_count", .uint32(0)), ("llama.rope.dimension_count", .uint32(3)),
    ]

    @Test(arguments: badValues.indices)
    func metadataOutsideTheMathIsRefused(index: Int) throws {
        let (key, value) = Self.badValues[index]
        let folder = TemporaryDirectory()
        var m = SyntheticModel()
        if key.hasSuffix("freq_base"), case .float32(let base) = value {
            m.ropeBase = Double(base)
        } else {
            m.extraMetadata = [(key, value)]
        }
        let path = m.write(in: folder)
        #expect {
            _ = try LlamaModel(path: path)
        } throws: { error in
            guard case ModelError.invalidConfig(let named, _) = error else { return false }
            return named == key
        }
    }
}

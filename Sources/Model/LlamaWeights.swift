import CKernels
import GGUF
import Tensor

/// The weights of a llama-family model: matrices stay in their GGUF block formats inside the
/// file's memory mapping (read-only, shared, never copied wholesale); small vectors (norms,
/// biases) are copied to fp32 arrays. Every tensor's shape is checked against the config.
public struct LlamaWeights: Sendable {
    public struct Layer: Sendable {
        public let attentionNorm: [Float]      // [embedding]
        public let q, k, v, attentionOutput: WeightMatrix
        public let qBias, kBias, vBias: [Float]? // qwen2
        public let ffnNorm: [Float]
        public let gate, up, down: WeightMatrix
    }

    public let tokenEmbedding: WeightMatrix   // [vocab][embedding]
    public let layers: [Layer]
    public let outputNorm: [Float]
    public let output: WeightMatrix           // token_embd when tied
    public let ropeFrequencyFactors: [Float]? // rope_freqs.weight (Llama 3.1)
    public var outputIsTied: Bool { output.name == TensorNames.tokenEmbedding }

    public init(file: GGUFFile, config c: LlamaConfig) throws(ModelError) {
        func info(_ name: String) throws(ModelError) -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw .missingTensor(name) }
            return t
        }
        func matrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> WeightMatrix {
            let t = try info(name)
            guard t.dims.count == 2, t.dims[0] == columns, t.dims[1] == rows else {
                throw .tensorShape(tensor: name, expected: [columns, rows], found: t.dims)
            }
            do { return try WeightMatrix(t, in: file) } catch { throw .tensorType(tensor: name, type: t.type.description) }
        }
        func vector(_ name: String, count: Int) throws(ModelError) -> [Float] {
            let t = try info(name)
            guard t.elementCount == count, t.dims.count == 1 || t.dims.allSatisfy({ $0 == 1 || $0 == count }) else {
                throw .tensorShape(tensor: name, expected: [count], found: t.dims)
            }
            let bytes = file.data(for: t)
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer { ck_dequantize_row(Int32(t.type.rawValue), bytes.baseAddress!, $0.baseAddress!, Int64(count)) }
            guard out.allSatisfy(\.isFinite) else { throw .tensorType(tensor: name, type: "non-finite \(t.type)") }
            return out
        }
        func optionalVector(_ name: String, count: Int) throws(ModelError) -> [Float]? {
            file.tensor(named: name) == nil ? nil : try vector(name, count: count)
        }

        let d = c.embeddingLength
        tokenEmbedding = try matrix(TensorNames.tokenEmbedding, rows: c.vocabularySize, columns: d)
        var layers: [Layer] = []
        for l in 0..<c.layerCount {
            layers.append(Layer(
                attentionNorm: try vector(TensorNames.attentionNorm(l), count: d),
                q: try matrix(TensorNames.q(l), rows: c.qDim, columns: d),
                k: try matrix(TensorNames.k(l), rows: c.kvDim, columns: d),
                v: try matrix(TensorNames.v(l), rows: c.kvDim, columns: d),
                attentionOutput: try matrix(TensorNames.attentionOutput(l), rows: d, columns: c.qDim),
                qBias: try optionalVector(TensorNames.qBias(l), count: c.qDim),
                kBias: try optionalVector(TensorNames.kBias(l), count: c.kvDim),
                vBias: try optionalVector(TensorNames.vBias(l), count: c.kvDim),
                ffnNorm: try vector(TensorNames.ffnNorm(l), count: d),
                gate: try matrix(TensorNames.gate(l), rows: c.feedForwardLength, columns: d),
                up: try matrix(TensorNames.up(l), rows: c.feedForwardLength, columns: d),
                down: try matrix(TensorNames.down(l), rows: d, columns: c.feedForwardLength)))
        }
        self.layers = layers
        outputNorm = try vector(TensorNames.outputNorm, count: d)
        output = file.tensor(named: TensorNames.output) == nil
            ? tokenEmbedding : try matrix(TensorNames.output, rows: c.vocabularySize, columns: d)
        ropeFrequencyFactors = try optionalVector(TensorNames.ropeFrequencies, count: c.ropeDimensionCount / 2)
    }

    /// Bytes of weights read per decode step (all matrices once).
    public var matrixByteCount: Int {
        layers.reduce(output.byteCount) { $0 + [$1.q, $1.k, $1.v, $1.attentionOutput, $1.gate, $1.up, $1.down].reduce(0) { $0 + $1.byteCount } }
    }
}

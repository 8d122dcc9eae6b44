import Attention
import CKernels
import Foundation
import KVCache
import Tensor

/// Which logits a forward request wants back.
public enum LogitsRequest: Sendable { case none, last, all }

/// New tokens for one sequence in a forward pass.
public struct ForwardRequest {
    public let sequence: SequenceState
    public let tokens: [Int32]
    public let logits: LogitsRequest
    public init(_ sequence: SequenceState, tokens: [Int32], logits: LogitsRequest = .last) {
        self.sequence = sequence
        self.tokens = tokens
        self.logits = logits
    }
}

/// Rows of logits for one request, valid until the context's next forward pass.
public struct LogitsView {
    public let base: UnsafePointer<Float>
    public let rowCount: Int
    public let vocabularySize: Int
    public subscript(row: Int) -> UnsafeBufferPointer<Float> {
        precondition(row >= 0 && row < rowCount)
        return UnsafeBufferPointer(start: base + row * vocabularySize, count: vocabularySize)
    }
    public var last: UnsafeBufferPointer<Float> { self[rowCount - 1] }
}

/// Scratch memory and threads for forward passes of one model. Not for concurrent use: one
/// context drives one batch of sequences at a time (sequences themselves can be batched).
public final class ForwardContext {
    public let model: LlamaModel
    public let pool: ThreadPool
    /// Upper bound on tokens per forward call, summed over its requests.
    public let maxTokens: Int
    /// The decode-attention strategy (dense unless replaced).
    public var decodeAttention: AttentionStrategy
    /// The number format of the matmuls' activations (ActivationFormat; fp32 unless set). Not
    /// implemented formats are rejected by the callers that set it (`ActivationFormat.isImplemented`).
    public var activations: ActivationFormat = .f32
    /// How the output layer is computed (full unless set; `certified` applies to greedy callers only).
    public var lmHead: LMHeadMode = .full
    /// The certified head's compressed copy (built on first use, of this format).
    var certifiedHead: CertifiedLMHead?
    public var certifiedHeadCopy: CertifiedHeadCopy = .q4_0
    /// Rows of the current product set in the q8 format (maxTokens × the widest input).
    let activationCodes: UnsafeMutableRawPointer
    let prefillAttention = PrefillAttention()
    /// Dense attention of row-exact passes (speculative verification), whatever `decodeAttention` is.
    let verifierAttention = DenseAttention()

    // Activations, row-major over the call's token rows. Shapes at allocation below.
    let x, h, q, k, v, att, gate, up, ropeCos, ropeSin: UnsafeMutablePointer<Float>
    let gemmScratch: UnsafeMutablePointer<Float>
    var logits: UnsafeMutablePointer<Float>
    var logitRowCapacity: Int
    let inverseFrequencies: [Double]

    public init(model: LlamaModel, pool: ThreadPool, maxTokens: Int = 512, decodeAttention: AttentionStrategy = DenseAttention()) {
        let c = model.config
        self.model = model
        self.pool = pool
        self.maxTokens = maxTokens
        self.decodeAttention = decodeAttention
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 16))
            p.initialize(repeating: 0, count: max(n, 16))
            return p
        }
        x = alloc(maxTokens * c.embeddingLength)       // [T][embedding] residual stream
        h = alloc(maxTokens * max(c.embeddingLength, c.qDim)) // [T][embedding] normed input / projection output
        q = alloc(maxTokens * c.qDim)                  // [T][heads][headDim]
        k = alloc(maxTokens * c.kvDim)                 // [T][kvHeads][headDim]
        v = alloc(maxTokens * c.kvDim)
        att = alloc(maxTokens * c.qDim)                // [T][heads][headDim] attention output
        gate = alloc(maxTokens * c.feedForwardLength)  // [T][ffn]
        up = alloc(maxTokens * c.feedForwardLength)
        ropeCos = alloc(maxTokens * c.ropeDimensionCount / 2) // [T][rotary pairs]
        ropeSin = alloc(maxTokens * c.ropeDimensionCount / 2)
        let w = model.weights
        let scratchPerThread = ([w.output, w.tokenEmbedding] + w.layers.flatMap { [$0.q, $0.k, $0.v, $0.attentionOutput, $0.gate, $0.up, $0.down] })
            .map(\.scratchFloatCount).max()!
        gemmScratch = alloc(pool.threadCount * scratchPerThread + 64)
        let widest = max(c.embeddingLength, c.qDim, c.feedForwardLength)
        activationCodes = .allocate(byteCount: max(1, maxTokens * WeightMatrix.q8RowBytes(columns: widest)), alignment: 64)
        logitRowCapacity = 1
        logits = alloc(c.vocabularySize)
        // θ_i = base^(-2i / rotaryDims), divided by the optional per-pair frequency factors
        let rot = c.ropeDimensionCount
        inverseFrequencies = (0..<rot / 2).map { i in
            let f = Foundation.pow(c.ropeBase, -Double(2 * i) / Double(rot))
            return f / Double(w.ropeFrequencyFactors?[i] ?? 1)
        }
    }

    deinit {
        for p in [x, h, q, k, v, att, gate, up, ropeCos, ropeSin, gemmScratch, logits] { p.deallocate() }
        activationCodes.deallocate()
    }

    /// What the certified head did since it was built (nil before its first use).
    public var certifiedHeadStatistics: CertifiedLMHead.Statistics? { certifiedHead?.statistics }
    /// Bytes of the certified head's compressed copy (nil before its first use).
    public var certifiedHeadByteCount: Int? { certifiedHead?.compressedByteCount }

    /// Names of the matrices that stay fp32 under `q8` activations (weight types without integer codes).
    public var q8Fallbacks: [String] {
        let w = model.weights
        return ([w.output] + w.layers.flatMap { [$0.q, $0.k, $0.v, $0.attentionOutput, $0.gate, $0.up, $0.down] })
            .filter { !$0.supportsQ8Activations }.map(\.name)
    }

    /// Under q8 activations, quantizes `count` rows of `columns` floats into `activationCodes` and
    /// returns them for the products over those rows; nil (fp32) otherwise.
    func quantizedActivations(_ x: UnsafePointer<Float>, stride: Int, columns: Int, count: Int) -> UnsafeRawPointer? {
        guard activations == .q8 else { return nil }
        WeightMatrix.quantizeQ8(x: x, xStride: stride, columns: columns, count: count, into: activationCodes, pool: pool)
        return UnsafeRawPointer(activationCodes)
    }

    func reserveLogits(rows: Int) -> UnsafeMutablePointer<Float> {
        if rows > logitRowCapacity {
            logits.deallocate()
            logits = .allocate(capacity: rows * model.config.vocabularySize)
            logitRowCapacity = rows
        }
        return logits
    }
}

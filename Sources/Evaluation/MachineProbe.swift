import Attention
import CKernels
import Foundation
import KVCache
import Model
import Planner
import Store
import Tensor

/// Measures this machine for the cost model (`pipeline calibrate`). Every `MachineProfile`
/// coefficient comes from timing the engine's own code on the real model — prefill and decode
/// forward passes, each attention strategy over each KV format, the KV page codec — plus memory
/// bandwidth and the disk under the KV folder. Timings are medians after an untimed warm-up and
/// bandwidths the best of a few passes, so one page fault or scheduler hiccup does not become a
/// coefficient. The default settings finish well within two minutes on two threads with
/// SmolLM2-135M.
public struct MachineProbe {
    public struct Settings: Sendable {
        /// Prefill lengths fitted to t(n) = a·n + b·n²/2 (least squares on t/n = a + b·n/2). The
        /// longest reaches 2048 tokens so the pair term, which dominates long documents, is measured
        /// where it is a sizeable part of the time rather than extrapolated from short prompts.
        public var prefillLengths = [256, 1024, 2048]
        /// Timed prefills per length (after one warm-up), interleaved over the lengths.
        public var prefillRepetitions = 3
        /// Decode batch sizes fitted to step(B) = w + B·c at a shallow depth, where attention is
        /// small (and is measured and taken out of c).
        public var decodeBatches = [1, 2, 4]
        public var decodeDepth = 32
        /// Timed decode steps per batch size (after one warm-up), interleaved over the sizes.
        public var decodeSteps = 16
        /// Buffer streamed for the memory bandwidth; file written and read back for the disk.
        public var memoryBytes = 256 << 20
        public var diskBytes = 64 << 20
        /// Tokens prefilled into a cache of each format but f16 for the codec timing (the f16 pages
        /// come from the longest timed prefill).
        public var codecTokens = 1024
        /// Depths of the attention timing (at most the model's context) and timed steps per depth.
        public var attentionDepths = [1024, 4096, 8000]
        public var attentionSteps = 9
        /// Rows of the timed verification passes (γ + 1 for the default γ = 4) and timed passes per
        /// depth; the depths are the decode probe's and the longest prefill's.
        public var verificationRows = 5
        public var verificationSteps = 8
        public var formats: [KVFormat] = [.f16, .int8, .int4]

        public init() {}
    }

    public let model: LlamaModel
    public let pool: ThreadPool
    /// Where the disk test writes its file: the folder KV pages spill to.
    public let kvDirectory: String
    public var settings = Settings()
    /// One line per finished phase.
    public var progress: (String) -> Void = { _ in }

    public init(model: LlamaModel, pool: ThreadPool, kvDirectory: String) {
        self.model = model
        self.pool = pool
        self.kvDirectory = kvDirectory
    }

    /// Measures everything; `strategies` are the decode-attention strategies whose cost per KV
    /// format the profile records (keyed `"<name>+<format>"`, e.g. `"lsh+int4"`).
    public func run(strategies: [AttentionStrategy]) throws -> MachineProfile {
        var random = Xoshiro256(seed: 0x5EED)
        let context = ForwardContext(model: model, pool: pool, maxTokens: 512)

        // The disk first: a KV folder that cannot be written fails the probe at once.
        let disk = try Self.diskMBPerSecond(directory: kvDirectory, bytes: settings.diskBytes)
        progress(String(format: "disk: write %.0f MB/s (fsync), read %.0f MB/s (page cache dropped), %d MiB under %@",
                        disk.write, disk.read, settings.diskBytes >> 20, kvDirectory))

        let memory = Self.memoryGBPerSecond(bytes: settings.memoryBytes, pool: pool)
        progress(String(format: "memory: %.1f GB/s streaming read (%d MiB, %d threads)", memory, settings.memoryBytes >> 20,
                        pool.threadCount))

        let prefill = try measurePrefill(context, random: &random)
        // 0 when the fit leaves no per-token time to divide by (a model too small to resolve it).
        let gemmGFLOPS = prefill.perToken > 0 ? 2 * Double(matrixParameterCount) / prefill.perToken / 1e9 : 0
        progress(String(format: "prefill: %@; a = %.3f ms/token, b = %.4f µs/pair, GEMM %.1f GFLOP/s",
                        zip(settings.prefillLengths, prefill.seconds).map { String(format: "%d tokens %.3f s", $0, $1) }
                            .joined(separator: ", "), prefill.perToken * 1e3, prefill.perPair * 1e6, gemmGFLOPS))

        let decode = try measureDecode(context, random: &random)
        progress(String(format: "decode: step %@ at depth %d; w = %.2f ms, c = %.3f ms (attention %.3f ms taken out)",
                        zip(settings.decodeBatches, decode.stepSeconds).map { String(format: "B=%d %.2f ms", $0, $1 * 1e3) }
                            .joined(separator: ", "), settings.decodeDepth, decode.weight * 1e3, decode.perSequence * 1e3,
                        decode.attention * 1e3))

        var codec = prefill.longest.timeCodec(repetitions: 2)
        // Formats whose pages can hold this model's head size (int4 needs a multiple of 64).
        let formats = settings.formats.filter { (try? PagedKVCache(format: $0, geometry: model.kvGeometry)) != nil }
        for format in formats where format != .f16 {
            let cache = try PagedKVCache(format: format, geometry: model.kvGeometry)
            try context.prefill(SequenceState(cache: cache), tokens: randomTokens(min(settings.codecTokens, model.config.contextLength / 2), &random), logits: false)
            codec.merge(cache.timeCodec(repetitions: 2))
        }
        progress(String(format: "lz4: compress %.0f MB/s, decompress %.0f MB/s over %d pages (%.1f MB, ratio %.3f)",
                        codec.encodeMBPerSecond, codec.decodeMBPerSecond, codec.pages, Double(codec.rawBytes) / 1e6,
                        Double(codec.rawBytes) / Double(max(1, codec.storedBytes))))

        let verification = try measureVerification(context, sequences: [
            try model.makeSequence(format: .f16),
            SequenceState(cache: prefill.longest, tokens: prefill.longestTokens),
        ], random: &random)
        progress("verification: \(settings.verificationRows) rows cost 1 + " + zip(verification.depths, verification.extraRowCosts)
            .map { String(format: "%.2f·%d at depth %d", $1, settings.verificationRows - 1, $0) }.joined(separator: ", ")
            + " decode steps")

        // A model with a short context is probed at depths it can hold.
        let contextLength = model.config.contextLength
        var depths = settings.attentionDepths.filter { $0 < contextLength }
        if depths.count < 2 { depths = [contextLength / 4, contextLength / 2] }
        let attention = try Self.attentionCosts(strategies: strategies, formats: formats, geometry: model.kvGeometry,
                                                headCount: model.config.headCount, depths: depths, steps: settings.attentionSteps,
                                                pool: pool, progress: progress)

        return MachineProfile(threads: pool.threadCount, gemmGFLOPS: gemmGFLOPS, prefillSecondsPerToken: prefill.perToken,
                              prefillSecondsPerPair: prefill.perPair, memoryGBPerSecond: memory, decodeWeightSeconds: decode.weight,
                              decodePerSequenceSeconds: decode.perSequence, diskWriteMBPerSecond: disk.write, diskReadMBPerSecond: disk.read,
                              lz4CompressMBPerSecond: codec.encodeMBPerSecond, lz4DecompressMBPerSecond: codec.decodeMBPerSecond,
                              attention: attention, verification: verification)
    }

    /// Weights multiplied per token: every layer's projections (the output head runs for one row
    /// per prefill, so it is not a per-token cost).
    var matrixParameterCount: Int {
        model.weights.layers.reduce(0) { sum, l in
            sum + [l.q, l.k, l.v, l.attentionOutput, l.gate, l.up, l.down].reduce(0) { $0 + $1.rowCount * $1.columnCount }
        }
    }

    func randomTokens(_ n: Int, _ random: inout Xoshiro256) -> [Int32] {
        let vocabulary = UInt64(model.config.vocabularySize)
        return (0..<n).map { _ in Int32(random.next() % vocabulary) }
    }

    // MARK: - Prefill

    struct PrefillMeasurement {
        var seconds: [Double]
        var perToken: Double
        var perPair: Double
        /// The f16 cache of the last longest prefill: real KV pages for the codec timing.
        var longest: PagedKVCache
        var longestTokens: [Int32]
    }

    /// Random tokens into fresh f16 caches, in the runner's 512-token chunks.
    private func measurePrefill(_ context: ForwardContext, random: inout Xoshiro256) throws -> PrefillMeasurement {
        var lengths = settings.prefillLengths.filter { $0 <= model.config.contextLength }
        if lengths.count < 2 { lengths = [model.config.contextLength / 4, model.config.contextLength / 2] }
        let prompts = lengths.map { randomTokens($0, &random) }
        var samples = Array(repeating: [Double](), count: lengths.count)
        var longest: PagedKVCache?
        for repetition in 0...settings.prefillRepetitions {
            for (i, prompt) in prompts.enumerated() where repetition > 0 || i == 0 {
                let cache = try PagedKVCache(format: .f16, geometry: model.kvGeometry)
                let t0 = DispatchTime.now().uptimeNanoseconds
                try context.prefill(SequenceState(cache: cache), tokens: prompt, logits: false)
                if repetition > 0 { samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
                if prompt.count == lengths.max() { longest = cache }
            }
        }
        let seconds = samples.map(median)
        let fit = Self.fitPrefill(lengths: lengths, seconds: seconds)
        return PrefillMeasurement(seconds: seconds, perToken: fit.perToken, perPair: fit.perPair, longest: longest!,
                                  longestTokens: prompts[lengths.firstIndex(of: lengths.max()!)!])
    }

    /// t(n) = a·n + b·n²/2 through measured (n, t): a line in n/2 through t/n (a, b ≥ 0).
    public static func fitPrefill(lengths: [Int], seconds: [Double]) -> (perToken: Double, perPair: Double) {
        let fit = fitNonNegativeLine(lengths.map { Double($0) / 2 }, zip(lengths, seconds).map { $1 / Double($0) })
        return (fit.intercept, fit.slope)
    }

    // MARK: - Decode

    struct DecodeMeasurement {
        var stepSeconds: [Double]
        var weight: Double
        var perSequence: Double
        /// One sequence's dense attention at the probe's depth, taken out of `perSequence`.
        var attention: Double
    }

    /// Steps of one token per sequence for each batch size, the sequences truncated back to the
    /// same depth after every step; then the fit step(B) = w + B·c.
    private func measureDecode(_ context: ForwardContext, random: inout Xoshiro256) throws -> DecodeMeasurement {
        let depth = settings.decodeDepth, batches = settings.decodeBatches
        var sequences: [SequenceState] = []
        for _ in 0..<batches.max()! {
            let sequence = try model.makeSequence(format: .f16)
            try context.prefill(sequence, tokens: randomTokens(depth, &random), logits: false)
            sequences.append(sequence)
        }
        var samples = Array(repeating: [Double](), count: batches.count)
        for step in 0...settings.decodeSteps {
            for (i, b) in batches.enumerated() {
                let requests = sequences.prefix(b).map { ForwardRequest($0, tokens: randomTokens(1, &random)) }
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try context.forward(requests)
                if step > 0 { samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
                for s in sequences.prefix(b) { try s.truncate(to: depth) }
            }
        }
        let seconds = samples.map(median)
        let fit = fitNonNegativeLine(batches.map(Double.init), seconds)
        let attention = try Self.attentionStepSeconds(context.decodeAttention, cache: sequences[0].cache, index: AttentionIndexSlot(),
                                                  visibleTokenCount: depth + 1, headCount: model.config.headCount,
                                                  steps: settings.decodeSteps, pool: pool, random: &random).median
        return DecodeMeasurement(stepSeconds: seconds, weight: fit.intercept, perSequence: max(0, fit.slope - attention),
                                 attention: attention)
    }

    // MARK: - Verification

    /// One decode step against one row-exact pass of `verificationRows` rows (speculative
    /// decoding's verification) at each sequence's depth (an empty one is first given the decode
    /// probe's depth), interleaved, medians; the cost of each row after the first, in steps.
    private func measureVerification(_ context: ForwardContext, sequences: [SequenceState],
                                     random: inout Xoshiro256) throws -> MachineProfile.VerificationCost {
        let rows = max(2, settings.verificationRows)
        var depths: [Int] = [], extra: [Double] = []
        for sequence in sequences {
            if sequence.tokenCount == 0 { try context.prefill(sequence, tokens: randomTokens(settings.decodeDepth, &random), logits: false) }
            let start = sequence.tokenCount
            let timed = try SpeculativeBenchmark.timeVerification(context, sequence: sequence, drafts: randomTokens(rows, &random),
                                                                  rowCounts: [rows], repetitions: settings.verificationSteps)
            depths.append(start)
            extra.append(max(0, timed.passes[0] / timed.step - 1) / Double(rows - 1))
        }
        return MachineProfile.VerificationCost(depths: depths, extraRowCosts: extra)
    }

    // MARK: - Attention per mix

    /// Seconds of one decode step's attention for one sequence (all layers), per strategy and KV
    /// format at each depth, keyed `"<strategy name>+<format>"` (the router's lookup key).
    ///
    /// The caches hold random keys and values (uniform in [-1, 1]) rather than a document's: the
    /// kernels' work depends on the depth and format, not on the numbers — except LSH's sampled
    /// sets, whose sizes depend on how keys collide with the query, so random keys make them
    /// differ from real documents'. Each cache grows through the depths (in ascending order) and
    /// each strategy keeps its index across them, so an index is built once, incrementally, in the
    /// untimed first step at each depth.
    public static func attentionCosts(strategies: [AttentionStrategy], formats: [KVFormat], geometry: KVGeometry, headCount: Int,
                                      depths: [Int], steps: Int, pool: ThreadPool,
                                      progress: (String) -> Void = { _ in }) throws(KVCacheError) -> [String: MachineProfile.AttentionCost] {
        var random = Xoshiro256(seed: 0xA77E)
        let depths = depths.sorted()
        var costs: [String: MachineProfile.AttentionCost] = [:]
        for format in formats {
            let cache = try PagedKVCache(format: format, geometry: geometry)
            let indexes = strategies.map { _ in AttentionIndexSlot() }
            var seconds = Array(repeating: [Double](), count: strategies.count)
            var firstStepExcess = Array(repeating: 0.0, count: strategies.count)
            for depth in depths {
                try appendRandom(to: cache, upTo: depth, random: &random)
                for (i, strategy) in strategies.enumerated() {
                    let step = try attentionStepSeconds(strategy, cache: cache, index: indexes[i], visibleTokenCount: depth,
                                                        headCount: headCount, steps: steps, pool: pool, random: &random)
                    seconds[i].append(step.median)
                    firstStepExcess[i] += max(0, step.first - step.median)
                }
            }
            // The first step at each depth builds or extends the index over the new tokens; what it
            // costs beyond a later step, less the same excess of dense attention (no index: what is
            // left is the cold pages every strategy meets), over the tokens indexed. Dense's is 0 by this.
            let baseline = strategies.firstIndex { $0 is DenseAttention }.map { firstStepExcess[$0] } ?? 0
            let build = firstStepExcess.map { max(0, $0 - baseline) / Double(max(1, depths.last ?? 1)) }
            for (i, strategy) in strategies.enumerated() {
                costs["\(strategy.name)+\(format.rawValue)"] = MachineProfile.AttentionCost(
                    depths: depths, stepSeconds: seconds[i], indexBuildSecondsPerToken: build[i])
            }
            progress("attention over \(format.rawValue): " + strategies.indices.map { i in
                "\(strategies[i].name) " + seconds[i].map { String(format: "%.2f", $0 * 1e3) }.joined(separator: "/")
            }.joined(separator: ", ") + " ms at depths " + depths.map(String.init).joined(separator: "/")
                + "; index build " + strategies.indices.filter { !(strategies[$0] is DenseAttention) }.map { i in
                    "\(strategies[i].name) " + String(format: "%.2f", build[i] * 1e6) + " µs/token"
                }.joined(separator: ", "))
        }
        return costs
    }

    /// Stores random keys and values for tokens `cache.tokenCount..<count` in every layer.
    static func appendRandom(to cache: PagedKVCache, upTo count: Int, random: inout Xoshiro256) throws(KVCacheError) {
        let start = cache.tokenCount
        guard count > start else { return }
        let kvDim = cache.geometry.kvHeadCount * cache.geometry.headDim
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: kvDim), values = UnsafeMutablePointer<Float>.allocate(capacity: kvDim)
        defer { keys.deallocate(); values.deallocate() }
        try cache.reserve(tokenCount: count)
        for layer in 0..<cache.geometry.layerCount {
            for position in start..<count {
                fillUniform(keys, count: kvDim, scale: 1, &random)
                fillUniform(values, count: kvDim, scale: 1, &random)
                cache.store(layer: layer, position: position, keys: keys, values: values)
            }
        }
        try cache.commit(tokenCount: count)
    }

    /// The median over `steps` decode steps of one query token's attention through every layer,
    /// after one step timed apart (`first`: it builds or extends a sparse strategy's index). Queries
    /// are random, new each step, scaled by 1/√headDim as the forward pass scales them.
    static func attentionStepSeconds(_ strategy: AttentionStrategy, cache: KVCache, index: AttentionIndexSlot, visibleTokenCount: Int,
                                     headCount: Int, steps: Int, pool: ThreadPool,
                                     random: inout Xoshiro256) throws(KVCacheError) -> (median: Double, first: Double) {
        let layers = cache.geometry.layerCount, qDim = headCount * cache.geometry.headDim
        let q = UnsafeMutablePointer<Float>.allocate(capacity: layers * qDim), out = UnsafeMutablePointer<Float>.allocate(capacity: qDim)
        defer { q.deallocate(); out.deallocate() }
        let scale = 1 / Float(cache.geometry.headDim).squareRoot()
        var samples: [Double] = []
        for _ in 0...steps {
            fillUniform(q, count: layers * qDim, scale: scale, &random)
            let t0 = DispatchTime.now().uptimeNanoseconds
            for layer in 0..<layers {
                let query = DecodeQuery(cache: cache, visibleTokenCount: visibleTokenCount, q: q + layer * qDim, out: out,
                                        headCount: headCount, index: index)
                try strategy.decode([query], layer: layer, pool: pool)
            }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return (median(Array(samples.dropFirst())), samples[0])
    }

    static func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, scale: Float, _ random: inout Xoshiro256) {
        for i in 0..<count { p[i] = scale * Float(Int32(truncatingIfNeeded: random.next() >> 32)) / 2_147_483_648 }
    }

    // MARK: - Memory and disk

    /// Streaming read bandwidth: every thread sums its share of a `bytes` buffer (`ck_dot_f32` of
    /// each 1 MiB chunk with itself, one pass over memory); the best of `passes`, GB/s.
    public static func memoryGBPerSecond(bytes: Int, pool: ThreadPool, passes: Int = 3) -> Double {
        let chunk = 1 << 18, chunks = max(1, bytes / (4 * chunk)) // floats per 1 MiB chunk
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunks * chunk)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: chunks)
        defer { buffer.deallocate(); sums.deallocate() }
        pool.parallelFor(count: chunks) { range in // touch every page before timing
            for c in range { (buffer + c * chunk).initialize(repeating: 1, count: chunk) }
        }
        var best = 0.0
        for _ in 0..<passes {
            let t0 = DispatchTime.now().uptimeNanoseconds
            pool.parallelFor(count: chunks) { range in
                for c in range { sums[c] = ck_dot_f32(buffer + c * chunk, buffer + c * chunk, Int64(chunk)) }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, Double(chunks * chunk * 4) / seconds / 1e9)
        }
        return best
    }

    /// Writes `bytes` of random (incompressible) data to a new file in `directory` in 1 MiB
    /// writes and fsyncs it, then reads it back after dropping it from the page cache; MB/s each.
    /// The file is removed.
    public static func diskMBPerSecond(directory: String, bytes: Int) throws -> (write: Double, read: Double) {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw MachineProbeError.disk(path: directory, operation: "create the folder", reason: error.localizedDescription)
        }
        let path = "\(directory)/calibrate-\(getpid()).tmp"
        let block = 1 << 20, blocks = max(1, bytes / block)
        let data = UnsafeMutableRawBufferPointer.allocate(byteCount: blocks * block, alignment: 4096)
        defer { data.deallocate(); unlink(path) }
        var random = Xoshiro256(seed: 0xD15C)
        for i in 0..<(data.count / 8) { data.storeBytes(of: random.next(), toByteOffset: 8 * i, as: UInt64.self) }

        func fail(_ operation: String, _ fd: Int32) -> MachineProbeError {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            return .disk(path: path, operation: operation, reason: reason)
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw fail("create", fd) }
        for b in 0..<blocks where write(fd, data.baseAddress! + b * block, block) != block { throw fail("write", fd) }
        guard fsync(fd) == 0 else { throw fail("fsync", fd) }
        close(fd)
        let t1 = DispatchTime.now().uptimeNanoseconds

        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fail("open", fd) }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) // the file is clean after fsync, so its cached pages go
        #else
        _ = fcntl(fd, F_NOCACHE, 1)
        #endif
        let t2 = DispatchTime.now().uptimeNanoseconds
        var total = 0
        while true {
            let n = read(fd, data.baseAddress! + total % data.count, block)
            guard n >= 0 else { throw fail("read", fd) }
            if n == 0 { break }
            total += n
        }
        close(fd)
        let t3 = DispatchTime.now().uptimeNanoseconds
        return (Double(blocks * block) / (Double(t1 - t0) / 1e9) / 1e6, Double(total) / (Double(t3 - t2) / 1e9) / 1e6)
    }
}

/// Why a probe could not measure.
public enum MachineProbeError: Error, Equatable, CustomStringConvertible {
    case disk(path: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .disk(path, operation, reason): "disk test: cannot \(operation) \(path): \(reason)"
        }
    }
}

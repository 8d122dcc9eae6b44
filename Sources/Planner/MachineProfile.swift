import Foundation

/// What this machine can do, measured by `pipeline calibrate` (MachineProbe) and refit from the
/// runs it records. The cost model (CostModel.swift) turns a document and a strategy mix into
/// predicted seconds, bytes and disk traffic with these coefficients.
public struct MachineProfile: Codable, Sendable, Equatable {
    /// Threads the measurements used.
    public var threads: Int
    /// Dense fp32 matrix–matrix throughput on the model's quantized weights (prefill GEMM), GFLOP/s.
    public var gemmGFLOPS: Double
    /// Prefill seconds per token for the weights and per (query, key) pair of causal attention,
    /// fitted from two prefill lengths: t(n) = perToken·n + perPair·n²/2.
    public var prefillSecondsPerToken: Double
    public var prefillSecondsPerPair: Double
    /// Streaming read bandwidth over all threads, GB/s.
    public var memoryGBPerSecond: Double
    /// Seconds of one decode step spent on the weights (one read shared by the batch), and per
    /// sequence in the batch apart from attention (its row of every product, norms, sampling).
    public var decodeWeightSeconds: Double
    public var decodePerSequenceSeconds: Double
    /// Disk throughput under data/kv (written with fsync; read after dropping the page cache), MB/s.
    public var diskWriteMBPerSecond: Double
    public var diskReadMBPerSecond: Double
    /// LZ4 on KV pages, MB/s of uncompressed bytes.
    public var lz4CompressMBPerSecond: Double
    public var lz4DecompressMBPerSecond: Double
    /// Decode attention cost per strategy mix label: seconds per step for one sequence as a
    /// function of depth, t(d) = fixed + perToken·d, fitted from steps at a few depths.
    public var attention: [String: AttentionCost]
    /// The verification cost curve of speculative decoding (nil in profiles measured before it).
    public var verification: VerificationCost?
    public var measuredAt: Date
    /// Recorded units that refined the coefficients since the last calibration.
    public var refitUnits: Int

    public struct AttentionCost: Codable, Sendable, Equatable {
        public var fixedSeconds: Double
        public var secondsPerToken: Double
        public var depths: [Int]
        public var stepSeconds: [Double]
        /// Seconds per context token of building the strategy's per-sequence index (sketches, hash
        /// tables, key mirror), paid once per sequence on its first sparse decode step and when it
        /// is extended: the first step's excess over a later step, summed over the depths the probe
        /// grew through, divided by the deepest depth. 0 for dense attention (no index) and for
        /// profiles measured before it was recorded.
        public var indexBuildSecondsPerToken: Double

        public init(depths: [Int], stepSeconds: [Double], indexBuildSecondsPerToken: Double = 0) {
            self.depths = depths
            self.stepSeconds = stepSeconds
            self.indexBuildSecondsPerToken = indexBuildSecondsPerToken
            (fixedSeconds, secondsPerToken) = fitLine(depths.map(Double.init), stepSeconds)
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            fixedSeconds = try c.decode(Double.self, forKey: .fixedSeconds)
            secondsPerToken = try c.decode(Double.self, forKey: .secondsPerToken)
            depths = try c.decode([Int].self, forKey: .depths)
            stepSeconds = try c.decode([Double].self, forKey: .stepSeconds)
            indexBuildSecondsPerToken = try c.decodeIfPresent(Double.self, forKey: .indexBuildSecondsPerToken) ?? 0
        }

        public func seconds(atDepth d: Int) -> Double { max(0, fixedSeconds + secondsPerToken * Double(d)) }

        /// Building the index over `tokens` tokens of context.
        public func indexBuildSeconds(tokens: Int) -> Double { indexBuildSecondsPerToken * Double(max(0, tokens)) }
    }

    /// What verifying drafts costs on this machine: one row-exact pass over r rows at depth d costs
    /// 1 + extraRow(d)·(r − 1) decode steps, extraRow(d) = fixed + perToken·d fitted from passes at
    /// a few depths (`MachineProbe`; `pipeline bench --verification-cost` measures the whole curve).
    public struct VerificationCost: Codable, Sendable, Equatable {
        public var depths: [Int]
        /// The measured cost of one extra row, in decode steps, at each depth.
        public var extraRowCosts: [Double]
        public var fixed: Double
        public var perToken: Double

        public init(depths: [Int], extraRowCosts: [Double]) {
            self.depths = depths
            self.extraRowCosts = extraRowCosts
            (fixed, perToken) = fitNonNegativeLine(depths.map(Double.init), extraRowCosts)
        }

        public func extraRowCost(atDepth d: Int) -> Double { fixed + perToken * Double(max(0, d)) }
    }

    public init(threads: Int, gemmGFLOPS: Double, prefillSecondsPerToken: Double, prefillSecondsPerPair: Double,
                memoryGBPerSecond: Double, decodeWeightSeconds: Double, decodePerSequenceSeconds: Double,
                diskWriteMBPerSecond: Double, diskReadMBPerSecond: Double, lz4CompressMBPerSecond: Double,
                lz4DecompressMBPerSecond: Double, attention: [String: AttentionCost], verification: VerificationCost? = nil,
                measuredAt: Date = Date(), refitUnits: Int = 0) {
        self.threads = threads
        self.gemmGFLOPS = gemmGFLOPS
        self.prefillSecondsPerToken = prefillSecondsPerToken
        self.prefillSecondsPerPair = prefillSecondsPerPair
        self.memoryGBPerSecond = memoryGBPerSecond
        self.decodeWeightSeconds = decodeWeightSeconds
        self.decodePerSequenceSeconds = decodePerSequenceSeconds
        self.diskWriteMBPerSecond = diskWriteMBPerSecond
        self.diskReadMBPerSecond = diskReadMBPerSecond
        self.lz4CompressMBPerSecond = lz4CompressMBPerSecond
        self.lz4DecompressMBPerSecond = lz4DecompressMBPerSecond
        self.attention = attention
        self.verification = verification
        self.measuredAt = measuredAt
        self.refitUnits = refitUnits
    }
}

/// Least-squares line y = a + b·x through points (x, y).
public func fitLine(_ xs: [Double], _ ys: [Double]) -> (intercept: Double, slope: Double) {
    guard xs.count >= 2 else { return (ys.first ?? 0, 0) }
    let n = Double(xs.count)
    let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
    let sxx = zip(xs, xs).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - mx) }
    let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
    let slope = sxx > 0 ? sxy / sxx : 0
    return (my - slope * mx, slope)
}

extension MachineProfile {
    /// The stored form (the store keeps profiles as opaque JSON): keys sorted, dates ISO 8601.
    public func encodedJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// A profile from its stored form (`encodedJSON()`).
    public init(json: Data) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        self = try decoder.decode(MachineProfile.self, from: json)
    }
}

/// Least-squares line y = a + b·x with a, b ≥ 0, for costs that cannot be negative: when the free
/// fit makes one negative (noise on a nearly flat or nearly proportional series), that one is 0
/// and the other is fitted alone.
public func fitNonNegativeLine(_ xs: [Double], _ ys: [Double]) -> (intercept: Double, slope: Double) {
    let free = fitLine(xs, ys)
    if free.intercept >= 0 && free.slope >= 0 { return free }
    let mean = ys.isEmpty ? 0 : ys.reduce(0, +) / Double(ys.count)
    let sxx = xs.reduce(0) { $0 + $1 * $1 }
    let throughOrigin = sxx > 0 ? zip(xs, ys).reduce(0) { $0 + $1.0 * $1.1 } / sxx : 0
    if free.slope < 0 || throughOrigin < 0 { return (max(0, mean), 0) }
    return (0, throughOrigin)
}

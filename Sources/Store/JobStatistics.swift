import Foundation

/// Aggregates of one job over its units and metrics, read in one snapshot.
public struct JobStatistics: Sendable, Equatable {
    public var job: JobRecord
    public var unitCounts: [UnitState: Int]
    /// Sums over done units.
    public var tokensIn: Int
    public var tokensOut: Int
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var documentPrefillSeconds: Double
    public var perPromptPrefillSeconds: Double
    public var wallSeconds: Double
    /// The union of the done units' wall-time spans (`UnitMetrics.busySeconds`): units batched
    /// together, or run by several runners at once, count once.
    public var busySeconds = 0.0
    /// Maxima over done units.
    public var peakMemoryBytes: Int
    public var kvBytesInMemory: Int
    public var kvBytesOnDisk: Int
    /// Done units per strategy-mix label.
    public var strategyMixes: [String: Int]
    /// Units cut by the truncate-middle overflow policy.
    public var truncatedUnits: Int
    /// Done units that carry the router's prediction, and the mean of |predicted − measured| /
    /// measured over them (measured: prefill + decode seconds).
    public var predictedUnits = 0
    public var meanPredictionError: Double?
    /// Speculative decoding per draft source, summed over done units that speculated.
    public var speculation: [String: SpeculationTotals] = [:]

    public init(job: JobRecord, unitCounts: [UnitState: Int] = [:], tokensIn: Int = 0, tokensOut: Int = 0,
                prefillSeconds: Double = 0, decodeSeconds: Double = 0, documentPrefillSeconds: Double = 0,
                perPromptPrefillSeconds: Double = 0, wallSeconds: Double = 0, peakMemoryBytes: Int = 0,
                kvBytesInMemory: Int = 0, kvBytesOnDisk: Int = 0, strategyMixes: [String: Int] = [:],
                truncatedUnits: Int = 0) {
        self.job = job
        self.unitCounts = unitCounts
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
        self.documentPrefillSeconds = documentPrefillSeconds
        self.perPromptPrefillSeconds = perPromptPrefillSeconds
        self.wallSeconds = wallSeconds
        self.peakMemoryBytes = peakMemoryBytes
        self.kvBytesInMemory = kvBytesInMemory
        self.kvBytesOnDisk = kvBytesOnDisk
        self.strategyMixes = strategyMixes
        self.truncatedUnits = truncatedUnits
    }

    public func count(_ state: UnitState) -> Int { unitCounts[state] ?? 0 }
    public var unitCount: Int { unitCounts.values.reduce(0, +) }
}

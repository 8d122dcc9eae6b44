import ArgumentParser
import Attention

/// Decode-attention strategy and its parameters, shared by bench, generate and eval.
struct StrategyOptions: ParsableArguments {
    @Option(help: "Decode attention strategy: dense, topk (HiRE), da-topk (DA-TOP-k over KV shards), lsh (MagicPIG).")
    var strategy = "dense"
    @Option(name: .customLong("k"), help: "topk, da-topk: keys attended per KV head in the sparse range.")
    var k = 128
    @Option(name: .customLong("k-prime"), help: "topk, da-topk: candidates kept by the bucketed top-k and scored exactly.")
    var kPrime = 512
    @Option(help: "topk, da-topk: candidates each bucket keeps (1 or 2).")
    var bucketKeep = 2
    @Option(help: "da-topk: KV shards (each returns its local top-k).")
    var shards = 4
    @Option(name: .customLong("lsh-k"), help: "lsh: SimHash bits per table (K).")
    var lshK = 10
    @Option(name: .customLong("lsh-l"), help: "lsh: hash tables (L).")
    var lshL = 150
    @Option(help: "Sparse strategies: attention-sink tokens always attended (0–64).")
    var sinks = 4
    @Option(help: "Sparse strategies: newest tokens always attended (rounded up to whole pages).")
    var window = 256
    @Option(help: "Sparse strategies: first layers attended densely.")
    var denseLayers = 2

    func validate() throws {
        guard k >= 1, kPrime >= k else { throw ValidationError("need 1 ≤ --k ≤ --k-prime") }
        guard (1...2).contains(bucketKeep) else { throw ValidationError("--bucket-keep must be 1 or 2") }
        guard (1...64).contains(shards) else { throw ValidationError("--shards must be between 1 and 64") }
        guard (1...16).contains(lshK), lshL >= 2 else { throw ValidationError("need 1 ≤ --lsh-k ≤ 16 and --lsh-l ≥ 2") }
        guard (0...64).contains(sinks), window >= 1, denseLayers >= 0 else {
            throw ValidationError("need 0 ≤ --sinks ≤ 64, --window ≥ 1, --dense-layers ≥ 0")
        }
    }

    func make() throws -> AttentionStrategy { try makeDecodeAttention(self) }
}

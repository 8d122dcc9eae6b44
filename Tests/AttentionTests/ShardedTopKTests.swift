@testable import Attention
import CKernels
import Foundation
import KVCache
import Tensor
import Testing
import TestSupport

/// DA-TOP-k: shard counts agree, messages are values that round-trip; MagicPIG's weight table.
@Suite(.serialized) struct ShardedTopKTests {
    static let pool = ThreadPool(threadCount: 2)

    @Test func shardCountsAgreeForTheSameShardBudget() {
        let seq = SyntheticSequence(tokens: 5000, seed: 11) // 5 selection blocks: S = 8 leaves shards empty
        let q = seq.plantedQuery(layer: 2, positions: [100, 1500, 1501, 1502, 3000, 4800], boost: 6)
        let budget = TopKBudget(k: 48, candidateCount: 160)
        let exemptions = DenseExemptions(windowTokenCount: 64)
        let single = seq.decode(TopKAttention(budget: budget, exemptions: exemptions), q: q, layer: 2, pool: Self.pool)
        var bytes: [Int: Int] = [:]
        for shards in [1, 2, 4, 8] {
            let s = ShardedTopKAttention(budget: budget, exemptions: exemptions, shardCount: shards, shardKeep: 48)
            let out = seq.decode(s, q: q, layer: 2, pool: Self.pool)
            #expect(maxDifference(out, single) < 1e-5, "S = \(shards)")
            bytes[shards] = s.statistics.bytesExchanged
        }
        // O(S·k′) per step: more shards, more (but bounded) messages — never the KV itself.
        #expect(bytes[1]! < bytes[8]!)
        // per unit and shard: request (rows, maxima), reply ≤ 3·k′ keys × (position + 3 logits), thresholds, state
        #expect(bytes[8]! < 2 * 8 * (64 * 3 * 4 + 3 * 48 * 4 * 4 + 3 * (64 + 2) * 4 + 200))
    }

    @Test func messagesRoundTripAndRejectDamage() throws {
        let select = ShardMessage.SelectRequest(ticket: 7, layer: 3, kvHead: 1, sinks: 4, sparseEnd: 4096, buckets: 33, bucketKeep: 2,
                                                keep: 128, rows: [1, -2.5, .infinity, 0], reference: [0.5, -3])
        #expect(try ShardMessage.SelectRequest(decoding: select.encoded()) == select)
        let reply = ShardMessage.SelectReply(ticket: 7, positions: [5, 900, 4000], scores: [1, 0.5, -2, 3, 4, -.infinity])
        #expect(try ShardMessage.SelectReply(decoding: reply.encoded()) == reply)
        let attend = ShardMessage.AttendRequest(ticket: 7, thresholds: [0.25, -1])
        #expect(try ShardMessage.AttendRequest(decoding: attend.encoded()) == attend)
        let state = ShardMessage.AttendReply(ticket: 7, m: [1, 2], l: [3, 4], acc: [5, 6, 7, 8])
        #expect(try ShardMessage.AttendReply(decoding: state.encoded()) == state)
        #expect(throws: ShardMessage.DecodingError.truncated) { try ShardMessage.SelectReply(decoding: Array(reply.encoded().dropLast())) }
        #expect(throws: ShardMessage.DecodingError.trailingBytes) { try ShardMessage.AttendRequest(decoding: attend.encoded() + [0]) }
        #expect(throws: ShardMessage.DecodingError.truncated) { try ShardMessage.SelectReply(decoding: [7, 0, 0, 0, 255, 255, 255, 127]) }
    }

    @Test func lshWeightTableFollowsTheFormula() {
        for (bits, tables) in [(10, 150), (6, 40)] {
            let p = SimHashProjection(headDim: 64, bits: bits, tables: tables)
            // Keys of norm 2 scored s = 2c·‖q‖ against a query of norm 3 whose dot with the key mean
            // is 0.5: cosine (s − 0.5)/(3·2); every other key is outside row 1's sample.
            let cosines = Array(stride(from: Float(-0.99), through: 1, by: 0.013))
            var logits = cosines.map { 0.5 + 6 * $0 }
            let idx = (0..<cosines.count).map { Int32($0) }, norms = [Float](repeating: 2, count: cosines.count)
            let rows = (0..<cosines.count).map { UInt32($0 % 2 == 0 ? 0b10 : 0b01) }
            p.weigh(&logits, keys: idx, rows: rows, bit: 0b10, count: cosines.count, queryNorm: 3, queryMean: 0.5, norms: norms)
            for (i, c) in cosines.enumerated() {
                guard i % 2 == 0 else { #expect(logits[i] == -.infinity); continue }
                let exact = Foundation.log(Foundation.exp(ck_lsh_log_weight(Double(c), Int32(bits), Int32(tables))) + SimHashProjection.epsilon)
                #expect(abs(Double(0.5 + 6 * c - logits[i]) - exact) < 2e-3, "K \(bits) L \(tables) cos \(c)")
            }
        }
    }
}

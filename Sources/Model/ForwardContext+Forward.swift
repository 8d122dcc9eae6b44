import Attention
import CKernels
import Foundation
import KVCache
import Tensor

extension ForwardContext {
    /// One forward pass over new tokens of one or more sequences, each at its own position.
    /// Prefill is a request with many tokens (matrix–matrix products, tiled causal attention);
    /// decode is many requests with one token each (one weight read shared by the batch).
    /// Returns the requested logits per request, valid until the next call.
    ///
    /// Steps per layer (llama2.c's `forward`, batched):
    ///   h = rmsnorm(x); q,k,v = h·Wq,Wk,Wv (+bias); rope(q,k); store k,v; att = attention(q)
    ///   x += att·Wo; h = rmsnorm(x); x += (silu(h·Wg) ⊙ h·Wu)·Wd
    public func forward(_ requests: [ForwardRequest]) throws(ModelError) -> [LogitsView] {
        let c = model.config, w = model.weights
        let d = c.embeddingLength, qd = c.qDim, kvd = c.kvDim, hd = c.headDim, ffn = c.feedForwardLength
        if requests.contains(where: { $0.tokens.isEmpty }) { throw .emptyPrompt }
        let rows = requests.reduce(0) { $0 + $1.tokens.count }
        if rows > maxTokens { throw .batchTooLarge(tokens: rows, limit: maxTokens) }
        guard rows > 0 else { return [] }

        // Row bookkeeping: request index, position of each row; validation before any state changes.
        var rowPosition = [Int](repeating: 0, count: rows)
        var rowToken = [Int32](repeating: 0, count: rows)
        var r = 0
        for req in requests {
            let start = req.sequence.tokenCount
            guard start + req.tokens.count <= c.contextLength else {
                throw .contextOverflow(tokens: start + req.tokens.count, limit: c.contextLength)
            }
            for (i, t) in req.tokens.enumerated() {
                guard t >= 0, Int(t) < c.vocabularySize else { throw .invalidToken(t, vocabularySize: c.vocabularySize) }
                rowPosition[r] = start + i
                rowToken[r] = t
                r += 1
            }
        }
        for req in requests { try kv { () throws(KVCacheError) in try req.sequence.cache.reserve(tokenCount: req.sequence.tokenCount + req.tokens.count) } }

        let x = x, h = h, q = q, k = k, v = v, att = att, gate = gate, up = up
        let ropeCos = ropeCos, ropeSin = ropeSin, pairs = c.ropeDimensionCount / 2
        let parallelRows = rows >= 16

        // Embeddings and the rotary table of each row's position (double precision angles).
        forRows(rows, parallel: parallelRows) { range in
            for r in range {
                w.tokenEmbedding.dequantizeRow(Int(rowToken[r]), into: x + r * d)
                let p = Double(rowPosition[r]) / c.ropeLinearScale
                for i in 0..<pairs {
                    let angle = p * inverseFrequencies[i]
                    ropeCos[r * pairs + i] = Float(Foundation.cos(angle))
                    ropeSin[r * pairs + i] = Float(Foundation.sin(angle))
                }
            }
        }

        let qScale = 1 / Float(hd).squareRoot()
        for (l, layer) in w.layers.enumerated() {
            // Attention block.
            forRows(rows, parallel: parallelRows) { range in
                for r in range { ck_rmsnorm(x + r * d, layer.attentionNorm, h + r * d, Int64(d), c.rmsEpsilon) }
            }
            WeightMatrix.multiply([MatrixProduct(layer.q, x: h, xStride: d, y: q, yStride: qd),
                                   MatrixProduct(layer.k, x: h, xStride: d, y: k, yStride: kvd),
                                   MatrixProduct(layer.v, x: h, xStride: d, y: v, yStride: kvd)],
                                  count: rows, pool: pool, scratch: gemmScratch)
            var rowBase = 0
            for req in requests {
                let n = req.tokens.count, base = rowBase
                let cache = req.sequence.cache
                forRows(n, parallel: n >= 16) { range in
                    for i in range {
                        let r = base + i
                        if let b = layer.qBias { ck_add(q + r * qd, b, Int64(qd)) }
                        if let b = layer.kBias { ck_add(k + r * kvd, b, Int64(kvd)) }
                        if let b = layer.vBias { ck_add(v + r * kvd, b, Int64(kvd)) }
                        rope(q + r * qd, heads: c.headCount, row: r, config: c)
                        rope(k + r * kvd, heads: c.kvHeadCount, row: r, config: c)
                        let qr = q + r * qd
                        for j in 0..<qd { qr[j] *= qScale }
                        cache.store(layer: l, position: rowPosition[r], keys: k + r * kvd, values: v + r * kvd)
                    }
                }
                rowBase += n
            }
            // Pages the attention reads must be resident (a cache under a memory budget reads spilled
            // pages back here, checksum-verified); a strategy that selects pages prefetches its own.
            for req in requests where req.tokens.count > 1 || !decodeAttention.prefetchesOwnPages {
                let cache = req.sequence.cache, visible = req.sequence.tokenCount + req.tokens.count
                try kv { () throws(KVCacheError) in try cache.prefetch(layer: l, pages: 0..<cache.pageCount(for: visible)) }
            }
            // Decode requests attend through the strategy in one batch; prefill requests one by one.
            var decodes: [DecodeQuery] = []
            rowBase = 0
            for req in requests {
                let n = req.tokens.count, start = req.sequence.tokenCount
                if n == 1 {
                    decodes.append(DecodeQuery(cache: req.sequence.cache, visibleTokenCount: start + 1, q: q + rowBase * qd,
                                               out: att + rowBase * qd, headCount: c.headCount, index: req.sequence.attentionIndex))
                } else {
                    prefillAttention.run(cache: req.sequence.cache, layer: l, start: start, count: n, headCount: c.headCount,
                                         queries: q + rowBase * qd, out: att + rowBase * qd, pool: pool)
                }
                rowBase += n
            }
            if !decodes.isEmpty { try kv { () throws(KVCacheError) in try decodeAttention.decode(decodes, layer: l, pool: pool) } }
            layer.attentionOutput.multiply(x: att, xStride: qd, count: rows, y: h, yStride: d, pool: pool, scratch: gemmScratch)
            forRows(rows, parallel: parallelRows) { range in
                for r in range {
                    ck_add(x + r * d, h + r * d, Int64(d))
                    ck_rmsnorm(x + r * d, layer.ffnNorm, h + r * d, Int64(d), c.rmsEpsilon)
                }
            }
            // Feed-forward block (SwiGLU).
            WeightMatrix.multiply([MatrixProduct(layer.gate, x: h, xStride: d, y: gate, yStride: ffn),
                                   MatrixProduct(layer.up, x: h, xStride: d, y: up, yStride: ffn)],
                                  count: rows, pool: pool, scratch: gemmScratch)
            forRows(rows, parallel: parallelRows) { range in
                for r in range { ck_swiglu(gate + r * ffn, up + r * ffn, Int64(ffn)) }
            }
            layer.down.multiply(x: gate, xStride: ffn, count: rows, y: h, yStride: d, pool: pool, scratch: gemmScratch)
            forRows(rows, parallel: parallelRows) { range in
                for r in range { ck_add(x + r * d, h + r * d, Int64(d)) }
            }
        }

        // Output head on the rows whose logits were asked for, gathered contiguously into h.
        var logitRows: [Int] = []
        var rowBase = 0
        for req in requests {
            switch req.logits {
            case .none: break
            case .last: logitRows.append(rowBase + req.tokens.count - 1)
            case .all: logitRows.append(contentsOf: rowBase..<(rowBase + req.tokens.count))
            }
            rowBase += req.tokens.count
        }
        let vocab = c.vocabularySize
        let out = reserveLogits(rows: max(1, logitRows.count))
        if !logitRows.isEmpty {
            for (i, r) in logitRows.enumerated() { ck_rmsnorm(x + r * d, w.outputNorm, h + i * d, Int64(d), c.rmsEpsilon) }
            // Large vocabularies: product in slices of rows so the GEMM never needs more than maxTokens rows.
            var done = 0
            while done < logitRows.count {
                let n = min(maxTokens, logitRows.count - done)
                w.output.multiply(x: h + done * d, xStride: d, count: n, y: out + done * vocab, yStride: vocab,
                                  pool: pool, scratch: gemmScratch)
                done += n
            }
        }
        for req in requests { try req.sequence.append(req.tokens) }

        var views: [LogitsView] = []
        var next = 0
        for req in requests {
            let n = req.logits == .none ? 0 : req.logits == .last ? 1 : req.tokens.count
            views.append(LogitsView(base: out + next * vocab, rowCount: n, vocabularySize: vocab))
            next += n
        }
        return views
    }

    /// Rotates consecutive heads of one row by the row's position (tables filled per forward).
    @inline(__always)
    private func rope(_ p: UnsafeMutablePointer<Float>, heads: Int, row: Int, config c: LlamaConfig) {
        let hd = c.headDim, pairs = c.ropeDimensionCount / 2
        let cosRow = ropeCos + row * pairs, sinRow = ropeSin + row * pairs
        for head in 0..<heads {
            let base = p + head * hd
            for i in 0..<pairs {
                let (a, b) = c.ropeStyle == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + pairs)
                let x0 = base[a], x1 = base[b], co = cosRow[i], si = sinRow[i]
                base[a] = x0 * co - x1 * si
                base[b] = x0 * si + x1 * co
            }
        }
    }

    /// Runs a KV cache operation, reporting its failure as a model error.
    private func kv(_ body: () throws(KVCacheError) -> Void) throws(ModelError) {
        do { try body() } catch { throw .kvCache(error) }
    }

    @inline(__always)
    private func forRows(_ count: Int, parallel: Bool, _ body: (Range<Int>) -> Void) {
        if parallel { pool.parallelFor(count: count, body) } else { body(0..<count) }
    }
}

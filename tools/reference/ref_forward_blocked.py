#!/usr/bin/env python3
"""`score` of ref_forward.py (vendored next to this file, unchanged), reorganised so that long
chunks fit in memory: the same float64 math, the same weights (ref_forward.load, i.e.
gguf.quants.dequantize), the same rms/rope functions, but
  - attention is computed per head in blocks of query rows (REF_QBLOCK, default 512), each block
    against the causal key prefix only (the keys ref_forward masks to -inf contribute exp(-inf) = 0
    there, so only the summation order changes);
  - the output head (final norm, logits, log-sum-exp, nll, top1, margin) is computed in blocks of
    rows (REF_RBLOCK, default 512) instead of one [ctx, vocab] matrix, and only for the rows that
    predict a token (ref_forward also computes the last row of a chunk and discards it).
Peak memory: 1.9 GB measured at ctx 4096 (the float64 weights alone are 1.1 GB); ref_forward.py would
hold three [8192, 49152] float64 arrays (3.2 GB each) at ctx 8192. The output is ref_forward.py's:

  ref_forward_blocked.py score MODEL IDS_JSON [CTX]
      -> {"perplexity": p, "nll": [...], "top1": [...], "margin": [...]}

The chunking is ref_forward's: chunks of CTX from the start, a final shorter chunk included;
perplexity over the positions i >= len(chunk)//2 of each chunk. To get llama-perplexity's
figure, pass only the first floor(n/CTX)*CTX ids (llama-perplexity drops the partial chunk).
Progress goes to stderr."""
import json, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_forward import load, rms, rope  # noqa: E402

QBLOCK = int(os.environ.get('REF_QBLOCK', 512))
RBLOCK = int(os.environ.get('REF_RBLOCK', 512))


def chunk_hidden(cfg, W, ids):
    """Final residual stream x [T, d] of one chunk (cache empty at start), as Model.forward."""
    c = cfg; H, KV = c['H'], c['KV']; hd = c['d'] // H; g = H // KV
    T = len(ids); pos = np.arange(0, T, dtype=np.float64)
    x = W['token_embd.weight'][ids]
    for l in range(c['L']):
        t0 = time.time(); p = f'blk.{l}.'
        h = rms(x, W[p + 'attn_norm.weight'], c['eps'])
        q = h @ W[p + 'attn_q.weight'].T; k = h @ W[p + 'attn_k.weight'].T; v = h @ W[p + 'attn_v.weight'].T
        if p + 'attn_q.bias' in W: q += W[p + 'attn_q.bias']; k += W[p + 'attn_k.bias']; v += W[p + 'attn_v.bias']
        q = rope(q.reshape(T, H, hd), pos, c['base'], c['neox']); K = rope(k.reshape(T, KV, hd), pos, c['base'], c['neox'])
        V = v.reshape(T, KV, hd)
        o = np.empty((T, H, hd))
        for hh in range(H):
            for a in range(0, T, QBLOCK):
                b = min(T, a + QBLOCK)
                s = q[a:b, hh, :] @ K[:b, hh // g, :].T / np.sqrt(hd)
                s[np.arange(b)[None, :] > np.arange(a, b)[:, None]] = -np.inf
                s = np.exp(s - s.max(axis=1, keepdims=True)); s /= s.sum(axis=1, keepdims=True)
                o[a:b, hh, :] = s @ V[:b, hh // g, :]
        x = x + o.reshape(T, -1) @ W[p + 'attn_output.weight'].T
        h = rms(x, W[p + 'ffn_norm.weight'], c['eps'])
        a_ = h @ W[p + 'ffn_gate.weight'].T; b_ = h @ W[p + 'ffn_up.weight'].T
        x = x + (a_ / (1 + np.exp(-a_)) * b_) @ W[p + 'ffn_down.weight'].T
        print(f'  layer {l} T={T} {time.time() - t0:.1f}s', file=sys.stderr, flush=True)
    return x


def main():
    mode, path, ids_path = sys.argv[1:4]
    assert mode == 'score', 'only score is implemented (use ref_forward.py generate)'
    ids = json.load(open(ids_path)); cfg, W = load(path)
    ctx = int(sys.argv[4]) if len(sys.argv) > 4 else len(ids)
    out_w = W.get('output.weight', W['token_embd.weight'])
    nll, top1, margin, half = [], [], [], []
    for s0 in range(0, len(ids) - 1, ctx):
        chunk = ids[s0:s0 + ctx]
        if len(chunk) < 2: break
        t0 = time.time()
        xn = rms(chunk_hidden(cfg, W, chunk), W['output_norm.weight'], cfg['eps'])
        n = len(chunk) - 1  # rows that predict a token
        for a in range(0, n, RBLOCK):
            b = min(n, a + RBLOCK)
            logits = xn[a:b] @ out_w.T
            lse = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
            tgt = np.asarray(chunk[a + 1:b + 1])
            two = np.partition(logits, -2, axis=1)[:, -2:]  # the two largest, as np.sort(row)[-2:]
            for r in range(b - a):
                i = a + r
                nll.append(float(lse[r] - logits[r, tgt[r]])); top1.append(int(np.argmax(logits[r])))
                margin.append(float(two[r, 1] - two[r, 0]))
                if i >= len(chunk) // 2: half.append(nll[-1])
        print(f'chunk at {s0}: {len(chunk)} tokens, {time.time() - t0:.0f}s', file=sys.stderr, flush=True)
    print(json.dumps({"perplexity": float(np.exp(np.mean(half))), "nll": nll, "top1": top1, "margin": margin}))


if __name__ == '__main__':
    main()

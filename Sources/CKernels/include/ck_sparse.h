// Inner loops of the sparse decode-attention strategies (Attention target): an int4 per-channel
// key sketch scored by integer dot products (HiRE-style stage 1), a bucketed top-k, exact scores gathered for
// candidate keys (stage 2), a softmax update over gathered value rows, and MagicPIG's SimHash
// codes, Elias–Fano coded hash tables and collision counting. Every kernel is single-threaded
// with an AVX-512, an AVX2 and a portable path chosen at run time (`ck_isa`), like CKernels.h.
//
// Layouts (hd = head dimension, a multiple of 16, ≤ 256):
//
//   sketch block   64 keys (one KV page) quantized to 4 bits per channel, KIVI-style with a
//                  min and step per channel over the page: code = round((k − lo)/step) ∈ 0..15.
//                  Codes first, hd/8 octets of channels × 64 keys × 4 bytes: byte j of key i in
//                  octet o holds channel 8o+j (low nibble) and 8o+4+j (high nibble); then
//                  float lo[hd], float step[hd]. 40·hd bytes per 64 keys.
//   sketch scores  per page and query row, q·step is quantized to int8 with one scale for all
//                  rows and pages (inv_delta), so the estimate of q·k is an integer dot product
//                  of codes (u8) and query codes (s8) plus Σ round(q·lo·inv_delta).
//   key rows       token-major f16 [token][hd] (the strategy's mirror of the cache's keys).
//   value pages    a KV page of kind CK_SPARSE_F16 / _I8 / _I4 (= CK_KV_F16 / _I8 / _I4, ck_kv.h layouts).
#ifndef CK_SPARSE_H
#define CK_SPARSE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The most query rows of one KV head (the GQA group) a sparse kernel takes: the sketch scores
/// keep per-row state in arrays of this size. The Swift side refuses larger groups
/// (`AttentionConfiguration.validate(queryHeadsPerKVHead:headDim:)`).
#define CK_SPARSE_MAX_GROUP 16
/// The largest head dimension (a multiple of 16) the sparse kernels and KV pages take.
#define CK_SPARSE_MAX_HEAD_DIM 256

/// Page layouts ck_sparse_accumulate reads value rows from (numbered as the KV page kinds).
enum { CK_SPARSE_F16 = 1, CK_SPARSE_I8 = 2, CK_SPARSE_I4 = 3 };

// ---- stage 1: int4 per-channel key sketch ----

/// Bytes of one 64-key sketch block.
static inline int ck_sketch_block_bytes(int hd) { return 40 * hd; }

/// Right shift from the int32 score sums to the int16 scores: keeps hd·15·127 below 2^14.
static inline int ck_sketch_shift(int hd) {
    int s = 0;
    while ((1905 * hd) >> s > 16383) s++;
    return s;
}

/// Encodes `n` ≤ 64 keys (token-major fp32 [n][hd]) into one sketch block (per-channel min and
/// step over the n keys); missing keys get code 0.
void ck_sketch_encode(const float *keys, int n, int hd, uint8_t *block);

/// The per-channel mins and steps of a block (`hd` floats each, read-only views into it).
static inline const float *ck_sketch_lows(const uint8_t *block, int hd) { return (const float *)(block + 32 * hd); }
static inline const float *ck_sketch_steps(const uint8_t *block, int hd) { return ck_sketch_lows(block, hd) + hd; }

/// 1/Δ for `nq` query rows (q: nq × hd) against blocks whose steps are at most `max_step[d]`:
/// the largest |q[r][d]·max_step[d]| maps to 127. 0 when every such product is 0.
float ck_sketch_inv_delta(const float *q, int nq, int hd, const float *max_step);

/// Stage-1 score of every key in `nblocks` blocks: with Δ = 1/inv_delta,
/// out[64·b + i] = sat16((max_r [round(−reference[r]/Δ) + Σ_d round(q_rd·lo_d/Δ) + Σ_d qc_rd·code_id]) >> ck_sketch_shift(hd)),
/// qc_rd = round(clamp(q_rd·step_d/Δ, ±127)); at least INT16_MIN + 1. So Δ·2^shift·out estimates
/// max_r (q_r·k − reference[r]). nq ≤ 16.
void ck_sketch_scores(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, const float *reference,
                      float inv_delta, int16_t *out);

/// Bucketed top-k: items are assigned to `buckets` strided buckets (item i to bucket i mod buckets,
/// buckets a multiple of 32) and the best `keep` ∈ {1, 2} of every bucket are kept (ties: lower index),
/// skipping items whose score is INT16_MIN. Writes their indices (bucket-major, unordered) to `out`
/// (room for keep·buckets) and returns how many.
int ck_bucket_topk_i16(const int16_t *scores, int n, int buckets, int keep, int32_t *out);

/// E[recall] of the bucketed top-k (HiRE, arXiv 2506.04165) for the top `k` of `n` items spread at
/// random over `buckets` equal buckets, each keeping its best `keep`: 1 − (B/K)·Σ_{r>keep} (r−keep)·P(r),
/// P hypergeometric with bucket size n/B.
double ck_bucket_topk_recall(int n, int buckets, int keep, int k);

// ---- stage 2: exact scores, selection, softmax over gathered rows ----

/// out[r·out_stride + i] = q_r · rows[idx[i]] for r < nq, i < n (rows: f16 [.][hd], row_stride elements apart).
void ck_gather_dot_f16(const float *q, int nq, int hd, const uint16_t *rows, int64_t row_stride, const int32_t *idx,
                       int n, float *out, int64_t out_stride);

/// Indices of the `k` largest of scores[0..n) (all when k ≥ n), largest first, ties by lower index;
/// returns how many. NaN scores never win.
int ck_select_topk(const float *scores, int n, int k, int32_t *idx);
/// The same set as ck_select_topk in no particular order, in O(n) (quickselect on a copy of the
/// scores in `scratch`, n floats).
int ck_select_topk_unsorted(const float *scores, int n, int k, int32_t *idx, float *scratch);
/// The k-th largest of scores[0..n) (NaN counting as −∞; the minimum when k = n): −∞ when k > n (everything passes), +∞
/// when k ≤ 0. `scratch`: n floats.
float ck_kth_largest(const float *scores, int n, int k, float *scratch);

/// Online-softmax update (see CKernels.h) of `nq` rows with `n` gathered tokens whose scores are
/// given: scores[r·score_stride + i] (−INFINITY: token i is not in row r's set); token i's value
/// row is row slots[i] of the page at pages[i] (layout `kind`).
void ck_sparse_accumulate(int kind, const float *scores, int64_t score_stride, int nq, int hd, const void *const *pages,
                          const uint8_t *slots, int n, float *m, float *l, float *acc);

// ---- MagicPIG: SimHash, hash tables, collision counting ----

/// SimHash codes: bit b of table t is the sign of (key − mean)·proj[:, t·bits + b] for proj [hd][tables·bits]
/// fp32 (row-major over dimensions). keys [n][hd] fp32; mean may be NULL. codes [n][tables], bits ≤ 16.
void ck_simhash(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables, uint16_t *codes);

/// One hash table over n tokens, Elias–Fano coded: the sorted values (code << T) | token (T bits per
/// token) as low bits plus a unary high-part bitmap, with select samples. ck_lsh_table_bytes is its size.
size_t ck_lsh_table_bytes(int n, int bits);
/// Builds the table of codes[t·stride] for t < n (counting sort; tokens ascend within a bucket).
/// `scratch`: n + 2^bits + 1 int32.
void ck_lsh_table_build(const uint16_t *codes, int64_t stride, int n, int bits, void *table, int32_t *scratch);
/// Tokens of bucket `code`, ascending; returns how many (out has room for n).
int ck_lsh_table_bucket(const void *table, int n, int bits, int code, int32_t *out);

/// Collision counting for one query row over `ntables` tables (tables[t] built over the same n
/// tokens, each ck_lsh_table_bytes(n, bits) bytes, table_stride apart) plus raw codes of tokens
/// n ..< n + ext_tokens (ext [page][ntables][64], token n + 64·page + j). Writes one state byte per
/// token to state[0 ..< n + ext_tokens] (every byte is written): bit 0 set when the token collides
/// with the query in ≥ 1 table, bit 1 when in ≥ 2 (MagicPIG's sampling rule); other bits unspecified.
void ck_lsh_count(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables, const uint16_t *qcodes,
                  const uint16_t *ext, int ext_tokens, uint8_t *state);

/// The tokens t in [lo, hi) sampled by any of `nq` ≤ 32 query rows (bit 1 of state[r·row_stride + t],
/// ck_lsh_count's states), ascending, into out; rows[i] gets the mask of the rows that sample out[i].
/// Returns how many.
int ck_lsh_union(const uint8_t *state, int64_t row_stride, int nq, int lo, int hi, int32_t *out, uint32_t *rows);

/// MagicPIG's reweighting of one query row's exact scores: for i < n, when rows[i] & bit, logits[i]
/// (q·k for key idx[i]) becomes q·k − log(w + ε) at the key's cosine to the query,
/// c = (q·k − qmean) / (qnorm · norms[idx[i]]) (0 when a norm is 0; clamped to [−1, 1]), log(w + ε)
/// interpolated linearly in log_w (its value at c = −1 + 2j/intervals, j ≤ intervals); otherwise −∞.
void ck_lsh_weigh(float *logits, const int32_t *idx, const uint32_t *rows, uint32_t bit, int n, float qnorm, float qmean,
                  const float *norms, const float *log_w, int intervals);

/// log of MagicPIG's inclusion probability of a key at cosine `c` to the query under the ≥ 2 rule:
/// p = (1 − acos(c)/π)^bits, w = 1 − (1−p)^L − L·p·(1−p)^(L−1). Double precision (reference and tables).
double ck_lsh_log_weight(double c, int bits, int tables);

#ifdef __cplusplus
}
#endif
#endif

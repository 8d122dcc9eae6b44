// Per-ISA entry points of the sparse-attention kernels (ck_sparse.h), selected in sparse_common.c.
#ifndef CK_SPARSE_INTERNAL_H
#define CK_SPARSE_INTERNAL_H
#include "ck_kv_internal.h"
#include "ck_sparse.h"

#define CK_DECLARE_SPARSE_ISA(suffix) \
    void ck_sketch_scores_##suffix(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, \
                                   const int32_t *row_bias, float inv_delta, int16_t *out); \
    int ck_bucket_topk_i16_##suffix(const int16_t *scores, int n, int buckets, int keep, int32_t *out); \
    void ck_gather_dot_f16_##suffix(const float *q, int nq, int hd, const uint16_t *rows, int64_t row_stride, \
                                    const int32_t *idx, int n, float *out, int64_t out_stride); \
    void ck_sparse_accumulate_##suffix(int kind, const float *scores, int64_t score_stride, int nq, int hd, \
                                       const void *const *pages, const uint8_t *slots, int n, float *m, float *l, float *acc); \
    void ck_simhash_##suffix(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables, \
                             uint16_t *codes);

CK_DECLARE_SPARSE_ISA(portable)
CK_DECLARE_SPARSE_ISA(avx2)
CK_DECLARE_SPARSE_ISA(avx512)

void ck_lsh_count_portable(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables, const uint16_t *qcodes,
                           const uint16_t *ext, int ext_tokens, uint8_t *state);
void ck_lsh_count_bmi2(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables, const uint16_t *qcodes,
                       const uint16_t *ext, int ext_tokens, uint8_t *state);

/// Query codes of `nq` rows for one sketch block (ck_sparse.h): qc[r·hd + d] = round(clamp(q·step·inv, ±127))
/// and bias[r] = row_bias[r] + Σ_d round(clamp(q·lo·inv, ±2^24)). Every path uses this one
/// definition (elementwise products in one order and round-to-nearest-even), so all ISAs agree exactly.
static inline void ck_sketch_block_query(const uint8_t *block, int hd, const float *q, int nq, const int32_t *row_bias,
                                         float inv, int8_t *qc, int32_t *bias) {
    const float *lo = ck_sketch_lows(block, hd), *step = ck_sketch_steps(block, hd);
    for (int r = 0; r < nq; r++) {
        int32_t b = row_bias[r];
        for (int d = 0; d < hd; d++) {
            float t = q[r * hd + d] * step[d] * inv;
            t = t > 127.0f ? 127.0f : t < -127.0f ? -127.0f : t;
            qc[r * hd + d] = (int8_t)__builtin_rintf(t);
            float u = q[r * hd + d] * lo[d] * inv;
            u = u > 16777216.0f ? 16777216.0f : u < -16777216.0f ? -16777216.0f : u;
            b += (int32_t)__builtin_rintf(u);
        }
        bias[r] = b;
    }
}

/// The int16 score of a key from its best row's int32 sum (ck_sketch_scores).
static inline int16_t ck_sketch_score16(int32_t best, int shift) {
    int32_t s = best >> shift;
    return (int16_t)(s > INT16_MAX ? INT16_MAX : s <= INT16_MIN ? INT16_MIN + 1 : s);
}

/// The first byte of value row `slot`'s codes in a page of `kind` (ck_kv.h layouts): f16 values,
/// int8 codes, or int4 packed codes. What the kernels prefetch.
static inline const void *ck_sparse_value_row(int kind, const void *page, int hd, int slot) {
    const uint8_t *b = (const uint8_t *)page;
    switch (kind) {
    case CK_SPARSE_I8: return b + ck_i8_vc(hd) + (size_t)slot * hd;
    case CK_SPARSE_I4: return b + ck_i4_vc(hd) + (size_t)slot * (hd / 2);
    default: return (const uint16_t *)page + (int64_t)hd * 64 + (int64_t)slot * hd;
    }
}

/// Value row `slot` of a page of `kind` as hd fp32 values (the KV store's scalar accessor; the
/// AVX-512 kernel decodes in registers).
static inline void ck_sparse_value_f32(int kind, const void *page, int hd, int slot, float *out) {
    for (int d = 0; d < hd; d++) out[d] = ck_kv_value_at(kind, (const uint8_t *)page, hd, slot, d);
}

/// Keeps the better of (score, index) pairs: a better score, or an equal one at a lower index.
static inline int ck_sparse_better(float s, int32_t i, float t, int32_t j) { return s > t || (s == t && i < j); }

#endif

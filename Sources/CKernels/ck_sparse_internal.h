// Per-ISA entry points of the sparse-attention kernels (ck_sparse.h), selected in sparse_common.c.
#ifndef CK_SPARSE_INTERNAL_H
#define CK_SPARSE_INTERNAL_H
#include "ck_internal.h"
#include "ck_sparse.h"

#define CK_DECLARE_SPARSE_ISA(suffix) \
    void ck_sketch_scores_##suffix(const uint8_t *blocks, int nblocks, int hd, const int8_t *luts, const int16_t *bias, \
                                   int nq, int16_t *out); \
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

/// The first byte of value row `slot`'s codes in a page of `kind` (ck_kv.h layouts): f16 values,
/// int8 codes, or int4 packed codes. What the kernels prefetch; ck_sparse_value_f32 decodes it.
static inline const void *ck_sparse_value_row(int kind, const void *page, int hd, int slot) {
    const uint8_t *b = (const uint8_t *)page;
    switch (kind) {
    case CK_SPARSE_I8: return b + (int64_t)64 * hd + 128 + (int64_t)slot * hd;
    case CK_SPARSE_I4: return b + (int64_t)36 * hd + (int64_t)slot * (hd / 2);
    default: return (const uint16_t *)page + (int64_t)hd * 64 + (int64_t)slot * hd;
    }
}

/// Value row `slot` of a page of `kind` as hd fp32 values (portable; the AVX-512 kernel decodes
/// in registers).
static inline void ck_sparse_value_f32(int kind, const void *page, int hd, int slot, float *out) {
    const uint8_t *b = (const uint8_t *)page;
    if (kind == CK_SPARSE_I8) {
        const int8_t *c = (const int8_t *)ck_sparse_value_row(kind, page, hd, slot);
        uint16_t sh; memcpy(&sh, b + (int64_t)128 * hd + 128 + 2 * slot, 2);
        const float s = ck_h2f(sh);
        for (int d = 0; d < hd; d++) out[d] = c[d] * s;
    } else if (kind == CK_SPARSE_I4) {
        const uint8_t *c = (const uint8_t *)ck_sparse_value_row(kind, page, hd, slot);
        const uint16_t *vmin = (const uint16_t *)(b + (int64_t)68 * hd), *vscale = vmin + (hd / 32) * 64;
        for (int d = 0; d < hd; d++) {
            const int chunk = d / 64, i = d % 64, byte = c[32 * chunk + (i & 31)];
            const int code = i < 32 ? byte & 15 : byte >> 4, g = d / 32;
            out[d] = ck_h2f(vmin[g * 64 + slot]) + ck_h2f(vscale[g * 64 + slot]) * code;
        }
    } else {
        const uint16_t *v = (const uint16_t *)ck_sparse_value_row(kind, page, hd, slot);
        for (int d = 0; d < hd; d++) out[d] = ck_h2f(v[d]);
    }
}

/// Keeps the better of (score, index) pairs: a better score, or an equal one at a lower index.
static inline int ck_sparse_better(float s, int32_t i, float t, int32_t j) { return s > t || (s == t && i < j); }

#endif

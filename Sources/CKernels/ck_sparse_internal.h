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

/// Value row `slot` of a page of `kind` (f16 only for now).
static inline const uint16_t *ck_sparse_value_row(int kind, const void *page, int hd, int slot) {
    (void)kind;
    return (const uint16_t *)page + (int64_t)hd * 64 + (int64_t)slot * hd;
}

/// Keeps the better of (score, index) pairs: a better score, or an equal one at a lower index.
static inline int ck_sparse_better(float s, int32_t i, float t, int32_t j) { return s > t || (s == t && i < j); }

#endif

// The one kernel table: every kernel that has per-ISA variants, as function pointers. dispatch.c
// holds one table per instruction-set level (portable, AVX2, AVX-512, AVX-512 with VNNI), picks
// the best the CPU runs once, and lets a test force a lower level on its thread (ck_set_isa).
// Every public entry point with variants calls through ck_kernels(); nothing else dispatches.
#ifndef CK_TABLE_H
#define CK_TABLE_H
#include "ck_q8_internal.h"
#include "ck_sparse_internal.h"

typedef struct ck_kernel_table {
    const char *name;
    // dense model kernels (portable.c, avx2.c, avx512.c)
    void (*dequantize_row)(int type, const void *src, float *dst, int64_t n);
    void (*matvec)(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx, int nb,
                   float *y, int64_t ldy);
    void (*gemm)(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx, int64_t nt,
                 float *y, int64_t ldy, float *scratch);
    void (*rmsnorm)(const float *x, const float *w, float *out, int64_t n, float eps);
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*swiglu)(float *a, const float *b, int64_t n);
    void (*add)(float *y, const float *x, int64_t n);
    double (*sumexp)(const float *x, int64_t n, float max);
    void (*f16_to_f32)(const uint16_t *src, float *dst, int64_t n);
    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
    void (*attn_decode_f16)(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride, const uint16_t *v,
                            int64_t v_stride, int n, float *m, float *l, float *acc);
    void (*attn_tile_f16)(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const uint16_t *kt, int64_t kt_stride,
                          const uint16_t *v, int64_t v_stride, int n, int32_t kpos0, float *m, float *l, float *acc, float *scratch);
    void (*attn_decode_f16_rows)(int rows, const float *const *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                                 const uint16_t *v, int64_t v_stride, const int32_t *n, float *const *m, float *const *l,
                                 float *const *acc);
    // quantized KV pages (kv_pages.c, attn_quant_*.c)
    void (*attn_decode_i8)(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc);
    void (*attn_decode_i4)(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc);
    void (*kv_dequantize_f16)(int kind, const void *page, int hd, uint16_t *f16_page);
    // sparse attention (sparse_*.c)
    void (*sketch_scores)(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, const int32_t *row_bias,
                          float inv_delta, int16_t *out);
    int (*bucket_topk_i16)(const int16_t *scores, int n, int buckets, int keep, int32_t *out);
    void (*gather_dot_f16)(const float *q, int nq, int hd, const uint16_t *rows, int64_t row_stride, const int32_t *idx, int n,
                           float *out, int64_t out_stride);
    void (*sparse_accumulate)(int kind, const float *scores, int64_t score_stride, int nq, int hd, const void *const *pages,
                              const uint8_t *slots, int n, float *m, float *l, float *acc);
    void (*simhash)(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables, uint16_t *codes);
    void (*lsh_count)(const uint8_t *tables, size_t table_stride, int n, int bits, int ntables, const uint16_t *qcodes,
                      const uint16_t *ext, int ext_tokens, uint8_t *state);
    // int8 activations (q8_*.c)
    void (*matvec_q8)(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x, int64_t ldx,
                      int nb, float *y, int64_t ldy);
    void (*gemm_q8)(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x, int64_t ldx,
                    int64_t nt, float *y, int64_t ldy, void *scratch);
} ck_kernel_table;

/// The table of the calling thread's level (the CPU's best unless a test forced a lower one).
const ck_kernel_table *ck_kernels(void);

#endif

// Internal declarations of the q8-activation kernels (ck_q8.h): the per-ISA entry points and
// the portable unpacking of a weight block into integer codes, scale and minimum.
#ifndef CK_Q8_INTERNAL_H
#define CK_Q8_INTERNAL_H
#include "ck_internal.h"
#include "ck_q8.h"

/// Codes u[32], scale d and minimum m of block `blk` of `type`, so that w_j = d·u_j + m
/// (Q8_0: signed codes, m = 0). Only for ck_q8_supported types.
static inline void ck_q8_block_codes(int type, const void *blk, int u[32], float *d, float *m) {
    switch (type) {
    case CK_Q4_0: {
        const ck_block_q4_0 *b = blk; *d = ck_h2f(b->d); *m = -8 * *d;
        for (int j = 0; j < 16; j++) { u[j] = b->qs[j] & 0xF; u[j + 16] = b->qs[j] >> 4; }
    } break;
    case CK_Q4_1: {
        const ck_block_q4_1 *b = blk; *d = ck_h2f(b->d); *m = ck_h2f(b->m);
        for (int j = 0; j < 16; j++) { u[j] = b->qs[j] & 0xF; u[j + 16] = b->qs[j] >> 4; }
    } break;
    case CK_Q5_0: case CK_Q5_1: {
        const uint8_t *qs, *qhp;
        if (type == CK_Q5_0) { const ck_block_q5_0 *b = blk; *d = ck_h2f(b->d); *m = -16 * *d; qs = b->qs; qhp = b->qh; }
        else { const ck_block_q5_1 *b = blk; *d = ck_h2f(b->d); *m = ck_h2f(b->m); qs = b->qs; qhp = b->qh; }
        uint32_t qh; memcpy(&qh, qhp, 4);
        for (int j = 0; j < 16; j++) {
            u[j] = (qs[j] & 0xF) | (((qh >> j) & 1) << 4);
            u[j + 16] = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
        }
    } break;
    case CK_Q8_0: {
        const ck_block_q8_0 *b = blk; *d = ck_h2f(b->d); *m = 0;
        for (int j = 0; j < 32; j++) u[j] = b->qs[j];
    } break;
    default: *d = 0; *m = 0; for (int j = 0; j < 32; j++) u[j] = 0;
    }
}

void ck_matvec_q8_portable(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                           const ck_block_q8a *x, int64_t ldx, int nb, float *y, int64_t ldy);
void ck_gemm_q8_portable(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                         const ck_block_q8a *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch);
void ck_matvec_q8_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                       const ck_block_q8a *x, int64_t ldx, int nb, float *y, int64_t ldy);
void ck_gemm_q8_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                     const ck_block_q8a *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch);
void ck_gemm_q8_avx512vnni(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                           const ck_block_q8a *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch);
/// 1 when the CPU has AVX512_VNNI (vpdpbusd on zmm).
#endif

// AVX2 kernels for q8 activations (ck_q8.h): integer dot products of weight codes (u8) and
// activation codes (s8) by vpmaddubsw, pairs summed in int16 while they cannot overflow
// (8 steps of 4 codes for 4-bit weights: 8·2·15·127 < 2^15; 4 steps for 5-bit ones), widened
// by vpmaddwd and scaled once per 32-element block. Q8_0's signed codes use |w| and sign(x, w).
#include "ck_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX2_TARGET
#define INL static inline __attribute__((always_inline)) T

enum { KIND_Q4 = 0, KIND_Q5 = 1, KIND_S8 = 2 };

#include "ck_q8_codes.h"

/// Eight int32 partial sums of Σ u_j q_j over one block.
INL __m256i block_dot(__m256i u, __m256i au, __m256i q, int signed_codes) {
    __m256i p = signed_codes ? _mm256_maddubs_epi16(au, _mm256_sign_epi8(q, u)) : _mm256_maddubs_epi16(u, q);
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// ---- matvec: one row at a time, each block's codes shared by the nb activation rows ----

INL void mv_rows(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                 int64_t ldx, int nb, float *y, int64_t ldy, int NB) {
    const int64_t nblk = k / 32;
    const int sgn = type == CK_Q8_0;
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        __m256 acc[CK_MATVEC_MAX_BATCH], acc2 = _mm256_setzero_ps();
        float mins[CK_MATVEC_MAX_BATCH];
        for (int b = 0; b < NB; b++) { acc[b] = _mm256_setzero_ps(); mins[b] = 0; }
        int64_t i = 0;
        if (NB == 1) { // two blocks per iteration: two independent chains
            for (; i + 2 <= nblk; i += 2) {
                float d0, m0, d1, m1;
                __m256i u0 = codes(type, row, i, &d0, &m0), u1 = codes(type, row, i + 1, &d1, &m1);
                const ck_block_q8a *xa = x + i;
                __m256i p0 = block_dot(u0, _mm256_abs_epi8(u0), _mm256_loadu_si256((const __m256i *)xa[0].qs), sgn);
                __m256i p1 = block_dot(u1, _mm256_abs_epi8(u1), _mm256_loadu_si256((const __m256i *)xa[1].qs), sgn);
                acc[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d0 * xa[0].d), acc[0]);
                acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d1 * xa[1].d), acc2);
                mins[0] += m0 * xa[0].s + m1 * xa[1].s;
            }
        }
        for (; i < nblk; i++) {
            float d, m;
            __m256i u = codes(type, row, i, &d, &m), au = _mm256_abs_epi8(u);
            for (int b = 0; b < NB; b++) {
                const ck_block_q8a *xb = x + b * ldx + i;
                __m256i p = block_dot(u, au, _mm256_loadu_si256((const __m256i *)xb->qs), sgn);
                acc[b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * xb->d), acc[b]);
                mins[b] += m * xb->s;
            }
        }
        if (NB == 1) acc[0] = _mm256_add_ps(acc[0], acc2);
        for (int b = 0; b < NB; b++) y[b * ldy + r] = hsum8(acc[b]) + mins[b];
    }
}

#define MV_NB(n) static T void mv_nb##n(int type, const void *w, size_t rb, int64_t nr, int64_t k, const ck_block_q8a *x, \
                                        int64_t ldx, float *y, int64_t ldy) { mv_rows(type, w, rb, nr, k, x, ldx, n, y, ldy, n); }
MV_NB(1) MV_NB(2) MV_NB(3) MV_NB(4) MV_NB(5) MV_NB(6) MV_NB(7) MV_NB(8)
typedef void (*mv_fn)(int, const void *, size_t, int64_t, int64_t, const ck_block_q8a *, int64_t, float *, int64_t);
static const mv_fn mv_kernels[9] = {0, mv_nb1, mv_nb2, mv_nb3, mv_nb4, mv_nb5, mv_nb6, mv_nb7, mv_nb8};

T void ck_matvec_q8_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                         int64_t ldx, int nb, float *y, int64_t ldy) {
    if (nb < 1) return;
    mv_kernels[nb > CK_MATVEC_MAX_BATCH ? CK_MATVEC_MAX_BATCH : nb](type, w, row_bytes, nrows, k, x, ldx, y, ldy);
}

// ---- GEMM: a panel of 16 weight rows unpacked to codes [k/4][16][4] (one ymm = 8 rows × 4
//      codes; pack_q8, ck_q8_codes.h), scales and minimums [k/32][16]; a 3-token × 16-row
//      micro-kernel broadcasts 4 activation codes at a time ----

INL void q8_micro(const uint32_t *pc, const float *pd, const float *pm, int64_t nblk, const ck_block_q8a *x, int64_t ldx,
                  float *y, int64_t ldy, int nr, int MR, int KIND) {
    const int F = KIND == KIND_Q4 ? 8 : KIND == KIND_Q5 ? 4 : 1; // steps summed in int16
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 c0[3], c1[3];
    for (int t = 0; t < MR; t++) { c0[t] = _mm256_setzero_ps(); c1[t] = _mm256_setzero_ps(); }
    for (int64_t i = 0; i < nblk; i++) {
        const __m256 d0 = _mm256_loadu_ps(pd + i * 16), d1 = _mm256_loadu_ps(pd + i * 16 + 8);
        for (int h = 0; h < 8; h += F) {
            __m256i s0[3], s1[3];
            for (int t = 0; t < MR; t++) { s0[t] = _mm256_setzero_si256(); s1[t] = _mm256_setzero_si256(); }
            for (int g = h; g < h + F; g++) {
                const __m256i w0 = _mm256_loadu_si256((const __m256i *)(pc + (i * 8 + g) * 16));
                const __m256i w1 = _mm256_loadu_si256((const __m256i *)(pc + (i * 8 + g) * 16 + 8));
                for (int t = 0; t < MR; t++) {
                    int32_t xq; memcpy(&xq, x[t * ldx + i].qs + 4 * g, 4);
                    const __m256i xb = _mm256_set1_epi32(xq);
                    if (KIND == KIND_S8) {
                        s0[t] = _mm256_maddubs_epi16(_mm256_abs_epi8(w0), _mm256_sign_epi8(xb, w0));
                        s1[t] = _mm256_maddubs_epi16(_mm256_abs_epi8(w1), _mm256_sign_epi8(xb, w1));
                    } else {
                        s0[t] = _mm256_add_epi16(s0[t], _mm256_maddubs_epi16(w0, xb));
                        s1[t] = _mm256_add_epi16(s1[t], _mm256_maddubs_epi16(w1, xb));
                    }
                }
            }
            for (int t = 0; t < MR; t++) {
                const __m256 dx = _mm256_set1_ps(x[t * ldx + i].d);
                c0[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s0[t], ones)), _mm256_mul_ps(d0, dx), c0[t]);
                c1[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s1[t], ones)), _mm256_mul_ps(d1, dx), c1[t]);
            }
        }
        const __m256 m0 = _mm256_loadu_ps(pm + i * 16), m1 = _mm256_loadu_ps(pm + i * 16 + 8);
        for (int t = 0; t < MR; t++) {
            const __m256 sx = _mm256_set1_ps(x[t * ldx + i].s);
            c0[t] = _mm256_fmadd_ps(m0, sx, c0[t]);
            c1[t] = _mm256_fmadd_ps(m1, sx, c1[t]);
        }
    }
    for (int t = 0; t < MR; t++) {
        if (nr == 16) {
            _mm256_storeu_ps(y + t * ldy, c0[t]);
            _mm256_storeu_ps(y + t * ldy + 8, c1[t]);
        } else {
            float out[16];
            _mm256_storeu_ps(out, c0[t]);
            _mm256_storeu_ps(out + 8, c1[t]);
            memcpy(y + t * ldy, out, (size_t)nr * 4);
        }
    }
}

#define Q8_MICRO(kind, mr) static T void micro_##kind##_##mr(const uint32_t *pc, const float *pd, const float *pm, int64_t nblk, \
    const ck_block_q8a *x, int64_t ldx, float *y, int64_t ldy, int nr) { q8_micro(pc, pd, pm, nblk, x, ldx, y, ldy, nr, mr, kind); }
Q8_MICRO(KIND_Q4, 1) Q8_MICRO(KIND_Q4, 2) Q8_MICRO(KIND_Q4, 3)
Q8_MICRO(KIND_Q5, 1) Q8_MICRO(KIND_Q5, 2) Q8_MICRO(KIND_Q5, 3)
Q8_MICRO(KIND_S8, 1) Q8_MICRO(KIND_S8, 2) Q8_MICRO(KIND_S8, 3)
typedef void (*micro_fn)(const uint32_t *, const float *, const float *, int64_t, const ck_block_q8a *, int64_t, float *, int64_t, int);
static const micro_fn micro_kernels[3][4] = {
    {0, micro_KIND_Q4_1, micro_KIND_Q4_2, micro_KIND_Q4_3},
    {0, micro_KIND_Q5_1, micro_KIND_Q5_2, micro_KIND_Q5_3},
    {0, micro_KIND_S8_1, micro_KIND_S8_2, micro_KIND_S8_3},
};

T void ck_gemm_q8_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                       int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch) {
    const int64_t nblk = k / 32;
    const int kind = type == CK_Q8_0 ? KIND_S8 : (type == CK_Q5_0 || type == CK_Q5_1) ? KIND_Q5 : KIND_Q4;
    uint32_t *pc = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *pd = (float *)(pc + 4 * k), *pm = pd + 16 * nblk;
    for (int64_t r0 = 0; r0 < nrows; r0 += 16) {
        int nr = nrows - r0 < 16 ? (int)(nrows - r0) : 16;
        pack_q8(type, w, row_bytes, r0, nr, k, pc, pd, pm);
        int64_t t = 0;
        for (; t + 3 <= nt; t += 3) micro_kernels[kind][3](pc, pd, pm, nblk, x + t * ldx, ldx, y + t * ldy + r0, ldy, nr);
        if (t < nt) micro_kernels[kind][nt - t](pc, pd, pm, nblk, x + t * ldx, ldx, y + t * ldy + r0, ldy, nr);
    }
}
#else
void ck_matvec_q8_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                       int64_t ldx, int nb, float *y, int64_t ldy) { ck_matvec_q8_portable(type, w, row_bytes, nrows, k, x, ldx, nb, y, ldy); }
void ck_gemm_q8_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                     int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch) { ck_gemm_q8_portable(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch); }
#endif

// AVX-512 VNNI GEMM for q8 activations (ck_q8.h): vpdpbusd multiplies 4 unsigned weight codes by
// 4 signed activation codes per int32 lane and accumulates in int32 (no int16 stage), 16 weight
// rows per zmm. Q8_0's signed codes are offset by 128 (the offset folds into the minimum term,
// m = −128·d). Selected when the CPU has AVX512_VNNI; the matvec stays on the AVX2 kernels.
// Written without a VNNI CPU to run it on (the development machine had none): Q8KernelTests
// checks it on the first machine that has one.
#include "ck_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c,avx2,bmi2")))
#define INL static inline __attribute__((always_inline)) T
#include "ck_q8_codes.h"

INL void vnni_micro(const uint32_t *pc, const float *pd, const float *pm, int64_t nblk, const ck_block_q8a *x, int64_t ldx,
                    float *y, int64_t ldy, int nr, int MR) {
    __m512 c[8];
    for (int t = 0; t < MR; t++) c[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nblk; i++) {
        __m512i acc[8];
        for (int t = 0; t < MR; t++) acc[t] = _mm512_setzero_si512();
        for (int g = 0; g < 8; g++) {
            const __m512i w = _mm512_loadu_si512((const void *)(pc + (i * 8 + g) * 16));
            for (int t = 0; t < MR; t++) {
                int32_t xq; memcpy(&xq, x[t * ldx + i].qs + 4 * g, 4);
                acc[t] = _mm512_dpbusd_epi32(acc[t], w, _mm512_set1_epi32(xq));
            }
        }
        const __m512 d = _mm512_loadu_ps(pd + i * 16), m = _mm512_loadu_ps(pm + i * 16);
        for (int t = 0; t < MR; t++) {
            const ck_block_q8a *xb = x + t * ldx + i;
            c[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(d, _mm512_set1_ps(xb->d)), c[t]);
            c[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(xb->s), c[t]);
        }
    }
    const __mmask16 mask = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
    for (int t = 0; t < MR; t++) _mm512_mask_storeu_ps(y + t * ldy, mask, c[t]);
}

#define VNNI_MR(n) static T void vnni_mr##n(const uint32_t *pc, const float *pd, const float *pm, int64_t nblk, \
    const ck_block_q8a *x, int64_t ldx, float *y, int64_t ldy, int nr) { vnni_micro(pc, pd, pm, nblk, x, ldx, y, ldy, nr, n); }
VNNI_MR(1) VNNI_MR(2) VNNI_MR(3) VNNI_MR(4) VNNI_MR(5) VNNI_MR(6) VNNI_MR(7) VNNI_MR(8)
typedef void (*vnni_fn)(const uint32_t *, const float *, const float *, int64_t, const ck_block_q8a *, int64_t, float *, int64_t, int);
static const vnni_fn vnni_kernels[9] = {0, vnni_mr1, vnni_mr2, vnni_mr3, vnni_mr4, vnni_mr5, vnni_mr6, vnni_mr7, vnni_mr8};

T void ck_gemm_q8_avx512vnni(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                             int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch) {
    const int64_t nblk = k / 32;
    uint32_t *pc = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *pd = (float *)(pc + 4 * k), *pm = pd + 16 * nblk;
    for (int64_t r0 = 0; r0 < nrows; r0 += 16) {
        int nr = nrows - r0 < 16 ? (int)(nrows - r0) : 16;
        pack_q8(type, w, row_bytes, r0, nr, k, pc, pd, pm);
        if (type == CK_Q8_0) { // signed codes → unsigned: w = d·q = d·(q + 128) − 128·d
            for (int64_t j = 0; j < 4 * k; j++) pc[j] ^= 0x80808080u;
            for (int64_t j = 0; j < 16 * nblk; j++) pm[j] = -128 * pd[j];
        }
        int64_t t = 0;
        for (; t + 8 <= nt; t += 8) vnni_mr8(pc, pd, pm, nblk, x + t * ldx, ldx, y + t * ldy + r0, ldy, nr);
        if (t < nt) vnni_kernels[nt - t](pc, pd, pm, nblk, x + t * ldx, ldx, y + t * ldy + r0, ldy, nr);
    }
}
#else
void ck_gemm_q8_avx512vnni(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                           int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch) {
    ck_gemm_q8_portable(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch);
}
#endif

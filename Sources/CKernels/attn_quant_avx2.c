// AVX2 decode attention over int8 and int4 KV pages: the fallback for CPUs without AVX-512. The
// AVX2 f16 kernel already widens each page to fp32 in a stack buffer (avx2.c), so here a quantized
// page is first expanded to an f16 page on the stack (vectorized, F16C rounding = ck_f2h's
// round-to-nearest-even) and handed to it. Before the vectorized expansion, the portable scalar
// one made int8 decode at depth 8000 fourteen times dearer than f16 on a Zen 2 (BENCHMARKS.md).
#include "ck_kv_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define T CK_AVX2_TARGET
#define INL static inline __attribute__((always_inline)) T

INL void store_f16x8(uint16_t *dst, __m256 v) { _mm_storeu_si128((__m128i *)dst, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }
INL __m256 f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
INL __m256 i8x8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p))); }
/// Eight bytes' low and high nibbles as floats.
INL void u4x8(const uint8_t *p, __m256 *low, __m256 *high) {
    __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    *low = _mm256_cvtepi32_ps(_mm256_and_si256(b, _mm256_set1_epi32(15)));
    *high = _mm256_cvtepi32_ps(_mm256_srli_epi32(b, 4));
}

T void ck_kv_dequantize_f16_avx2(int kind, const void *page, int hd, uint16_t *f16_page) {
    const uint8_t *base = (const uint8_t *)page;
    uint16_t *kt = f16_page, *v = f16_page + 64 * hd;
    if (kind == CK_KV_I8 && hd % 8 == 0) {
        const int8_t *kc = (const int8_t *)base, *vc = (const int8_t *)(base + ck_i8_vc(hd));
        const uint16_t *ks = (const uint16_t *)(base + ck_i8_ks(hd)), *vs = (const uint16_t *)(base + ck_i8_vs(hd));
        __m256 kscale[8];
        for (int c = 0; c < 8; c++) kscale[c] = f16x8(ks + 8 * c);
        for (int d = 0; d < hd; d++)
            for (int c = 0; c < 8; c++) store_f16x8(kt + d * 64 + 8 * c, _mm256_mul_ps(i8x8(kc + d * 64 + 8 * c), kscale[c]));
        for (int j = 0; j < 64; j++) {
            __m256 sc = _mm256_set1_ps(ck_h2f(vs[j]));
            for (int c = 0; c < hd / 8; c++) store_f16x8(v + j * hd + 8 * c, _mm256_mul_ps(i8x8(vc + j * hd + 8 * c), sc));
        }
    } else if (kind == CK_KV_I4 && hd % 64 == 0) {
        const uint8_t *kc = base, *vc = base + ck_i4_vc(hd);
        const uint16_t *kmin = (const uint16_t *)(base + ck_i4_kmin(hd)), *kscale = (const uint16_t *)(base + ck_i4_kscale(hd));
        const uint16_t *vmin = (const uint16_t *)(base + ck_i4_vmin(hd)), *vscale = (const uint16_t *)(base + ck_i4_vscale(hd));
        // A row of 32 bytes holds 64 codes: low nibbles first (tokens or dims 0–31), high ones after.
        for (int d = 0; d < hd; d++) {
            __m256 sc0 = _mm256_set1_ps(ck_h2f(kscale[d])), mn0 = _mm256_set1_ps(ck_h2f(kmin[d]));
            __m256 sc1 = _mm256_set1_ps(ck_h2f(kscale[hd + d])), mn1 = _mm256_set1_ps(ck_h2f(kmin[hd + d]));
            for (int c = 0; c < 4; c++) {
                __m256 low, high;
                u4x8(kc + d * 32 + 8 * c, &low, &high);
                store_f16x8(kt + d * 64 + 8 * c, _mm256_fmadd_ps(low, sc0, mn0));
                store_f16x8(kt + d * 64 + 32 + 8 * c, _mm256_fmadd_ps(high, sc1, mn1));
            }
        }
        for (int j = 0; j < 64; j++)
            for (int k = 0; k < hd / 64; k++) {
                int g0 = 2 * k, g1 = 2 * k + 1;
                __m256 sc0 = _mm256_set1_ps(ck_h2f(vscale[g0 * 64 + j])), mn0 = _mm256_set1_ps(ck_h2f(vmin[g0 * 64 + j]));
                __m256 sc1 = _mm256_set1_ps(ck_h2f(vscale[g1 * 64 + j])), mn1 = _mm256_set1_ps(ck_h2f(vmin[g1 * 64 + j]));
                for (int c = 0; c < 4; c++) {
                    __m256 low, high;
                    u4x8(vc + j * (hd / 2) + 32 * k + 8 * c, &low, &high);
                    store_f16x8(v + j * hd + 64 * k + 8 * c, _mm256_fmadd_ps(low, sc0, mn0));
                    store_f16x8(v + j * hd + 64 * k + 32 + 8 * c, _mm256_fmadd_ps(high, sc1, mn1));
                }
            }
    } else {
        ck_kv_dequantize_f16_portable(kind, page, hd, f16_page);
    }
}
#else
void ck_kv_dequantize_f16_avx2(int kind, const void *page, int hd, uint16_t *f16_page) {
    ck_kv_dequantize_f16_portable(kind, page, hd, f16_page);
}
#endif

static void decode_via_f16(int kind, const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    uint16_t f16[2 * CK_ATTN_MAX_KEYS * 128];
    if (hd > 128) {
        if (kind == CK_KV_I8) ck_attn_decode_i8_portable(q, nq, hd, page, n, m, l, acc);
        else ck_attn_decode_i4_portable(q, nq, hd, page, n, m, l, acc);
        return;
    }
    ck_kv_dequantize_f16_avx2(kind, page, hd, f16);
    ck_attn_decode_f16_avx2(q, nq, hd, f16, 64, f16 + 64 * hd, hd, n, m, l, acc);
}

void ck_attn_decode_i8_avx2(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    decode_via_f16(CK_KV_I8, q, nq, hd, page, n, m, l, acc);
}

void ck_attn_decode_i4_avx2(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    decode_via_f16(CK_KV_I4, q, nq, hd, page, n, m, l, acc);
}

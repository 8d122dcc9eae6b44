// AVX-512 kernels (Zen 4/5, Skylake-X and later). Weights are dequantized in registers, one
// 32-element block into two zmm, and multiplied with fp32 activations; nothing is rounded to
// 8 bits. Compiled per function with a target attribute, selected at run time (dispatch.c).
#include "ck_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX512_TARGET
#define INL static inline __attribute__((always_inline)) T
#include "avx512_inline.h"

// ---- helpers ----

/// d and m of a block stored as two consecutive f16 values.
INL void load_dm(const void *p, __m512 *d, __m512 *m) {
    uint32_t bits; memcpy(&bits, p, 4);
    __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)bits));
    *d = _mm512_broadcastss_ps(dm);
    *m = _mm512_broadcastss_ps(_mm_movehdup_ps(dm));
}

INL __m512 load_d(const void *p) {
    uint16_t h; memcpy(&h, p, 2);
    return _mm512_broadcastss_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

// In-register dequantization of block i of a row: elements 0..15 → *w0, 16..31 → *w1.
INL void dq_q4_0(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const ck_block_q4_0 *b = (const ck_block_q4_0 *)row + i;
    __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
    __m512i eight = _mm512_set1_epi32(8);
    __m512 d = load_d(&b->d);
    *w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(q, _mm512_set1_epi32(15)), eight)), d);
    *w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(q, 4), eight)), d);
}

INL void dq_q4_1(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const ck_block_q4_1 *b = (const ck_block_q4_1 *)row + i;
    __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
    __m512 d, m;
    load_dm(b, &d, &m);
    *w0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(q, _mm512_set1_epi32(15))), d, m);
    *w1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(q, 4)), d, m);
}

INL void dq_q5_0(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const ck_block_q5_0 *b = (const ck_block_q5_0 *)row + i;
    uint32_t qh; memcpy(&qh, b->qh, 4);
    __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
    __m512i lo = _mm512_and_si512(q, _mm512_set1_epi32(15)), hi = _mm512_srli_epi32(q, 4), s16 = _mm512_set1_epi32(16);
    lo = _mm512_mask_add_epi32(lo, (__mmask16)(qh & 0xffff), lo, s16);
    hi = _mm512_mask_add_epi32(hi, (__mmask16)(qh >> 16), hi, s16);
    __m512 d = load_d(&b->d);
    *w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(lo, s16)), d);
    *w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(hi, s16)), d);
}

INL void dq_q5_1(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const ck_block_q5_1 *b = (const ck_block_q5_1 *)row + i;
    uint32_t qh; memcpy(&qh, b->qh, 4);
    __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
    __m512i lo = _mm512_and_si512(q, _mm512_set1_epi32(15)), hi = _mm512_srli_epi32(q, 4), s16 = _mm512_set1_epi32(16);
    lo = _mm512_mask_add_epi32(lo, (__mmask16)(qh & 0xffff), lo, s16);
    hi = _mm512_mask_add_epi32(hi, (__mmask16)(qh >> 16), hi, s16);
    __m512 d, m;
    load_dm(b, &d, &m);
    *w0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo), d, m);
    *w1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi), d, m);
}

INL void dq_q8_0(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const ck_block_q8_0 *b = (const ck_block_q8_0 *)row + i;
    __m512 d = load_d(&b->d);
    *w0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b->qs))), d);
    *w1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + 16)))), d);
}

INL void dq_f16(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const uint16_t *p = (const uint16_t *)row + i * 32;
    *w0 = f16x16(p);
    *w1 = f16x16(p + 16);
}

INL void dq_bf16(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const uint16_t *p = (const uint16_t *)row + i * 32;
    *w0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
    *w1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 16))), 16));
}

INL void dq_f32(const void *row, int64_t i, __m512 *w0, __m512 *w1) {
    const float *p = (const float *)row + i * 32;
    *w0 = _mm512_loadu_ps(p);
    *w1 = _mm512_loadu_ps(p + 16);
}

/// Dequantizes k elements of a row of a type with a 32-element in-register path (k % 32 == 0).
#define DQ_ROW(name)                                                                           \
    static T void dqrow_##name(const void *row, float *dst, int64_t k) {                       \
        for (int64_t i = 0; i < k / 32; i++) {                                                 \
            __m512 w0, w1;                                                                     \
            dq_##name(row, i, &w0, &w1);                                                       \
            _mm512_storeu_ps(dst + i * 32, w0);                                                \
            _mm512_storeu_ps(dst + i * 32 + 16, w1);                                           \
        }                                                                                      \
    }
DQ_ROW(q4_0) DQ_ROW(q4_1) DQ_ROW(q5_0) DQ_ROW(q5_1) DQ_ROW(q8_0) DQ_ROW(f16) DQ_ROW(bf16)

T void ck_dequantize_row_avx512(int type, const void *src, float *dst, int64_t n) {
    switch (type) {
    case CK_Q4_0: if (n % 32 == 0) { dqrow_q4_0(src, dst, n); return; } break;
    case CK_Q4_1: dqrow_q4_1(src, dst, n); return;
    case CK_Q5_0: dqrow_q5_0(src, dst, n); return;
    case CK_Q5_1: dqrow_q5_1(src, dst, n); return;
    case CK_Q8_0: dqrow_q8_0(src, dst, n); return;
    case CK_F16: if (n % 32 == 0) { dqrow_f16(src, dst, n); return; } break;
    case CK_BF16: if (n % 32 == 0) { dqrow_bf16(src, dst, n); return; } break;
    default: break;
    }
    ck_dequantize_row_portable(type, src, dst, n);
}

#ifndef CK_PREFETCH_BYTES
#define CK_PREFETCH_BYTES 1024
#endif

// ---- matvec: each weight block read once, multiplied into NB activation vectors ----

/// One row against NB vectors for an in-register type. Rows are streamed one at a time: two
/// interleaved nearby rows defeat the hardware prefetcher (measured: Q8_0 from DRAM drops from
/// ~29 to ~4 GB/s). Up to CK_MATVEC_EXACT_BATCH vectors, two blocks per iteration keep four
/// independent FMA chains per vector, and each vector's sums run in the same order as with one
/// vector alone (speculative verification relies on it: WeightMatrix.multiplyRowExact); above
/// that, two chains per vector (four would not fit the 32 registers).
#define MV_ROW(name, NB, BB)                                                                             \
    INL void mvrow_##name##_##NB(const void *row, int64_t nblk, const float *x, int64_t ldx, float *out) { \
        __m512 a0[NB], a1[NB];                                                                         \
        for (int b = 0; b < NB; b++) { a0[b] = _mm512_setzero_ps(); a1[b] = _mm512_setzero_ps(); }     \
        int64_t i = 0;                                                                                 \
        if (NB <= CK_MATVEC_EXACT_BATCH) {                                                             \
            __m512 c0[NB], c1[NB];                                                                     \
            for (int b = 0; b < NB; b++) { c0[b] = _mm512_setzero_ps(); c1[b] = _mm512_setzero_ps(); } \
            for (; i + 2 <= nblk; i += 2) {                                                            \
                _mm_prefetch((const char *)row + i * BB + CK_PREFETCH_BYTES, _MM_HINT_T0);             \
                __m512 w0, w1, v0, v1;                                                                 \
                dq_##name(row, i, &w0, &w1);                                                           \
                dq_##name(row, i + 1, &v0, &v1);                                                       \
                for (int b = 0; b < NB; b++) {                                                         \
                    const float *xb = x + b * ldx + i * 32;                                            \
                    a0[b] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xb), a0[b]);                           \
                    a1[b] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), a1[b]);                      \
                    c0[b] = _mm512_fmadd_ps(v0, _mm512_loadu_ps(xb + 32), c0[b]);                      \
                    c1[b] = _mm512_fmadd_ps(v1, _mm512_loadu_ps(xb + 48), c1[b]);                      \
                }                                                                                      \
            }                                                                                          \
            for (int b = 0; b < NB; b++) { a0[b] = _mm512_add_ps(a0[b], c0[b]); a1[b] = _mm512_add_ps(a1[b], c1[b]); } \
        }                                                                                              \
        for (; i < nblk; i++) {                                                                        \
            __m512 w0, w1;                                                                             \
            dq_##name(row, i, &w0, &w1);                                                               \
            for (int b = 0; b < NB; b++) {                                                             \
                a0[b] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + b * ldx + i * 32), a0[b]);             \
                a1[b] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + b * ldx + i * 32 + 16), a1[b]);        \
            }                                                                                          \
        }                                                                                              \
        for (int b = 0; b < NB; b++) out[b] = hsum(_mm512_add_ps(a0[b], a1[b]));                       \
    }

#define MV_TYPE(name, BB)                                                                              \
    MV_ROW(name, 1, BB) MV_ROW(name, 2, BB) MV_ROW(name, 3, BB) MV_ROW(name, 4, BB)                     \
    MV_ROW(name, 5, BB) MV_ROW(name, 6, BB) MV_ROW(name, 7, BB) MV_ROW(name, 8, BB)                    \
    static T void mv_##name(const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x,  \
                            int64_t ldx, int nb, float *y, int64_t ldy) {                              \
        const int64_t nblk = k / 32;                                                                   \
        float out[CK_MATVEC_MAX_BATCH];                                                                \
        for (int64_t r = 0; r < nrows; r++) {                                                          \
            const void *row = (const uint8_t *)w + r * row_bytes;                                      \
            switch (nb) {                                                                              \
            case 1: mvrow_##name##_1(row, nblk, x, ldx, out); break;                                   \
            case 2: mvrow_##name##_2(row, nblk, x, ldx, out); break;                                   \
            case 3: mvrow_##name##_3(row, nblk, x, ldx, out); break;                                   \
            case 4: mvrow_##name##_4(row, nblk, x, ldx, out); break;                                   \
            case 5: mvrow_##name##_5(row, nblk, x, ldx, out); break;                                   \
            case 6: mvrow_##name##_6(row, nblk, x, ldx, out); break;                                   \
            case 7: mvrow_##name##_7(row, nblk, x, ldx, out); break;                                   \
            default: mvrow_##name##_8(row, nblk, x, ldx, out); break;                                  \
            }                                                                                          \
            for (int b = 0; b < nb; b++) y[b * ldy + r] = out[b];                                      \
        }                                                                                              \
    }

MV_TYPE(q4_0, 18) MV_TYPE(q4_1, 20) MV_TYPE(q5_0, 22) MV_TYPE(q5_1, 24) MV_TYPE(q8_0, 34) MV_TYPE(f16, 64) MV_TYPE(bf16, 64) MV_TYPE(f32, 128)

T float ck_dot_f32_avx512(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 mk = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, a + i), _mm512_maskz_loadu_ps(mk, b + i), s1);
    }
    return hsum(_mm512_add_ps(s0, s1));
}

/// Types without an in-register path (k-quants): dequantize a chunk of the row to L1, then dot.
static T void mv_chunked(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x,
                         int64_t ldx, int nb, float *y, int64_t ldy) {
    const int bs = ck_block_size(type), bb = ck_block_bytes(type);
    float buf[512] CK_ALIGN64;
    const int64_t chunk = 512 / bs * bs;
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        float acc[CK_MATVEC_MAX_BATCH] = {0};
        for (int64_t k0 = 0; k0 < k; k0 += chunk) {
            int64_t len = k - k0 < chunk ? k - k0 : chunk;
            for (int64_t i = 0; i < len / bs; i++) ck_dequantize_block_portable(type, row + (k0 / bs + i) * bb, buf + i * bs);
            for (int b = 0; b < nb; b++) acc[b] += ck_dot_f32_avx512(buf, x + b * ldx + k0, len);
        }
        for (int b = 0; b < nb; b++) y[b * ldy + r] = acc[b];
    }
}

T void ck_matvec_avx512(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x,
                        int64_t ldx, int nb, float *y, int64_t ldy) {
    if (k % 32 == 0) {
        switch (type) {
        case CK_Q4_0: mv_q4_0(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_Q4_1: mv_q4_1(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_Q5_0: mv_q5_0(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_Q5_1: mv_q5_1(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_Q8_0: mv_q8_0(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_F16: mv_f16(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_BF16: mv_bf16(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_F32: mv_f32(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        default: break;
        }
    }
    if (ck_block_size(type) == 256 || k % 32 == 0) { mv_chunked(type, w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return; }
    ck_matvec_portable(type, w, row_bytes, nrows, k, x, ldx, nb, y, ldy);
}

// ---- GEMM for prefill: dequantize a panel of 32 weight rows, transposed to [k][32], then
//      a 12×32 register-blocked outer-product micro-kernel over the token rows ----

/// 16×16 transpose of rows src[i * lds ..] into dst[j * ldd + i].
INL void transpose16(const float *src, int64_t lds, float *dst, int64_t ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xDD);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ldd, r[i]);
}

/// Packs rows [r0, r0 + nr) (nr ≤ 32) into panel[k][32], zero-filling missing rows.
static T void pack_panel(int type, const void *w, size_t row_bytes, int64_t r0, int nr, int64_t k, float *panel, float *tmp) {
    const int64_t chunk = 256;
    for (int64_t k0 = 0; k0 < k; k0 += chunk) {
        int64_t len = k - k0 < chunk ? k - k0 : chunk; // a multiple of 16 (k % 32 == 0 here)
        int64_t bs = ck_block_size(type), bb = ck_block_bytes(type);
        for (int r = 0; r < 32; r++) {
            float *dst = tmp + r * chunk;
            if (r < nr) ck_dequantize_row_avx512(type, (const uint8_t *)w + (r0 + r) * row_bytes + k0 / bs * bb, dst, len);
            else memset(dst, 0, (size_t)len * 4);
        }
        for (int64_t kk = 0; kk < len; kk += 16) {
            transpose16(tmp + kk, chunk, panel + (k0 + kk) * 32, 32);
            transpose16(tmp + 16 * chunk + kk, chunk, panel + (k0 + kk) * 32 + 16, 32);
        }
    }
}

/// y[t][0..32) = Σ_k x[t][k] · panel[k][0..32) for MR token rows; `mask` selects valid columns.
INL void gemm_micro(const float *x, int64_t ldx, const float *panel, int64_t k, float *y, int64_t ldy, int MR,
                    __mmask16 m0, __mmask16 m1) {
    __m512 c0[12], c1[12];
    for (int t = 0; t < MR; t++) { c0[t] = _mm512_setzero_ps(); c1[t] = _mm512_setzero_ps(); }
    for (int64_t kk = 0; kk < k; kk++) {
        __m512 b0 = _mm512_load_ps(panel + kk * 32), b1 = _mm512_load_ps(panel + kk * 32 + 16);
        for (int t = 0; t < MR; t++) {
            __m512 a = _mm512_set1_ps(x[t * ldx + kk]);
            c0[t] = _mm512_fmadd_ps(a, b0, c0[t]);
            c1[t] = _mm512_fmadd_ps(a, b1, c1[t]);
        }
    }
    for (int t = 0; t < MR; t++) {
        _mm512_mask_storeu_ps(y + t * ldy, m0, c0[t]);
        _mm512_mask_storeu_ps(y + t * ldy + 16, m1, c1[t]);
    }
}

#define GEMM_MR(n) static T void gemm_mr##n(const float *x, int64_t ldx, const float *p, int64_t k, float *y, int64_t ldy, __mmask16 m0, __mmask16 m1) { gemm_micro(x, ldx, p, k, y, ldy, n, m0, m1); }
GEMM_MR(1) GEMM_MR(2) GEMM_MR(3) GEMM_MR(4) GEMM_MR(5) GEMM_MR(6) GEMM_MR(7) GEMM_MR(8) GEMM_MR(9) GEMM_MR(10) GEMM_MR(11) GEMM_MR(12)
typedef void (*gemm_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t, __mmask16, __mmask16);
static const gemm_fn gemm_kernels[13] = {0, gemm_mr1, gemm_mr2, gemm_mr3, gemm_mr4, gemm_mr5, gemm_mr6,
                                         gemm_mr7, gemm_mr8, gemm_mr9, gemm_mr10, gemm_mr11, gemm_mr12};

T void ck_gemm_avx512(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx,
                      int64_t nt, float *y, int64_t ldy, float *scratch) {
    if (k % 32 != 0) { ck_gemm_portable(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch); return; }
    float *panel = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    float *tmp = panel + 32 * k;
    for (int64_t r0 = 0; r0 < nrows; r0 += 32) {
        int nr = nrows - r0 < 32 ? (int)(nrows - r0) : 32;
        pack_panel(type, w, row_bytes, r0, nr, k, panel, tmp);
        __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
        __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
        int64_t t = 0;
        for (; t + 12 <= nt; t += 12) gemm_mr12(x + t * ldx, ldx, panel, k, y + t * ldy + r0, ldy, m0, m1);
        if (t < nt) gemm_kernels[nt - t](x + t * ldx, ldx, panel, k, y + t * ldy + r0, ldy, m0, m1);
    }
}

// ---- vector ops ----

T void ck_rmsnorm_avx512(const float *x, const float *w, float *out, int64_t n, float eps) {
    float scale = 1.0f / sqrtf(ck_dot_f32_avx512(x, x, n) / (float)n + eps);
    __m512 s = _mm512_set1_ps(scale);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), s), _mm512_loadu_ps(w + i)));
    for (; i < n; i++) out[i] = x[i] * scale * w[i];
}

T void ck_swiglu_avx512(float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(a + i);
        __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
        _mm512_storeu_ps(a + i, _mm512_mul_ps(_mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1), e)), _mm512_loadu_ps(b + i)));
    }
    for (; i < n; i++) a[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}

/// Σ exp(x[i] - max), exponentials in fp32 (2 ulp), sums of 16-lane partials in double.
T double ck_sumexp_avx512(const float *x, int64_t n, float max) {
    __m512 mb = _mm512_set1_ps(max);
    double s = 0;
    int64_t i = 0;
    for (; i + 256 <= n; i += 256) {
        __m512 acc = _mm512_setzero_ps();
        for (int j = 0; j < 256; j += 16) acc = _mm512_add_ps(acc, exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i + j), mb)));
        s += hsum(acc);
    }
    for (; i < n; i++) s += exp((double)x[i] - max);
    return s;
}

T void ck_add_avx512(float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

T void ck_f16_to_f32_avx512(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, f16x16(src + i));
    for (; i < n; i++) dst[i] = ck_h2f(src[i]);
}

T void ck_f32_to_f16_avx512(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = ck_f2h(src[i]);
}

// ---- attention ----
//
// Register blocking needs compile-time shapes: the bodies below are always_inline with the row
// count R and the head size in vectors HV as constants, instantiated for the shapes that occur
// (R ≤ 4 query rows per decode call, R ≤ 6 per prefill step; HV = 4 or 8, i.e. hd 64 or 128),
// so accumulators stay in zmm registers. Scores always cover a whole 64-key page (4 vectors);
// lanes beyond the valid keys are masked (page storage is always 64 keys wide).

#define NV 4 // vectors of 16 keys per page

/// Online-softmax update of R rows at once from their scores s[r][0..NV) (keys outside
/// valid[r] masked): the rows' maxima, rescale factors and exponentials are independent, so they
/// are computed phase by phase across rows (the per-row chains overlap instead of queueing), and
/// the rescale factors come from one vector exp. Writes probabilities p[r][64] (0 where masked)
/// and the factors by which each row's acc must be rescaled.
INL void softmax_rows(__m512 (*s)[NV], __mmask16 (*valid)[NV], const int R, float *m, float *l, float *p, float *scale) {
    float tmax[16] CK_ALIGN64, mnew[16] CK_ALIGN64, sc[16] CK_ALIGN64;
    for (int r = 0; r < R; r++) {
        __m512 mx = _mm512_set1_ps(-INFINITY);
        for (int c = 0; c < NV; c++) mx = _mm512_mask_max_ps(mx, valid[r][c], mx, s[r][c]);
        tmax[r] = _mm512_reduce_max_ps(mx);
        mnew[r] = m[r] > tmax[r] ? m[r] : tmax[r];
    }
    for (int r = R; r < 16; r++) { mnew[r] = 0; tmax[r] = 0; }
    // exp(m - mnew) for all rows; rows that were empty so far (m = -inf) get 0, rows with
    // nothing visible in this page keep their state (factor 1).
    __m512 mv = _mm512_maskz_loadu_ps((__mmask16)((1u << R) - 1), m);
    __m512 nv = _mm512_load_ps(mnew);
    __mmask16 empty = _mm512_cmp_ps_mask(mv, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
    _mm512_store_ps(sc, _mm512_mask_mov_ps(exp512(_mm512_sub_ps(mv, nv)), empty, _mm512_setzero_ps()));
    __m512 sums[16];
    for (int r = 0; r < R; r++) {
        __m512 mb = _mm512_set1_ps(mnew[r]), sum = _mm512_setzero_ps();
        for (int c = 0; c < NV; c++) {
            __m512 e = _mm512_maskz_mov_ps(valid[r][c], exp512(_mm512_sub_ps(s[r][c], mb)));
            sum = _mm512_add_ps(sum, e);
            _mm512_storeu_ps(p + 64 * r + 16 * c, e);
        }
        sums[r] = sum;
    }
    for (int r = 0; r < R; r++) {
        if (tmax[r] == -INFINITY) { scale[r] = 1; continue; } // nothing visible: p is all zeros
        scale[r] = sc[r];
        l[r] = l[r] * sc[r] + hsum(sums[r]);
        m[r] = mnew[r];
    }
}

INL void page_masks(int n, __mmask16 *valid) {
    for (int c = 0; c < NV; c++) {
        int k = n - 16 * c;
        valid[c] = k >= 16 ? 0xffff : k <= 0 ? 0 : (__mmask16)((1u << k) - 1);
    }
}

/// Decode: R query rows (contiguous, hd = 16·HV) against one f16 page, values read as f16.
INL void decode_body(const float *q, const uint16_t *kt, int64_t kts, const uint16_t *v, int64_t vs, int n,
                     float *m, float *l, float *acc, const int R, const int HV) {
    const int hd = 16 * HV;
    __m512 s[4][NV];
    for (int r = 0; r < R; r++) for (int c = 0; c < NV; c++) s[r][c] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m512 kk[NV];
        for (int c = 0; c < NV; c++) kk[c] = f16x16(kt + d * kts + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 qb = _mm512_set1_ps(q[r * hd + d]);
            for (int c = 0; c < NV; c++) s[r][c] = _mm512_fmadd_ps(qb, kk[c], s[r][c]);
        }
    }
    __mmask16 valid[4][NV];
    for (int r = 0; r < R; r++) page_masks(n, valid[r]);
    float p[4 * 64] CK_ALIGN64, scale[4];
    softmax_rows(s, valid, R, m, l, p, scale);
    __m512 a[4][8];
    for (int r = 0; r < R; r++) {
        __m512 sc = _mm512_set1_ps(scale[r]);
        for (int c = 0; c < HV; c++) a[r][c] = _mm512_mul_ps(_mm512_loadu_ps(acc + r * hd + 16 * c), sc);
    }
    for (int j = 0; j < n; j++) {
        __m512 vv[8];
        for (int c = 0; c < HV; c++) vv[c] = f16x16(v + j * vs + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 pb = _mm512_set1_ps(p[64 * r + j]);
            for (int c = 0; c < HV; c++) a[r][c] = _mm512_fmadd_ps(pb, vv[c], a[r][c]);
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < HV; c++) _mm512_storeu_ps(acc + r * hd + 16 * c, a[r][c]);
}

#define DECODE_FN(R, HV) static T void decode_r##R##_h##HV(const float *q, const uint16_t *kt, int64_t kts, const uint16_t *v, int64_t vs, int n, float *m, float *l, float *acc) { decode_body(q, kt, kts, v, vs, n, m, l, acc, R, HV); }
DECODE_FN(1, 4) DECODE_FN(2, 4) DECODE_FN(3, 4) DECODE_FN(4, 4)
DECODE_FN(1, 8) DECODE_FN(2, 8)
typedef void (*decode_fn)(const float *, const uint16_t *, int64_t, const uint16_t *, int64_t, int, float *, float *, float *);

T void ck_attn_decode_f16_avx512(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                                 const uint16_t *v, int64_t v_stride, int n, float *m, float *l, float *acc) {
    static const decode_fn h4[5] = {0, decode_r1_h4, decode_r2_h4, decode_r3_h4, decode_r4_h4};
    static const decode_fn h8[3] = {0, decode_r1_h8, decode_r2_h8};
    if ((hd != 64 && hd != 128) || n > CK_ATTN_MAX_KEYS || n <= 0) {
        ck_attn_decode_f16_portable(q, nq, hd, kt, kt_stride, v, v_stride, n, m, l, acc);
        return;
    }
    const int group = hd == 64 ? 4 : 2;
    for (int i0 = 0; i0 < nq; i0 += group) {
        int R = nq - i0 < group ? nq - i0 : group;
        (hd == 64 ? h4 : h8)[R](q + i0 * hd, kt, kt_stride, v, v_stride, n, m + i0, l + i0, acc + (int64_t)i0 * hd);
    }
}

/// Prefill step: R query rows (row stride ldq) against a page converted to fp32 (ktf [hd][64],
/// vf [n][hd]); keys after a row's position are masked.
INL void tile_body(const float *q, int64_t ldq, const int32_t *qpos, const float *ktf, const float *vf, int n,
                   int32_t kpos0, float *m, float *l, float *acc, float *p, const int R, const int HV) {
    const int hd = 16 * HV;
    __m512 s[6][NV];
    for (int r = 0; r < R; r++) for (int c = 0; c < NV; c++) s[r][c] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m512 kk[NV];
        for (int c = 0; c < NV; c++) kk[c] = _mm512_load_ps(ktf + d * 64 + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 qb = _mm512_set1_ps(q[r * ldq + d]);
            for (int c = 0; c < NV; c++) s[r][c] = _mm512_fmadd_ps(qb, kk[c], s[r][c]);
        }
    }
    float scale[6];
    __mmask16 valid[6][NV];
    for (int r = 0; r < R; r++) {
        int32_t lim = qpos[r] - kpos0 + 1; // keys visible from the page start
        page_masks(lim < n ? lim : n, valid[r]);
    }
    softmax_rows(s, valid, R, m, l, p, scale);
    __m512 a[6][8];
    for (int r = 0; r < R; r++) {
        __m512 sc = _mm512_set1_ps(scale[r]);
        for (int c = 0; c < HV; c++) a[r][c] = _mm512_mul_ps(_mm512_loadu_ps(acc + r * hd + 16 * c), sc);
    }
    for (int j = 0; j < n; j++) {
        __m512 vv[8];
        for (int c = 0; c < HV; c++) vv[c] = _mm512_loadu_ps(vf + j * hd + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 pb = _mm512_set1_ps(p[64 * r + j]);
            for (int c = 0; c < HV; c++) a[r][c] = _mm512_fmadd_ps(pb, vv[c], a[r][c]);
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < HV; c++) _mm512_storeu_ps(acc + r * hd + 16 * c, a[r][c]);
}

#define TILE_FN(R, HV) static T void tile_r##R##_h##HV(const float *q, int64_t ldq, const int32_t *qpos, const float *ktf, const float *vf, int n, int32_t kpos0, float *m, float *l, float *acc, float *p) { tile_body(q, ldq, qpos, ktf, vf, n, kpos0, m, l, acc, p, R, HV); }
TILE_FN(1, 4) TILE_FN(2, 4) TILE_FN(3, 4) TILE_FN(4, 4) TILE_FN(5, 4) TILE_FN(6, 4)
TILE_FN(1, 8) TILE_FN(2, 8)
typedef void (*tile_fn)(const float *, int64_t, const int32_t *, const float *, const float *, int, int32_t, float *, float *, float *, float *);

T void ck_attn_tile_f16_avx512(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const uint16_t *kt,
                               int64_t kt_stride, const uint16_t *v, int64_t v_stride, int n, int32_t kpos0, float *m,
                               float *l, float *acc, float *scratch) {
    static const tile_fn h4[7] = {0, tile_r1_h4, tile_r2_h4, tile_r3_h4, tile_r4_h4, tile_r5_h4, tile_r6_h4};
    static const tile_fn h8[3] = {0, tile_r1_h8, tile_r2_h8};
    if ((hd != 64 && hd != 128) || n > CK_ATTN_MAX_KEYS || n <= 0) {
        ck_attn_tile_f16_portable(q, ldq, nq, qpos, hd, kt, kt_stride, v, v_stride, n, kpos0, m, l, acc, scratch);
        return;
    }
    float *ktf = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63); // [hd][64]
    float *vf = ktf + hd * CK_ATTN_MAX_KEYS;                             // [n][hd]
    float *p = vf + CK_ATTN_MAX_KEYS * hd;                               // [6][64]
    for (int d = 0; d < hd; d++) ck_f16_to_f32_avx512(kt + d * kt_stride, ktf + d * CK_ATTN_MAX_KEYS, CK_ATTN_MAX_KEYS);
    for (int j = 0; j < n; j++) ck_f16_to_f32_avx512(v + j * v_stride, vf + j * hd, hd);
    const int group = hd == 64 ? 6 : 2;
    for (int i0 = 0; i0 < nq; i0 += group) {
        int R = nq - i0 < group ? nq - i0 : group;
        (hd == 64 ? h4 : h8)[R](q + i0 * ldq, ldq, qpos + i0, ktf, vf, n, kpos0, m + i0, l + i0, acc + (int64_t)i0 * hd, p);
    }
}

#else // not x86-64: the AVX-512 entry points forward to the portable ones
#define FWD(ret, name, params, args) ret name##_avx512 params { return name##_portable args; }
FWD(void, ck_dequantize_row, (int t, const void *s, float *d, int64_t n), (t, s, d, n))
FWD(void, ck_matvec, (int t, const void *w, size_t rb, int64_t nr, int64_t k, const float *x, int64_t ldx, int nb, float *y, int64_t ldy), (t, w, rb, nr, k, x, ldx, nb, y, ldy))
FWD(void, ck_gemm, (int t, const void *w, size_t rb, int64_t nr, int64_t k, const float *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, float *s), (t, w, rb, nr, k, x, ldx, nt, y, ldy, s))
FWD(void, ck_rmsnorm, (const float *x, const float *w, float *o, int64_t n, float e), (x, w, o, n, e))
FWD(float, ck_dot_f32, (const float *a, const float *b, int64_t n), (a, b, n))
FWD(void, ck_swiglu, (float *a, const float *b, int64_t n), (a, b, n))
FWD(void, ck_add, (float *y, const float *x, int64_t n), (y, x, n))
FWD(double, ck_sumexp, (const float *x, int64_t n, float m), (x, n, m))
FWD(void, ck_f16_to_f32, (const uint16_t *s, float *d, int64_t n), (s, d, n))
FWD(void, ck_f32_to_f16, (const float *s, uint16_t *d, int64_t n), (s, d, n))
FWD(void, ck_attn_decode_f16, (const float *q, int nq, int hd, const uint16_t *kt, int64_t ks, const uint16_t *v, int64_t vs, int n, float *m, float *l, float *a), (q, nq, hd, kt, ks, v, vs, n, m, l, a))
FWD(void, ck_attn_tile_f16, (const float *q, int64_t ldq, int nq, const int32_t *qp, int hd, const uint16_t *kt, int64_t ks, const uint16_t *v, int64_t vs, int n, int32_t k0, float *m, float *l, float *a, float *s), (q, ldq, nq, qp, hd, kt, ks, v, vs, n, k0, m, l, a, s))
#endif

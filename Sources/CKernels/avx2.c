// AVX2 + FMA kernels (Haswell / Zen 1–3 and later): the same algorithms as avx512.c with 8-wide
// vectors. Weights dequantized in registers, fp32 activations.
#include "ck_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX2_TARGET
#define INL static inline __attribute__((always_inline)) T

INL float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INL float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INL __m256 f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

/// e^x as in avx512.c (Cody–Waite, degree-7 polynomial), 2^r built in the exponent bits.
INL __m256 exp256(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365478515625f));
    __m256 r = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_fnmadd_ps(r, _mm256_set1_ps(0.693359375f), x);
    f = _mm256_fnmadd_ps(r, _mm256_set1_ps(-2.12194440e-4f), f);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    // r ∈ [-126, 128): split the scale in two factors so 2^r never overflows the exponent field
    __m256i ri = _mm256_cvtps_epi32(r), h = _mm256_srai_epi32(ri, 1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ri, h), _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

INL __m256 bcast_h(const void *p) {
    uint16_t h; memcpy(&h, p, 2);
    return _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))));
}

// In-register dequantization of block i into four 8-wide vectors (elements 0-7, 8-15, 16-23, 24-31).
INL void nib(const uint8_t *qs, __m256i *lo0, __m256i *lo1, __m256i *hi0, __m256i *hi1) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs), m = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(q, m), hi = _mm_and_si128(_mm_srli_epi16(q, 4), m);
    *lo0 = _mm256_cvtepu8_epi32(lo); *lo1 = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
    *hi0 = _mm256_cvtepu8_epi32(hi); *hi1 = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
}

INL void dq_q4_0(const void *row, int64_t i, __m256 w[4]) {
    const ck_block_q4_0 *b = (const ck_block_q4_0 *)row + i;
    __m256i q[4]; nib(b->qs, &q[0], &q[1], &q[2], &q[3]);
    __m256 d = bcast_h(&b->d); __m256i e = _mm256_set1_epi32(8);
    for (int j = 0; j < 4; j++) w[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q[j], e)), d);
}

INL void dq_q4_1(const void *row, int64_t i, __m256 w[4]) {
    const ck_block_q4_1 *b = (const ck_block_q4_1 *)row + i;
    __m256i q[4]; nib(b->qs, &q[0], &q[1], &q[2], &q[3]);
    __m256 d = bcast_h(&b->d), m = bcast_h(&b->m);
    for (int j = 0; j < 4; j++) w[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(q[j]), d, m);
}

INL void dq_q8_0(const void *row, int64_t i, __m256 w[4]) {
    const ck_block_q8_0 *b = (const ck_block_q8_0 *)row + i;
    __m256 d = bcast_h(&b->d);
    for (int j = 0; j < 4; j++)
        w[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * j)))), d);
}

INL void dq_f16(const void *row, int64_t i, __m256 w[4]) {
    const uint16_t *p = (const uint16_t *)row + i * 32;
    for (int j = 0; j < 4; j++) w[j] = f16x8(p + 8 * j);
}

INL void dq_f32(const void *row, int64_t i, __m256 w[4]) {
    const float *p = (const float *)row + i * 32;
    for (int j = 0; j < 4; j++) w[j] = _mm256_loadu_ps(p + 8 * j);
}

#define MV_TYPE(name)                                                                                  \
    INL void mvrow_##name(const void *row, int64_t nblk, const float *x, int64_t ldx, int nb, float *out) { \
        __m256 a[CK_MATVEC_MAX_BATCH][2];                                                              \
        for (int b = 0; b < nb; b++) a[b][0] = a[b][1] = _mm256_setzero_ps();                          \
        for (int64_t i = 0; i < nblk; i++) {                                                           \
            __m256 w[4];                                                                               \
            dq_##name(row, i, w);                                                                      \
            for (int b = 0; b < nb; b++) {                                                             \
                const float *xb = x + b * ldx + i * 32;                                                \
                a[b][0] = _mm256_fmadd_ps(w[0], _mm256_loadu_ps(xb), a[b][0]);                         \
                a[b][1] = _mm256_fmadd_ps(w[1], _mm256_loadu_ps(xb + 8), a[b][1]);                     \
                a[b][0] = _mm256_fmadd_ps(w[2], _mm256_loadu_ps(xb + 16), a[b][0]);                    \
                a[b][1] = _mm256_fmadd_ps(w[3], _mm256_loadu_ps(xb + 24), a[b][1]);                    \
            }                                                                                          \
        }                                                                                              \
        for (int b = 0; b < nb; b++) out[b] = hsum8(_mm256_add_ps(a[b][0], a[b][1]));                  \
    }                                                                                                  \
    static T void mv_##name(const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x,  \
                            int64_t ldx, int nb, float *y, int64_t ldy) {                              \
        float out[CK_MATVEC_MAX_BATCH];                                                                \
        for (int64_t r = 0; r < nrows; r++) {                                                          \
            mvrow_##name((const uint8_t *)w + r * row_bytes, k / 32, x, ldx, nb, out);                 \
            for (int b = 0; b < nb; b++) y[b * ldy + r] = out[b];                                      \
        }                                                                                              \
    }                                                                                                  \
    static T void dqrow_##name(const void *row, float *dst, int64_t k) {                               \
        for (int64_t i = 0; i < k / 32; i++) {                                                         \
            __m256 w[4];                                                                               \
            dq_##name(row, i, w);                                                                      \
            for (int j = 0; j < 4; j++) _mm256_storeu_ps(dst + i * 32 + 8 * j, w[j]);                  \
        }                                                                                              \
    }

MV_TYPE(q4_0) MV_TYPE(q4_1) MV_TYPE(q8_0) MV_TYPE(f16) MV_TYPE(f32)

T float ck_dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float t = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

T void ck_dequantize_row_avx2(int type, const void *src, float *dst, int64_t n) {
    if (n % 32 == 0) {
        switch (type) {
        case CK_Q4_0: dqrow_q4_0(src, dst, n); return;
        case CK_Q4_1: dqrow_q4_1(src, dst, n); return;
        case CK_Q8_0: dqrow_q8_0(src, dst, n); return;
        case CK_F16: dqrow_f16(src, dst, n); return;
        default: break;
        }
    }
    ck_dequantize_row_portable(type, src, dst, n);
}

T void ck_matvec_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx,
                      int nb, float *y, int64_t ldy) {
    if (k % 32 == 0) {
        switch (type) {
        case CK_Q4_0: mv_q4_0(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_Q4_1: mv_q4_1(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_Q8_0: mv_q8_0(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_F16: mv_f16(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        case CK_F32: mv_f32(w, row_bytes, nrows, k, x, ldx, nb, y, ldy); return;
        default: break;
        }
    }
    // other types: dequantize a chunk of each row, then dot with every vector
    const int bs = ck_block_size(type), bb = ck_block_bytes(type);
    float buf[512];
    const int64_t chunk = 512 / bs * bs;
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        float acc[CK_MATVEC_MAX_BATCH] = {0};
        for (int64_t k0 = 0; k0 < k; k0 += chunk) {
            int64_t len = k - k0 < chunk ? k - k0 : chunk;
            ck_dequantize_row_avx2(type, row + k0 / bs * bb, buf, len);
            for (int b = 0; b < nb; b++) acc[b] += ck_dot_f32_avx2(buf, x + b * ldx + k0, len);
        }
        for (int b = 0; b < nb; b++) y[b * ldy + r] = acc[b];
    }
}

/// 6×16 outer-product micro-kernel over a panel [k][16] of dequantized weights.
INL void gemm_micro(const float *x, int64_t ldx, const float *panel, int64_t k, float *y, int64_t ldy, int MR, int nr) {
    __m256 c0[6], c1[6];
    for (int t = 0; t < MR; t++) { c0[t] = _mm256_setzero_ps(); c1[t] = _mm256_setzero_ps(); }
    for (int64_t kk = 0; kk < k; kk++) {
        __m256 b0 = _mm256_loadu_ps(panel + kk * 16), b1 = _mm256_loadu_ps(panel + kk * 16 + 8);
        for (int t = 0; t < MR; t++) {
            __m256 a = _mm256_broadcast_ss(x + t * ldx + kk);
            c0[t] = _mm256_fmadd_ps(a, b0, c0[t]);
            c1[t] = _mm256_fmadd_ps(a, b1, c1[t]);
        }
    }
    for (int t = 0; t < MR; t++) {
        float out[16];
        _mm256_storeu_ps(out, c0[t]);
        _mm256_storeu_ps(out + 8, c1[t]);
        memcpy(y + t * ldy, out, (size_t)nr * 4);
    }
}

#define GEMM_MR(n) static T void gemm_mr##n(const float *x, int64_t ldx, const float *p, int64_t k, float *y, int64_t ldy, int nr) { gemm_micro(x, ldx, p, k, y, ldy, n, nr); }
GEMM_MR(1) GEMM_MR(2) GEMM_MR(3) GEMM_MR(4) GEMM_MR(5) GEMM_MR(6)
typedef void (*gemm_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t, int);
static const gemm_fn gemm_kernels[7] = {0, gemm_mr1, gemm_mr2, gemm_mr3, gemm_mr4, gemm_mr5, gemm_mr6};

T void ck_gemm_avx2(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx,
                    int64_t nt, float *y, int64_t ldy, float *scratch) {
    if (k % 32 != 0) { ck_gemm_portable(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch); return; }
    float *panel = scratch;          // [k][16]
    float *row = scratch + 16 * k;   // one dequantized row (k floats; scratch holds 32·(k+256))
    for (int64_t r0 = 0; r0 < nrows; r0 += 16) {
        int nr = nrows - r0 < 16 ? (int)(nrows - r0) : 16;
        for (int r = 0; r < 16; r++) {
            if (r < nr) ck_dequantize_row_avx2(type, (const uint8_t *)w + (r0 + r) * row_bytes, row, k);
            for (int64_t kk = 0; kk < k; kk++) panel[kk * 16 + r] = r < nr ? row[kk] : 0;
        }
        int64_t t = 0;
        for (; t + 6 <= nt; t += 6) gemm_mr6(x + t * ldx, ldx, panel, k, y + t * ldy + r0, ldy, nr);
        if (t < nt) gemm_kernels[nt - t](x + t * ldx, ldx, panel, k, y + t * ldy + r0, ldy, nr);
    }
}

T void ck_rmsnorm_avx2(const float *x, const float *w, float *out, int64_t n, float eps) {
    float scale = 1.0f / sqrtf(ck_dot_f32_avx2(x, x, n) / (float)n + eps);
    int64_t i = 0;
    __m256 s = _mm256_set1_ps(scale);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) out[i] = x[i] * scale * w[i];
}

T void ck_swiglu_avx2(float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i), e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), e)), _mm256_loadu_ps(b + i)));
    }
    for (; i < n; i++) a[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}

T double ck_sumexp_avx2(const float *x, int64_t n, float max) {
    __m256 mb = _mm256_set1_ps(max);
    double s = 0;
    int64_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256 acc = _mm256_setzero_ps();
        for (int j = 0; j < 128; j += 8) acc = _mm256_add_ps(acc, exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i + j), mb)));
        s += hsum8(acc);
    }
    for (; i < n; i++) s += exp((double)x[i] - max);
    return s;
}

T void ck_add_avx2(float *y, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

T void ck_f16_to_f32_avx2(const uint16_t *src, float *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, f16x8(src + i));
    for (; i < n; i++) dst[i] = ck_h2f(src[i]);
}

T void ck_f32_to_f16_avx2(const float *src, uint16_t *dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = ck_f2h(src[i]);
}

/// One query row: scores against n keys (transposed page), online softmax, accumulate values.
INL void attn_row(const float *q, int hd, const float *ktf, int64_t ldk, const float *vf, int n, int lim, float *m,
                  float *l, float *acc) {
    float s[CK_ATTN_MAX_KEYS];
    __m256 sv[8];
    const int NV = (n + 7) / 8;
    for (int c = 0; c < NV; c++) sv[c] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m256 qb = _mm256_set1_ps(q[d]);
        for (int c = 0; c < NV; c++) sv[c] = _mm256_fmadd_ps(qb, _mm256_loadu_ps(ktf + d * ldk + 8 * c), sv[c]);
    }
    for (int c = 0; c < NV; c++) _mm256_storeu_ps(s + 8 * c, sv[c]);
    if (lim <= 0) return;
    float mx = -INFINITY;
    for (int j = 0; j < lim; j++) mx = s[j] > mx ? s[j] : mx;
    float mnew = *m > mx ? *m : mx, scale = expf(*m - mnew), sum = 0;
    __m256 mb = _mm256_set1_ps(mnew);
    for (int c = 0; c < NV; c++) _mm256_storeu_ps(s + 8 * c, exp256(_mm256_sub_ps(_mm256_loadu_ps(s + 8 * c), mb)));
    for (int j = 0; j < lim; j++) sum += s[j];
    __m256 sc = _mm256_set1_ps(scale);
    for (int d = 0; d < hd; d += 8) {
        __m256 a = _mm256_mul_ps(_mm256_loadu_ps(acc + d), sc);
        for (int j = 0; j < lim; j++) a = _mm256_fmadd_ps(_mm256_set1_ps(s[j]), _mm256_loadu_ps(vf + j * hd + d), a);
        _mm256_storeu_ps(acc + d, a);
    }
    *l = *l * scale + sum;
    *m = mnew;
}

T void ck_attn_tile_f16_avx2(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const uint16_t *kt,
                             int64_t kt_stride, const uint16_t *v, int64_t v_stride, int n, int32_t kpos0, float *m,
                             float *l, float *acc, float *scratch) {
    if (hd % 8 != 0 || n > CK_ATTN_MAX_KEYS) {
        ck_attn_tile_f16_portable(q, ldq, nq, qpos, hd, kt, kt_stride, v, v_stride, n, kpos0, m, l, acc, scratch);
        return;
    }
    float *ktf = scratch, *vf = scratch + hd * CK_ATTN_MAX_KEYS;
    const int nr = (n + 7) / 8 * 8;
    for (int d = 0; d < hd; d++) ck_f16_to_f32_avx2(kt + d * kt_stride, ktf + d * CK_ATTN_MAX_KEYS, nr);
    for (int j = 0; j < n; j++) ck_f16_to_f32_avx2(v + j * v_stride, vf + j * hd, hd);
    for (int i = 0; i < nq; i++) {
        int lim = qpos[i] - kpos0 + 1;
        if (lim > n) lim = n;
        attn_row(q + i * ldq, hd, ktf, CK_ATTN_MAX_KEYS, vf, n, lim, &m[i], &l[i], acc + (int64_t)i * hd);
    }
}

T void ck_attn_decode_f16_avx2(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride, const uint16_t *v,
                               int64_t v_stride, int n, float *m, float *l, float *acc) {
    float scratch[2 * CK_ATTN_MAX_KEYS * 128 + 64];
    int32_t qpos[16];
    if (hd > 128 || nq > 16) { ck_attn_decode_f16_portable(q, nq, hd, kt, kt_stride, v, v_stride, n, m, l, acc); return; }
    for (int i = 0; i < nq; i++) qpos[i] = n; // every key visible
    ck_attn_tile_f16_avx2(q, hd, nq, qpos, hd, kt, kt_stride, v, v_stride, n, 0, m, l, acc, scratch);
}

/// Rows of one sequence against one page: the page converted once (for the longest row), then
/// each row's group through attn_row with its own count, as ck_attn_decode_f16_avx2 would for
/// that row alone (attn_row reads nothing past its count, so the results are bit-identical).
T void ck_attn_decode_f16_rows_avx2(int rows, const float *const *q, int nq, int hd, const uint16_t *kt,
                                    int64_t kt_stride, const uint16_t *v, int64_t v_stride, const int32_t *n,
                                    float *const *m, float *const *l, float *const *acc) {
    int nmax = 0;
    for (int r = 0; r < rows; r++) nmax = n[r] > nmax ? n[r] : nmax;
    if (hd > 128 || nq > 16 || hd % 8 != 0 || nmax > CK_ATTN_MAX_KEYS) {
        for (int r = 0; r < rows; r++) ck_attn_decode_f16_avx2(q[r], nq, hd, kt, kt_stride, v, v_stride, n[r], m[r], l[r], acc[r]);
        return;
    }
    float scratch[2 * CK_ATTN_MAX_KEYS * 128];
    float *ktf = scratch, *vf = scratch + hd * CK_ATTN_MAX_KEYS;
    const int nr = (nmax + 7) / 8 * 8;
    for (int d = 0; d < hd; d++) ck_f16_to_f32_avx2(kt + d * kt_stride, ktf + d * CK_ATTN_MAX_KEYS, nr);
    for (int j = 0; j < nmax; j++) ck_f16_to_f32_avx2(v + j * v_stride, vf + j * hd, hd);
    for (int r = 0; r < rows; r++) {
        if (n[r] <= 0) continue;
        for (int i = 0; i < nq; i++)
            attn_row(q[r] + i * hd, hd, ktf, CK_ATTN_MAX_KEYS, vf, n[r], n[r], &m[r][i], &l[r][i], acc[r] + (int64_t)i * hd);
    }
}

#else
#define FWD(ret, name, params, args) ret name##_avx2 params { return name##_portable args; }
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
void ck_attn_decode_f16_rows_avx2(int rows, const float *const *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                                  const uint16_t *v, int64_t v_stride, const int32_t *n, float *const *m, float *const *l,
                                  float *const *acc) {
    for (int r = 0; r < rows; r++) ck_attn_decode_f16_portable(q[r], nq, hd, kt, kt_stride, v, v_stride, n[r], m[r], l[r], acc[r]);
}
#endif

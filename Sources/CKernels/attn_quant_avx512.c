// AVX-512 decode attention over int8 and int4 (KIVI) KV pages (layouts in ck_kv.h), and the
// expansion of a quantized page to f16 for the prefill tiles.
//
// Decode reads each page once: codes are widened to fp32 in registers inside the score loop (one
// key row of 64 tokens per d, shared by the GQA group's query rows) and inside the value loop (one
// token row per j); no page is ever expanded to memory. Scales are folded where they are cheapest:
// int8 key scales multiply the 64 scores once, int8 value scales the 64 probabilities; int4 key
// scales fold into the query once per half page (KIVI: q·k = Σ (q·kscale)·code + Σ q·kmin; a half
// is 32 tokens, the key group), int4 value scales into the
// probabilities per 32-channel group, and the value minimums into one bias per row and group.
#include "ck_kv_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX512_TARGET
#define INL static inline __attribute__((always_inline)) T
#include "avx512_inline.h"

/// 16 int8 codes → fp32.
INL __m512 i8x16(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p))); }

/// 32 packed bytes → 64 nibble codes in fp32: w[0] = low nibbles of bytes 0..15, w[1] = low of
/// 16..31, w[2] = high of 0..15, w[3] = high of 16..31.
INL void u4x64(const uint8_t *p, __m512 *w) {
    __m512i x0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p));
    __m512i x1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 16)));
    __m512i lo = _mm512_set1_epi32(15);
    w[0] = _mm512_cvtepi32_ps(_mm512_and_si512(x0, lo));
    w[1] = _mm512_cvtepi32_ps(_mm512_and_si512(x1, lo));
    w[2] = _mm512_cvtepi32_ps(_mm512_srli_epi32(x0, 4));
    w[3] = _mm512_cvtepi32_ps(_mm512_srli_epi32(x1, 4));
}

/// Software prefetch of the line at `offset` of a region of `bytes`, if inside. The int8 kernel
/// requests the first 32 lines of a page when it starts, then, at each key row d of the score loop,
/// the key line 32 rows ahead and lines d and d + hd of the value region: the page streams from
/// DRAM with a steady number of misses in flight. (Requesting all 132 lines at once measured no
/// better than no prefetch — 0.8 µs per page from DRAM, one thread — the interleaved requests
/// 0.53 µs. For the int4 page — 76 lines when measured, 80 since its keys have two groups — requesting it
/// whole measured best: 0.41 µs against 0.47.)
INL void prefetch_at(const uint8_t *region, size_t bytes, size_t offset) {
    if (offset < bytes) _mm_prefetch((const char *)region + offset, _MM_HINT_T0);
}

INL void prefetch_page(const void *page, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch((const char *)page + o, _MM_HINT_T0);
}

INL void valid_masks(int n, int NV, __mmask16 *valid) {
    for (int c = 0; c < NV; c++) valid[c] = n - 16 * c >= 16 ? 0xffff : (__mmask16)((1u << (n - 16 * c)) - 1);
}

/// R query rows (pre-scaled, hd = 16·HV apart) of one GQA group against one int8 page of
/// n ≤ 16·NV tokens. Always inlined with constant NV, HV, R so that scores and accumulators stay
/// in registers (with run-time bounds the compiler keeps them on the stack).
INL void i8_rows(const float *q, const uint8_t *base, int n, float *m, float *l, float *acc, const int NV, const int HV,
                 const int R) {
    const int hd = 16 * HV;
    const int8_t *kc = (const int8_t *)base, *vc = (const int8_t *)(base + ck_i8_vc(hd));
    const uint16_t *ks = (const uint16_t *)(base + ck_i8_ks(hd)), *vs = (const uint16_t *)(base + ck_i8_vs(hd));
    __mmask16 valid[4];
    valid_masks(n, NV, valid);
    float p[4 * CK_ATTN_MAX_KEYS] CK_ALIGN64, rescale[4];
    const size_t region = (size_t)64 * hd + 128; // keys with their scales; values with theirs
    __m512 s[16];
    for (int i = 0; i < R * NV; i++) s[i] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m512 kk[4];
        prefetch_at(base, region, (size_t)(d + 32) * 64);
        prefetch_at((const uint8_t *)vc, region, (size_t)d * 64);
        prefetch_at((const uint8_t *)vc, region, (size_t)(d + hd) * 64);
        for (int c = 0; c < NV; c++) kk[c] = i8x16(kc + d * 64 + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 qb = _mm512_set1_ps(q[r * hd + d]);
            for (int c = 0; c < NV; c++) s[r * NV + c] = _mm512_fmadd_ps(qb, kk[c], s[r * NV + c]);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < NV; c++) s[r * NV + c] = _mm512_mul_ps(s[r * NV + c], f16x16(ks + 16 * c));
        rescale[r] = softmax_update(s + r * NV, valid, NV, &m[r], &l[r], p + r * CK_ATTN_MAX_KEYS);
        for (int c = 0; c < NV; c++) { // fold the value scales into the probabilities
            float *pc = p + r * CK_ATTN_MAX_KEYS + 16 * c;
            _mm512_store_ps(pc, _mm512_mul_ps(_mm512_load_ps(pc), f16x16(vs + 16 * c)));
        }
    }
    __m512 a[16];
    for (int r = 0; r < R; r++) {
        __m512 sc = _mm512_set1_ps(rescale[r]);
        for (int c = 0; c < HV; c++) a[r * HV + c] = _mm512_mul_ps(_mm512_loadu_ps(acc + r * hd + 16 * c), sc);
    }
    for (int j = 0; j < n; j++) {
        __m512 vv[8];
        for (int c = 0; c < HV; c++) vv[c] = i8x16(vc + j * hd + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 pb = _mm512_set1_ps(p[r * CK_ATTN_MAX_KEYS + j]);
            for (int c = 0; c < HV; c++) a[r * HV + c] = _mm512_fmadd_ps(pb, vv[c], a[r * HV + c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < HV; c++) _mm512_storeu_ps(acc + r * hd + 16 * c, a[r * HV + c]);
}

/// As i8_rows for an int4 (KIVI) page: key scales fold into the query and key minimums into one
/// bias per row, both per half page (score vectors c = 0, 1 are the first half, 2, 3 the second);
/// value scales into the probabilities per group, value minimums into one bias per row and group.
INL void i4_rows(const float *q, const uint8_t *base, int n, float *m, float *l, float *acc, const int NV, const int HV,
                 const int R) {
    const int hd = 16 * HV, NG = HV / 2;
    const uint8_t *kc = base, *vc = base + ck_i4_vc(hd);
    const uint16_t *kmin = (const uint16_t *)(base + ck_i4_kmin(hd)), *kscale = (const uint16_t *)(base + ck_i4_kscale(hd));
    const uint16_t *vmin = (const uint16_t *)(base + ck_i4_vmin(hd)), *vscale = (const uint16_t *)(base + ck_i4_vscale(hd));
    __mmask16 valid[4];
    valid_masks(n, NV, valid);
    float p[4 * CK_ATTN_MAX_KEYS] CK_ALIGN64, rescale[4], bias[4][2];
    float qs[4 * 2 * 128] CK_ALIGN64;              // [R][half][hd] query · key scale
    float pw[4 * 4 * CK_ATTN_MAX_KEYS] CK_ALIGN64; // [R][group][64] probability · value scale
    float vbias[4 * 4];                            // [R][group] Σ_j probability · value min
    const int NH = NV > 2 ? 2 : 1;                 // halves holding tokens
    for (int r = 0; r < R; r++)
        for (int h = 0; h < NH; h++) {
            __m512 b = _mm512_setzero_ps();
            for (int c = 0; c < HV; c++) {
                __m512 qv = _mm512_loadu_ps(q + r * hd + 16 * c);
                _mm512_store_ps(qs + (r * 2 + h) * 128 + 16 * c, _mm512_mul_ps(qv, f16x16(kscale + h * hd + 16 * c)));
                b = _mm512_fmadd_ps(qv, f16x16(kmin + h * hd + 16 * c), b);
            }
            bias[r][h] = hsum(b);
        }
    __m512 s[16];
    for (int i = 0; i < R * NV; i++) s[i] = _mm512_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m512 kk[4];
        u4x64(kc + d * 32, kk);
        for (int r = 0; r < R; r++) {
            __m512 qb[2];
            for (int h = 0; h < NH; h++) qb[h] = _mm512_set1_ps(qs[(r * 2 + h) * 128 + d]);
            for (int c = 0; c < NV; c++) s[r * NV + c] = _mm512_fmadd_ps(qb[c / 2], kk[c], s[r * NV + c]);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < NV; c++) s[r * NV + c] = _mm512_add_ps(s[r * NV + c], _mm512_set1_ps(bias[r][c / 2]));
        rescale[r] = softmax_update(s + r * NV, valid, NV, &m[r], &l[r], p + r * CK_ATTN_MAX_KEYS);
        for (int g = 0; g < NG; g++) {
            __m512 vb = _mm512_setzero_ps();
            for (int c = 0; c < NV; c++) {
                __m512 pv = _mm512_load_ps(p + r * CK_ATTN_MAX_KEYS + 16 * c);
                _mm512_store_ps(pw + (r * 4 + g) * CK_ATTN_MAX_KEYS + 16 * c, _mm512_mul_ps(pv, f16x16(vscale + g * 64 + 16 * c)));
                vb = _mm512_fmadd_ps(pv, f16x16(vmin + g * 64 + 16 * c), vb);
            }
            vbias[r * 4 + g] = hsum(vb);
        }
    }
    __m512 a[16];
    for (int r = 0; r < R; r++) {
        __m512 sc = _mm512_set1_ps(rescale[r]);
        for (int c = 0; c < HV; c++) a[r * HV + c] = _mm512_mul_ps(_mm512_loadu_ps(acc + r * hd + 16 * c), sc);
    }
    for (int j = 0; j < n; j++) {
        __m512 vv[8]; // vv[c]: channels 16c..16c+15, group c / 2
        for (int k = 0; k < HV / 4; k++) u4x64(vc + j * (hd / 2) + 32 * k, vv + 4 * k);
        for (int r = 0; r < R; r++)
            for (int c = 0; c < HV; c++) {
                __m512 wb = _mm512_set1_ps(pw[(r * 4 + c / 2) * CK_ATTN_MAX_KEYS + j]);
                a[r * HV + c] = _mm512_fmadd_ps(wb, vv[c], a[r * HV + c]);
            }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < HV; c++)
            _mm512_storeu_ps(acc + r * hd + 16 * c, _mm512_add_ps(a[r * HV + c], _mm512_set1_ps(vbias[r * 4 + c / 2])));
}

typedef enum { KIND_I8, KIND_I4 } quant_kind;

/// Runs the rows of one page in passes of up to 4 (hd 64) or 2 (hd 128) rows, with the loop
/// bounds of full pages of the common head sizes as constants.
INL void decode_rows(quant_kind kind, const float *q, int nq, int hd, const uint8_t *page, int n, float *m, float *l, float *acc) {
    const int NV = (n + 15) / 16, HV = hd / 16, group = HV <= 4 ? 4 : 2;
    for (int i0 = 0; i0 < nq; i0 += group) {
        const int R = nq - i0 < group ? nq - i0 : group;
        const float *qi = q + (int64_t)i0 * hd;
        float *mi = m + i0, *li = l + i0, *ai = acc + (int64_t)i0 * hd;
#define ROWS(nv, hv, r) (kind == KIND_I8 ? i8_rows(qi, page, n, mi, li, ai, nv, hv, r) : i4_rows(qi, page, n, mi, li, ai, nv, hv, r))
        if (NV == 4 && HV == 4) {
            switch (R) {
            case 1: ROWS(4, 4, 1); break;
            case 2: ROWS(4, 4, 2); break;
            case 3: ROWS(4, 4, 3); break;
            default: ROWS(4, 4, 4);
            }
        } else if (NV == 4 && HV == 8) {
            if (R == 1) ROWS(4, 8, 1);
            else ROWS(4, 8, 2);
        } else {
            ROWS(NV, HV, R); // partial pages and other head sizes: correct, not register-allocated
        }
#undef ROWS
    }
}

T void ck_attn_decode_i8_avx512(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    if (hd % 16 != 0 || hd > 128 || n > CK_ATTN_MAX_KEYS || nq > 16) {
        ck_attn_decode_i8_portable(q, nq, hd, page, n, m, l, acc);
        return;
    }
    prefetch_page(page, 32 * 64);
    decode_rows(KIND_I8, q, nq, hd, (const uint8_t *)page, n, m, l, acc);
}

T void ck_attn_decode_i4_avx512(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    if (hd % 64 != 0 || hd > 128 || n > CK_ATTN_MAX_KEYS || nq > 16) {
        ck_attn_decode_i4_portable(q, nq, hd, page, n, m, l, acc);
        return;
    }
    prefetch_page(page, ck_i4_bytes(hd));
    decode_rows(KIND_I4, q, nq, hd, (const uint8_t *)page, n, m, l, acc);
}

INL void store_f16(uint16_t *dst, __m512 x) {
    _mm256_storeu_si256((__m256i *)dst, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

INL __m512 f16_1(uint16_t h) { return _mm512_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)))); }

T void ck_kv_dequantize_f16_avx512(int kind, const void *page, int hd, uint16_t *f16_page) {
    const uint8_t *base = (const uint8_t *)page;
    uint16_t *kt = f16_page, *v = f16_page + 64 * hd;
    if (kind == CK_KV_I8) {
        const int8_t *kc = (const int8_t *)base, *vc = (const int8_t *)(base + ck_i8_vc(hd));
        const uint16_t *ks = (const uint16_t *)(base + ck_i8_ks(hd)), *vs = (const uint16_t *)(base + ck_i8_vs(hd));
        __m512 kscale[4];
        for (int c = 0; c < 4; c++) kscale[c] = f16x16(ks + 16 * c);
        for (int d = 0; d < hd; d++)
            for (int c = 0; c < 4; c++) store_f16(kt + d * 64 + 16 * c, _mm512_mul_ps(i8x16(kc + d * 64 + 16 * c), kscale[c]));
        for (int j = 0; j < 64; j++) {
            __m512 sc = f16_1(vs[j]);
            for (int c = 0; c < hd / 16; c++) store_f16(v + j * hd + 16 * c, _mm512_mul_ps(i8x16(vc + j * hd + 16 * c), sc));
        }
    } else if (kind == CK_KV_I4 && hd % 64 == 0) {
        const uint8_t *kc = base, *vc = base + ck_i4_vc(hd);
        const uint16_t *kmin = (const uint16_t *)(base + ck_i4_kmin(hd)), *kscale = (const uint16_t *)(base + ck_i4_kscale(hd));
        const uint16_t *vmin = (const uint16_t *)(base + ck_i4_vmin(hd)), *vscale = (const uint16_t *)(base + ck_i4_vscale(hd));
        __m512 w[4];
        for (int d = 0; d < hd; d++) {
            __m512 sc[2] = {f16_1(kscale[d]), f16_1(kscale[hd + d])}, mn[2] = {f16_1(kmin[d]), f16_1(kmin[hd + d])};
            u4x64(kc + d * 32, w);
            for (int c = 0; c < 4; c++) store_f16(kt + d * 64 + 16 * c, _mm512_fmadd_ps(w[c], sc[c / 2], mn[c / 2]));
        }
        for (int j = 0; j < 64; j++)
            for (int k = 0; k < hd / 64; k++) {
                u4x64(vc + j * (hd / 2) + 32 * k, w);
                for (int c = 0; c < 4; c++) {
                    int g = 2 * k + c / 2;
                    store_f16(v + j * hd + 64 * k + 16 * c, _mm512_fmadd_ps(w[c], f16_1(vscale[g * 64 + j]), f16_1(vmin[g * 64 + j])));
                }
            }
    } else {
        ck_kv_dequantize_f16_portable(kind, page, hd, f16_page);
    }
}

#else // not x86-64
void ck_attn_decode_i8_avx512(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    ck_attn_decode_i8_portable(q, nq, hd, page, n, m, l, acc);
}
void ck_attn_decode_i4_avx512(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    ck_attn_decode_i4_portable(q, nq, hd, page, n, m, l, acc);
}
void ck_kv_dequantize_f16_avx512(int kind, const void *page, int hd, uint16_t *f16_page) {
    ck_kv_dequantize_f16_portable(kind, page, hd, f16_page);
}
#endif

// AVX-512 paths of the sparse-attention kernels (ck_sparse.h). Semantics: sparse_portable.c.
#include "ck_sparse_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX512_TARGET
#define INL static inline __attribute__((always_inline)) T
#include "avx512_inline.h"

// ---- sketch scores: int4 codes × int8 query codes with vpdpbusd (VNNI), int32 sums ----

#define TV __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c,avx2,bmi2")))

/// ck_sketch_block_query with AVX-512 (same products, same rounding, exact integer sums).
static inline __attribute__((always_inline)) TV void sketch_block_query_avx512(const uint8_t *block, int hd, const float *q, int nq,
                                                                               const int32_t *row_bias, float inv, int8_t *qc, int32_t *bias) {
    const float *lo = ck_sketch_lows(block, hd), *step = ck_sketch_steps(block, hd);
    const __m512 vinv = _mm512_set1_ps(inv), c127 = _mm512_set1_ps(127), c24 = _mm512_set1_ps(16777216.0f);
    for (int r = 0; r < nq; r++) {
        __m512i sum = _mm512_setzero_si512();
        for (int d = 0; d < hd; d += 16) {
            const __m512 qv = _mm512_loadu_ps(q + r * hd + d);
            __m512 t = _mm512_mul_ps(_mm512_mul_ps(qv, _mm512_loadu_ps(step + d)), vinv);
            t = _mm512_min_ps(_mm512_max_ps(t, _mm512_sub_ps(_mm512_setzero_ps(), c127)), c127);
            _mm_storeu_si128((__m128i *)(qc + r * hd + d), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(t)));
            __m512 u = _mm512_mul_ps(_mm512_mul_ps(qv, _mm512_loadu_ps(lo + d)), vinv);
            u = _mm512_min_ps(_mm512_max_ps(u, _mm512_sub_ps(_mm512_setzero_ps(), c24)), c24);
            sum = _mm512_add_epi32(sum, _mm512_cvtps_epi32(u));
        }
        bias[r] = row_bias[r] + _mm512_reduce_add_epi32(sum);
    }
}

/// Rows r0..r0+R−1 of one block: the best row sum of every key, per 16-key quarter, into best[4].
static inline __attribute__((always_inline)) TV void sketch_rows_avx512(const uint8_t *codes, int hd, const int8_t *qc,
                                                                        const int32_t *bias, const int R, __m512i best[4]) {
    const __m512i mask = _mm512_set1_epi8(0x0F);
    __m512i acc[4][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_set1_epi32(bias[r]);
    for (int o = 0; o < hd / 8; o++) {
        __m512i lo[4], hi[4];
        for (int v = 0; v < 4; v++) {
            const __m512i x = _mm512_loadu_si512(codes + o * 256 + v * 64);
            lo[v] = _mm512_and_si512(x, mask);
            hi[v] = _mm512_and_si512(_mm512_srli_epi16(x, 4), mask);
        }
        for (int r = 0; r < R; r++) {
            int32_t a, b;
            memcpy(&a, qc + r * hd + 8 * o, 4);
            memcpy(&b, qc + r * hd + 8 * o + 4, 4);
            const __m512i qa = _mm512_set1_epi32(a), qb = _mm512_set1_epi32(b);
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc[r][v], lo[v], qa), hi[v], qb);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < 4; v++) best[v] = _mm512_max_epi32(best[v], acc[r][v]);
}

TV void ck_sketch_scores_avx512(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, const int32_t *row_bias,
                                float inv_delta, int16_t *out) {
    int8_t qc[16 * 256] __attribute__((aligned(64)));
    int32_t bias[CK_SPARSE_MAX_GROUP];
    const int shift = ck_sketch_shift(hd);
    const __m256i floor = _mm256_set1_epi16(INT16_MIN + 1);
    for (int b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + (int64_t)b * ck_sketch_block_bytes(hd);
        if (b + 1 < nblocks) ck_prefetch(blk + ck_sketch_block_bytes(hd), ck_sketch_block_bytes(hd));
        sketch_block_query_avx512(blk, hd, q, nq, row_bias, inv_delta, qc, bias);
        __m512i best[4];
        for (int v = 0; v < 4; v++) best[v] = _mm512_set1_epi32(INT32_MIN);
        for (int r0 = 0; r0 < nq; r0 += 4) {
            const int8_t *qr = qc + r0 * hd;
            switch (nq - r0 < 4 ? nq - r0 : 4) {
            case 1: sketch_rows_avx512(blk, hd, qr, bias + r0, 1, best); break;
            case 2: sketch_rows_avx512(blk, hd, qr, bias + r0, 2, best); break;
            case 3: sketch_rows_avx512(blk, hd, qr, bias + r0, 3, best); break;
            default: sketch_rows_avx512(blk, hd, qr, bias + r0, 4, best); break;
            }
        }
        for (int v = 0; v < 4; v++) {
            const __m256i s = _mm512_cvtsepi32_epi16(_mm512_srai_epi32(best[v], shift));
            _mm256_storeu_si256((__m256i *)(out + (int64_t)b * 64 + 16 * v), _mm256_max_epi16(s, floor));
        }
    }
}

// ---- bucketed top-k: 32 strided buckets per vector, best two per lane ----

T int ck_bucket_topk_i16_avx512(const int16_t *scores, int n, int buckets, int keep, int32_t *out) {
    int count = 0;
    for (int c = 0; c < buckets && c < n; c += 32) {
        __m512i m1 = _mm512_set1_epi16(INT16_MIN), m2 = m1, i1 = _mm512_set1_epi16(-1), i2 = i1;
        for (int j = 0; j * buckets + c < n; j++) {
            const int base = j * buckets + c, left = n - base;
            __mmask32 valid = left >= 32 ? 0xFFFFFFFFu : (((__mmask32)1 << left) - 1);
            __m512i s = _mm512_mask_loadu_epi16(_mm512_set1_epi16(INT16_MIN), valid, scores + base);
            __m512i row = _mm512_set1_epi16((int16_t)j);
            __mmask32 gt1 = _mm512_cmpgt_epi16_mask(s, m1);
            if (keep > 1) {
                __mmask32 gt2 = _mm512_cmpgt_epi16_mask(s, m2) & ~gt1;
                m2 = _mm512_mask_blend_epi16(gt1, _mm512_mask_blend_epi16(gt2, m2, s), m1);
                i2 = _mm512_mask_blend_epi16(gt1, _mm512_mask_blend_epi16(gt2, i2, row), i1);
            }
            m1 = _mm512_mask_blend_epi16(gt1, m1, s);
            i1 = _mm512_mask_blend_epi16(gt1, i1, row);
        }
        int16_t r1[32], r2[32];
        _mm512_storeu_si512(r1, i1);
        _mm512_storeu_si512(r2, i2);
        for (int lane = 0; lane < 32 && c + lane < buckets; lane++) {
            if (r1[lane] >= 0) out[count++] = r1[lane] * buckets + c + lane;
            if (keep > 1 && r2[lane] >= 0) out[count++] = r2[lane] * buckets + c + lane;
        }
    }
    return count;
}

// ---- gathered dot products ----

/// Sixteen vectors to one: lane i of the result is the sum of v[i]'s lanes.
INL __m512 hsum16(const __m512 *v) {
    __m512 x[8], y[4];
    for (int i = 0; i < 8; i++)
        x[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(x[2 * i]), b = _mm512_castps_pd(x[2 * i + 1]);
        y[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    __m512 z0 = _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], 0x88), _mm512_shuffle_f32x4(y[0], y[1], 0xDD));
    __m512 z1 = _mm512_add_ps(_mm512_shuffle_f32x4(y[2], y[3], 0x88), _mm512_shuffle_f32x4(y[2], y[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(z0, z1, 0x88), _mm512_shuffle_f32x4(z0, z1, 0xDD));
}

T void ck_gather_dot_f16_avx512(const float *q, int nq, int hd, const uint16_t *rows, int64_t row_stride, const int32_t *idx,
                                int n, float *out, int64_t out_stride) {
    if (hd % 16 != 0 || hd > 256) { ck_gather_dot_f16_portable(q, nq, hd, rows, row_stride, idx, n, out, out_stride); return; }
    const int HV = hd / 16;
    for (int i0 = 0; i0 < n; i0 += 16) {
        const int cnt = n - i0 < 16 ? n - i0 : 16;
        for (int r0 = 0; r0 < nq; r0 += 4) {
            const int R = nq - r0 < 4 ? nq - r0 : 4;
            __m512 part[4][16];
            for (int i = 0; i < 16; i++) {
                if (i >= cnt) { for (int r = 0; r < R; r++) part[r][i] = _mm512_setzero_ps(); continue; }
                if (i0 + i + 8 < n) ck_prefetch(rows + (int64_t)idx[i0 + i + 8] * row_stride, hd * 2);
                const uint16_t *k = rows + (int64_t)idx[i0 + i] * row_stride;
                __m512 s[4];
                for (int r = 0; r < R; r++) s[r] = _mm512_setzero_ps();
                for (int c = 0; c < HV; c++) {
                    __m512 kk = f16x16(k + 16 * c);
                    for (int r = 0; r < R; r++) s[r] = _mm512_fmadd_ps(_mm512_loadu_ps(q + (r0 + r) * hd + 16 * c), kk, s[r]);
                }
                for (int r = 0; r < R; r++) part[r][i] = s[r];
            }
            for (int r = 0; r < R; r++) {
                __m512 sums = hsum16(part[r]);
                _mm512_mask_storeu_ps(out + (r0 + r) * out_stride + i0, (__mmask16)((1u << cnt) - 1), sums);
            }
        }
    }
}

// ---- softmax update over gathered value rows ----

/// Value row `slot` of a page of `kind` as HV vectors of 16 fp32, decoded in registers.
INL void value_row(int kind, const void *page, int hd, int HV, int slot, __m512 *vv) {
    const void *row = ck_sparse_value_row(kind, page, hd, slot);
    if (kind == CK_SPARSE_I8) {
        uint16_t sh; memcpy(&sh, (const uint8_t *)page + ck_i8_vs(hd) + 2 * slot, 2);
        const __m512 s = _mm512_set1_ps(ck_h2f(sh));
        for (int c = 0; c < HV; c++)
            vv[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)((const int8_t *)row + 16 * c)))), s);
    } else if (kind == CK_SPARSE_I4) {
        const uint16_t *vmin = (const uint16_t *)((const uint8_t *)page + ck_i4_vmin(hd));
        const uint16_t *vscale = (const uint16_t *)((const uint8_t *)page + ck_i4_vscale(hd));
        for (int c = 0; c < HV; c++) { // 16 channels 16c..16c+15: chunk 16c/64, low nibbles for the first 32 of a chunk
            const int d0 = 16 * c, chunk = d0 / 64, i = d0 % 64, g = d0 / 32;
            __m512i codes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)((const uint8_t *)row + 32 * chunk + (i & 31))));
            codes = i < 32 ? _mm512_and_si512(codes, _mm512_set1_epi32(15)) : _mm512_srli_epi32(codes, 4);
            vv[c] = _mm512_fmadd_ps(_mm512_set1_ps(ck_h2f(vscale[g * 64 + slot])), _mm512_cvtepi32_ps(codes),
                                    _mm512_set1_ps(ck_h2f(vmin[g * 64 + slot])));
        }
    } else {
        for (int c = 0; c < HV; c++) vv[c] = f16x16((const uint16_t *)row + 16 * c);
    }
}

T void ck_sparse_accumulate_avx512(int kind, const float *scores, int64_t score_stride, int nq, int hd, const void *const *pages,
                                   const uint8_t *slots, int n, float *m, float *l, float *acc) {
    if (hd % 16 != 0 || hd > 128 || nq > 16) {
        ck_sparse_accumulate_portable(kind, scores, score_stride, nq, hd, pages, slots, n, m, l, acc);
        return;
    }
    const int HV = hd / 16;
    float p[16][64] CK_ALIGN64; // probabilities of a chunk of 64 tokens, per row
    float scale[16];
    int any = 0;
    for (int r = 0; r < nq; r++) { // new running max and the rescaling of the old state
        const float *s = scores + r * score_stride;
        __m512 mx = _mm512_set1_ps(-INFINITY);
        int i = 0;
        for (; i + 16 <= n; i += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(s + i));
        if (i < n) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), (__mmask16)((1u << (n - i)) - 1), s + i));
        float tmax = _mm512_reduce_max_ps(mx);
        if (tmax == -INFINITY) { scale[r] = NAN; continue; } // nothing for this row: state untouched
        float mnew = m[r] > tmax ? m[r] : tmax;
        scale[r] = expf(m[r] - mnew);
        m[r] = mnew;
        l[r] *= scale[r];
        any = 1;
    }
    if (!any) return;
    const int group = HV <= 4 ? 4 : 2; // rows whose accumulators stay in registers
    for (int i0 = 0; i0 < n; i0 += 64) {
        const int cnt = n - i0 < 64 ? n - i0 : 64;
        for (int r = 0; r < nq; r++) {
            const float *s = scores + r * score_stride + i0;
            __m512 mb = _mm512_set1_ps(m[r]), sum = _mm512_setzero_ps();
            for (int c = 0; c < 64; c += 16) {
                __mmask16 in = c >= cnt ? 0 : cnt - c >= 16 ? 0xFFFF : (__mmask16)((1u << (cnt - c)) - 1);
                __m512 sv = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), in, s + c);
                __mmask16 live = _mm512_cmp_ps_mask(sv, _mm512_set1_ps(-INFINITY), _CMP_NEQ_OQ) & in;
                __m512 e = scale[r] != scale[r] ? _mm512_setzero_ps() : _mm512_maskz_mov_ps(live, exp512(_mm512_sub_ps(sv, mb)));
                sum = _mm512_add_ps(sum, e);
                _mm512_store_ps(p[r] + c, e);
            }
            if (scale[r] == scale[r]) l[r] += hsum(sum);
        }
        for (int r0 = 0; r0 < nq; r0 += group) {
            const int R = nq - r0 < group ? nq - r0 : group;
            __m512 a[4][8];
            for (int r = 0; r < R; r++) {
                const float f = i0 == 0 && scale[r0 + r] == scale[r0 + r] ? scale[r0 + r] : 1.0f;
                for (int c = 0; c < HV; c++) a[r][c] = _mm512_mul_ps(_mm512_loadu_ps(acc + (r0 + r) * hd + 16 * c), _mm512_set1_ps(f));
            }
            for (int i = 0; i < cnt; i++) {
                if (i + 4 < cnt) ck_prefetch(ck_sparse_value_row(kind, pages[i0 + i + 4], hd, slots[i0 + i + 4]), hd * 2);
                __m512 vv[8];
                value_row(kind, pages[i0 + i], hd, HV, slots[i0 + i], vv);
                for (int r = 0; r < R; r++) {
                    __m512 pb = _mm512_set1_ps(p[r0 + r][i]);
                    for (int c = 0; c < HV; c++) a[r][c] = _mm512_fmadd_ps(pb, vv[c], a[r][c]);
                }
            }
            for (int r = 0; r < R; r++)
                for (int c = 0; c < HV; c++) _mm512_storeu_ps(acc + (r0 + r) * hd + 16 * c, a[r][c]);
        }
    }
}

// ---- SimHash: four keys against 64 projections at a time ----

T void ck_simhash_avx512(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables,
                         uint16_t *codes) {
    const int width = bits * tables, words = (width + 63) / 64;
    if (hd > 256 || words > 64) { ck_simhash_portable(keys, n, hd, mean, proj, bits, tables, codes); return; }
    float kc[4][256];
    uint64_t sign[4][65];
    for (int t0 = 0; t0 < n; t0 += 4) {
        const int R = n - t0 < 4 ? n - t0 : 4;
        for (int r = 0; r < R; r++)
            for (int d = 0; d < hd; d++) kc[r][d] = keys[(int64_t)(t0 + r) * hd + d] - (mean ? mean[d] : 0);
        for (int j0 = 0; j0 < width; j0 += 64) {
            __m512 s[4][4];
            for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) s[r][c] = _mm512_setzero_ps();
            __mmask16 cols[4];
            for (int c = 0; c < 4; c++) {
                int left = width - j0 - 16 * c;
                cols[c] = left >= 16 ? 0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            }
            for (int d = 0; d < hd; d++) {
                const float *pr = proj + (int64_t)d * width + j0;
                __m512 pv[4];
                for (int c = 0; c < 4; c++) pv[c] = _mm512_maskz_loadu_ps(cols[c], pr + 16 * c);
                for (int r = 0; r < R; r++) {
                    __m512 kb = _mm512_set1_ps(kc[r][d]);
                    for (int c = 0; c < 4; c++) s[r][c] = _mm512_fmadd_ps(kb, pv[c], s[r][c]);
                }
            }
            for (int r = 0; r < R; r++) {
                uint64_t w = 0;
                for (int c = 0; c < 4; c++)
                    w |= (uint64_t)(_mm512_cmp_ps_mask(s[r][c], _mm512_setzero_ps(), _CMP_GT_OQ) & cols[c]) << (16 * c);
                sign[r][j0 / 64] = w;
            }
        }
        for (int r = 0; r < R; r++) {
            sign[r][words] = 0;
            for (int tb = 0; tb < tables; tb++) {
                const int bit = tb * bits, w = bit >> 6, o = bit & 63;
                uint64_t v = sign[r][w] >> o;
                if (o + bits > 64) v |= sign[r][w + 1] << (64 - o);
                codes[(int64_t)(t0 + r) * tables + tb] = (uint16_t)(v & ((1u << bits) - 1));
            }
        }
    }
}

#else // not x86-64: forward to the portable paths
int ck_bucket_topk_i16_avx512(const int16_t *s, int n, int b, int k, int32_t *o) { return ck_bucket_topk_i16_portable(s, n, b, k, o); }
void ck_sketch_scores_avx512(const uint8_t *b, int nb, int hd, const float *q, int nq, const int32_t *rb, float inv, int16_t *o) { ck_sketch_scores_portable(b, nb, hd, q, nq, rb, inv, o); }
void ck_gather_dot_f16_avx512(const float *q, int nq, int hd, const uint16_t *r, int64_t rs, const int32_t *i, int n, float *o, int64_t os) { ck_gather_dot_f16_portable(q, nq, hd, r, rs, i, n, o, os); }
void ck_sparse_accumulate_avx512(int k, const float *s, int64_t ss, int nq, int hd, const void *const *p, const uint8_t *sl, int n, float *m, float *l, float *a) { ck_sparse_accumulate_portable(k, s, ss, nq, hd, p, sl, n, m, l, a); }
void ck_simhash_avx512(const float *k, int n, int hd, const float *m, const float *p, int b, int t, uint16_t *c) { ck_simhash_portable(k, n, hd, m, p, b, t, c); }
#endif

// AVX2 paths of the sparse-attention kernels (ck_sparse.h). The sketch scores use vpmaddubsw
// where the AVX-512 path uses VNNI, and SimHash is an FMA kernel; the other kernels use the portable C, which
// -O3 vectorises for the compile target (this machine class has AVX-512: the AVX2 paths are the
// fallback for older x86 and are kept correct by the per-ISA tests rather than tuned).
#include "ck_sparse_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX2_TARGET

/// One block's 8-key group `v`, rows 0..nq−1: u8 codes × s8 query codes with vpmaddubsw (pair sums
/// ≤ 2·15·127, the two nibble halves added in int16 ≤ 7620), then vpmaddwd into int32.
T void ck_sketch_scores_avx2(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, const int32_t *row_bias,
                             float inv_delta, int16_t *out) {
    int8_t qc[16 * 256];
    int32_t bias[CK_SPARSE_MAX_GROUP];
    const int shift = ck_sketch_shift(hd);
    const __m256i mask = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + (int64_t)b * ck_sketch_block_bytes(hd);
        ck_sketch_block_query(blk, hd, q, nq, row_bias, inv_delta, qc, bias);
        for (int v = 0; v < 8; v++) {
            __m256i best = _mm256_set1_epi32(INT32_MIN);
            for (int r = 0; r < nq; r++) {
                __m256i acc = _mm256_set1_epi32(bias[r]);
                for (int o = 0; o < hd / 8; o++) {
                    const __m256i x = _mm256_loadu_si256((const __m256i *)(blk + o * 256 + v * 32));
                    int32_t a, c;
                    memcpy(&a, qc + r * hd + 8 * o, 4);
                    memcpy(&c, qc + r * hd + 8 * o + 4, 4);
                    const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_and_si256(x, mask), _mm256_set1_epi32(a)),
                                                       _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(x, 4), mask), _mm256_set1_epi32(c)));
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
                }
                best = _mm256_max_epi32(best, acc);
            }
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, best);
            for (int i = 0; i < 8; i++) out[(int64_t)b * 64 + v * 8 + i] = ck_sketch_score16(lanes[i], shift);
        }
    }
}

/// SimHash codes: four keys against 16 projections at a time (8 accumulators, two projection
/// vectors and a broadcast fit the 16 ymm registers), the signs gathered 16 bits per block.
T void ck_simhash_avx2(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables,
                       uint16_t *codes) {
    const int width = bits * tables, words = (width + 63) / 64;
    if (hd > 256 || words > 64) { ck_simhash_portable(keys, n, hd, mean, proj, bits, tables, codes); return; }
    float kc[4][256];
    uint64_t sign[4][65];
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int t0 = 0; t0 < n; t0 += 4) {
        const int R = n - t0 < 4 ? n - t0 : 4;
        for (int r = 0; r < 4; r++)
            for (int d = 0; d < hd; d++) kc[r][d] = r < R ? keys[(int64_t)(t0 + r) * hd + d] - (mean ? mean[d] : 0) : 0;
        memset(sign, 0, sizeof sign);
        for (int j0 = 0; j0 < width; j0 += 16) {
            const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(width - j0), lane);
            const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(width - j0 - 8), lane);
            __m256 s[4][2];
            for (int r = 0; r < 4; r++) s[r][0] = s[r][1] = _mm256_setzero_ps();
            for (int d = 0; d < hd; d++) {
                const float *pr = proj + (int64_t)d * width + j0;
                const __m256 p0 = _mm256_maskload_ps(pr, m0), p1 = _mm256_maskload_ps(pr + 8, m1);
                for (int r = 0; r < 4; r++) {
                    const __m256 kb = _mm256_set1_ps(kc[r][d]);
                    s[r][0] = _mm256_fmadd_ps(kb, p0, s[r][0]);
                    s[r][1] = _mm256_fmadd_ps(kb, p1, s[r][1]);
                }
            }
            const unsigned valid = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(m0))
                                 | (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(m1)) << 8;
            for (int r = 0; r < R; r++) {
                const unsigned w = ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(s[r][0], _mm256_setzero_ps(), _CMP_GT_OQ))
                                  | (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(s[r][1], _mm256_setzero_ps(), _CMP_GT_OQ)) << 8) & valid;
                sign[r][j0 >> 6] |= (uint64_t)w << (j0 & 63);
            }
        }
        for (int r = 0; r < R; r++) {
            for (int tb = 0; tb < tables; tb++) {
                const int bit = tb * bits, w = bit >> 6, o = bit & 63;
                uint64_t v = sign[r][w] >> o;
                if (o + bits > 64) v |= sign[r][w + 1] << (64 - o);
                codes[(int64_t)(t0 + r) * tables + tb] = (uint16_t)(v & ((1u << bits) - 1));
            }
        }
    }
}
#else
void ck_sketch_scores_avx2(const uint8_t *b, int nb, int hd, const float *q, int nq, const int32_t *rb, float inv, int16_t *o) { ck_sketch_scores_portable(b, nb, hd, q, nq, rb, inv, o); }
void ck_simhash_avx2(const float *k, int n, int hd, const float *m, const float *p, int b, int t, uint16_t *c) { ck_simhash_portable(k, n, hd, m, p, b, t, c); }
#endif

int ck_bucket_topk_i16_avx2(const int16_t *s, int n, int b, int k, int32_t *o) { return ck_bucket_topk_i16_portable(s, n, b, k, o); }
void ck_gather_dot_f16_avx2(const float *q, int nq, int hd, const uint16_t *r, int64_t rs, const int32_t *i, int n, float *o, int64_t os) { ck_gather_dot_f16_portable(q, nq, hd, r, rs, i, n, o, os); }
void ck_sparse_accumulate_avx2(int k, const float *s, int64_t ss, int nq, int hd, const void *const *p, const uint8_t *sl, int n, float *m, float *l, float *a) { ck_sparse_accumulate_portable(k, s, ss, nq, hd, p, sl, n, m, l, a); }

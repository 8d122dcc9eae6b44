// AVX2 paths of the sparse-attention kernels (ck_sparse.h). The sketch scores use the same
// nibble lookups as the AVX-512 path at 256 bits; the other kernels use the portable C, which
// -O3 vectorises for the compile target (this machine class has AVX-512: the AVX2 paths are the
// fallback for older x86 and are kept correct by the per-ISA tests rather than tuned).
#include "ck_sparse_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CK_AVX2_TARGET

T void ck_sketch_scores_avx2(const uint8_t *blocks, int nblocks, int hd, const int8_t *luts, const int16_t *bias, int nq,
                             int16_t *out) {
    const int groups = hd / 4;
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (int b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + (int64_t)b * ck_sketch_block_bytes(hd);
        __m256i best[4]; // keys 0..15, 16..31 (low nibbles), 32..47, 48..63 (high nibbles)
        for (int v = 0; v < 4; v++) best[v] = _mm256_set1_epi16(INT16_MIN);
        for (int r = 0; r < nq; r++) {
            __m256i a[4];
            for (int v = 0; v < 4; v++) a[v] = _mm256_set1_epi16(bias[r]);
            for (int g = 0; g < groups; g++) {
                __m128i tab = _mm_loadu_si128((const __m128i *)(luts + ((int64_t)r * groups + g) * 16));
                for (int half = 0; half < 2; half++) {
                    __m128i bytes = _mm_loadu_si128((const __m128i *)(blk + g * 32 + 16 * half));
                    __m128i nl = _mm_and_si128(bytes, nibble), nh = _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble);
                    a[half] = _mm256_add_epi16(a[half], _mm256_cvtepi8_epi16(_mm_shuffle_epi8(tab, nl)));
                    a[2 + half] = _mm256_add_epi16(a[2 + half], _mm256_cvtepi8_epi16(_mm_shuffle_epi8(tab, nh)));
                }
            }
            for (int v = 0; v < 4; v++) best[v] = _mm256_max_epi16(best[v], a[v]);
        }
        for (int v = 0; v < 4; v++)
            _mm256_storeu_si256((__m256i *)(out + (int64_t)b * 64 + 16 * v), _mm256_max_epi16(best[v], _mm256_set1_epi16(INT16_MIN + 1)));
    }
}
#else
void ck_sketch_scores_avx2(const uint8_t *b, int nb, int hd, const int8_t *lu, const int16_t *bi, int nq, int16_t *o) { ck_sketch_scores_portable(b, nb, hd, lu, bi, nq, o); }
#endif

int ck_bucket_topk_i16_avx2(const int16_t *s, int n, int b, int k, int32_t *o) { return ck_bucket_topk_i16_portable(s, n, b, k, o); }
void ck_gather_dot_f16_avx2(const float *q, int nq, int hd, const uint16_t *r, int64_t rs, const int32_t *i, int n, float *o, int64_t os) { ck_gather_dot_f16_portable(q, nq, hd, r, rs, i, n, o, os); }
void ck_sparse_accumulate_avx2(int k, const float *s, int64_t ss, int nq, int hd, const void *const *p, const uint8_t *sl, int n, float *m, float *l, float *a) { ck_sparse_accumulate_portable(k, s, ss, nq, hd, p, sl, n, m, l, a); }
void ck_simhash_avx2(const float *k, int n, int hd, const float *m, const float *p, int b, int t, uint16_t *c) { ck_simhash_portable(k, n, hd, m, p, b, t, c); }

// Block codes of the 32-element weight formats in AVX2 registers, and the GEMM panel packing,
// shared by the q8 kernels of q8_avx2.c and q8_avx512.c (each defines T and INL, its target
// attributes, before including this file).
#ifndef CK_Q8_CODES_H
#define CK_Q8_CODES_H

INL __m256i nibbles(const uint8_t *qs) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs), m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

/// Byte j = 16 where bit j of qh is set, else 0.
INL __m256i high_bits(const uint8_t *qhp) {
    uint32_t qh; memcpy(&qh, qhp, 4);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                    _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                     2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
}

INL void dm_pair(const void *p, float *d, float *m) {
    uint32_t bits; memcpy(&bits, p, 4);
    __m128 dm = _mm_cvtph_ps(_mm_cvtsi32_si128((int)bits));
    *d = _mm_cvtss_f32(dm); *m = _mm_cvtss_f32(_mm_movehdup_ps(dm));
}

INL float d_only(const void *p) { uint16_t h; memcpy(&h, p, 2); return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

/// Codes, scale and minimum of block i of a row (w_j = d·u_j + m; Q8_0 signed codes, m = 0).
INL __m256i codes(int type, const uint8_t *row, int64_t i, float *d, float *m) {
    switch (type) {
    case CK_Q4_0: { const ck_block_q4_0 *b = (const ck_block_q4_0 *)row + i; *d = d_only(&b->d); *m = -8 * *d; return nibbles(b->qs); }
    case CK_Q4_1: { const ck_block_q4_1 *b = (const ck_block_q4_1 *)row + i; dm_pair(b, d, m); return nibbles(b->qs); }
    case CK_Q5_0: { const ck_block_q5_0 *b = (const ck_block_q5_0 *)row + i; *d = d_only(&b->d); *m = -16 * *d;
                    return _mm256_or_si256(nibbles(b->qs), high_bits(b->qh)); }
    case CK_Q5_1: { const ck_block_q5_1 *b = (const ck_block_q5_1 *)row + i; dm_pair(b, d, m);
                    return _mm256_or_si256(nibbles(b->qs), high_bits(b->qh)); }
    default: { const ck_block_q8_0 *b = (const ck_block_q8_0 *)row + i; *d = d_only(&b->d); *m = 0;
               return _mm256_loadu_si256((const __m256i *)b->qs); }
    }
}

INL float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Packs rows [r0, r0 + nr) of W into a 16-row panel: codes [k/4][16][4] bytes (row r's codes
/// 4g..4g+3 of block i at ((i·8 + g)·16 + r)·4), scales and minimums [k/32][16]; rows ≥ nr zero.
static T void pack_q8(int type, const void *w, size_t row_bytes, int64_t r0, int nr, int64_t k, uint32_t *pc, float *pd,
                      float *pm) {
    const int64_t nblk = k / 32;
    for (int r = 0; r < 16; r++) {
        const uint8_t *row = (const uint8_t *)w + (r0 + r) * row_bytes;
        for (int64_t i = 0; i < nblk; i++) {
            uint32_t c[8] CK_ALIGN64;
            float d = 0, m = 0;
            if (r < nr) _mm256_storeu_si256((__m256i *)c, codes(type, row, i, &d, &m));
            else memset(c, 0, sizeof c);
            for (int g = 0; g < 8; g++) pc[(i * 8 + g) * 16 + r] = c[g];
            pd[i * 16 + r] = d;
            pm[i * 16 + r] = m;
        }
    }
}

#endif

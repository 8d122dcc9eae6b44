// AVX-512 helpers shared by the kernel files compiled for AVX-512 (avx512.c, attn_quant_avx512.c):
// horizontal sum, f16 loads, e^x and the online-softmax update of the attention kernels. Include
// after defining T (the target attribute) and INL.
#ifndef CK_AVX512_INLINE_H
#define CK_AVX512_INLINE_H

INL float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

INL __m512 f16x16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }

/// e^x, relative error ≈ 2 ulp: Cody–Waite reduction x = r·ln2 + f, |f| ≤ ln2/2, degree-7
/// Taylor polynomial for e^f, scaled by 2^r. Inputs below -87.3 give ~0; callers mask exact zeros.
INL __m512 exp512(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f)), _mm512_set1_ps(-87.3365478515625f));
    __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_fnmadd_ps(r, _mm512_set1_ps(0.693359375f), x);
    f = _mm512_fnmadd_ps(r, _mm512_set1_ps(-2.12194440e-4f), f);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, r);
}

/// Online-softmax update of one row from its masked scores s[0..NV) (16 keys each; lanes
/// outside `valid` are masked). Writes the probabilities p (0 where masked) and returns the
/// factor by which the row's acc must be rescaled.
INL float softmax_update(__m512 *s, const __mmask16 *valid, int NV, float *m, float *l, float *p) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int c = 0; c < NV; c++) mx = _mm512_mask_max_ps(mx, valid[c], mx, s[c]);
    float tmax = _mm512_reduce_max_ps(mx);
    if (tmax == -INFINITY) { // nothing visible to this row in this tile
        for (int c = 0; c < NV; c++) _mm512_storeu_ps(p + 16 * c, _mm512_setzero_ps());
        return 1.0f;
    }
    float mnew = *m > tmax ? *m : tmax, scale = expf(*m - mnew);
    __m512 mb = _mm512_set1_ps(mnew), sum = _mm512_setzero_ps();
    for (int c = 0; c < NV; c++) {
        __m512 e = _mm512_maskz_mov_ps(valid[c], exp512(_mm512_sub_ps(s[c], mb)));
        sum = _mm512_add_ps(sum, e);
        _mm512_storeu_ps(p + 16 * c, e);
    }
    *l = *l * scale + hsum(sum);
    *m = mnew;
    return scale;
}

#endif

// KV page formats (layouts in ck_kv.h): quantization of tokens and pages, expansion back to f16
// or fp32, the portable decode kernels (the reference the SIMD paths are tested against), the
// run-time dispatch of the decode kernels and the prefill tile over quantized pages.
//
// int8 follows the usual symmetric per-token scheme (scale = absmax / 127, code = round(x / scale)).
// int4 follows KIVI (Liu et al., "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache",
// ICML 2024; github jy-yuan/KIVI): asymmetric min/scale (scale = (max − min) / 15), keys grouped
// per channel along 32 tokens (KIVI's group size; half a page), values per token in groups of 32
// channels. Scales and
// minimums are stored as f16, and codes are computed against the f16-rounded parameters, so a
// code's reconstruction is exactly what the kernels compute.
#include "ck_table.h"

size_t ck_kv_page_bytes(int kind, int hd) {
    if (hd <= 0 || hd > 256 || hd % 16 != 0) return 0;
    switch (kind) {
    case CK_KV_F16: return (size_t)256 * hd;
    case CK_KV_I8: return (size_t)128 * hd + 256;
    case CK_KV_I4: return hd % 64 == 0 ? ck_i4_bytes(hd) : 0;
    default: return 0;
    }
}

size_t ck_kv_key_params_offset(int kind, int hd) {
    switch (kind) {
    case CK_KV_I8: return ck_i8_ks(hd);
    case CK_KV_I4: return ck_i4_kmin(hd);
    default: return ck_kv_values_offset(kind, hd);
    }
}

size_t ck_kv_values_offset(int kind, int hd) {
    switch (kind) {
    case CK_KV_I8: return ck_i8_vc(hd);
    case CK_KV_I4: return ck_i4_vc(hd);
    default: return (size_t)128 * hd;
    }
}

// ---- quantization ----

/// f16 scale for a symmetric int8 row and the matching reciprocal (0 for an all-zero row).
static float i8_scale(const float *x, int64_t stride, int n, uint16_t *scale16) {
    float amax = 0;
    for (int i = 0; i < n; i++) { float a = fabsf(x[i * stride]); amax = a > amax ? a : amax; }
    *scale16 = ck_f2h(amax / 127.0f);
    float s = ck_h2f(*scale16);
    return s > 0 ? 1.0f / s : 0.0f;
}

static inline int8_t i8_code(float x, float inv) {
    float c = nearbyintf(x * inv);
    return (int8_t)(c > 127 ? 127 : c < -127 ? -127 : c);
}

void ck_kv_store_i8(void *page, int hd, int slot, const float *k, const float *v) {
    int8_t *kc = (int8_t *)page, *vc = (int8_t *)page + ck_i8_vc(hd);
    uint16_t *ks = (uint16_t *)((uint8_t *)page + ck_i8_ks(hd)), *vs = (uint16_t *)((uint8_t *)page + ck_i8_vs(hd));
    float inv = i8_scale(k, 1, hd, &ks[slot]);
    for (int d = 0; d < hd; d++) kc[d * 64 + slot] = i8_code(k[d], inv);
    inv = i8_scale(v, 1, hd, &vs[slot]);
    for (int d = 0; d < hd; d++) vc[slot * hd + d] = i8_code(v[d], inv);
}

/// Asymmetric 4-bit parameters of n values (stride apart): f16 min and scale, fp32 reciprocal.
static float i4_params(const float *x, int n, uint16_t *min16, uint16_t *scale16, float *minf) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) { lo = x[i] < lo ? x[i] : lo; hi = x[i] > hi ? x[i] : hi; }
    *min16 = ck_f2h(lo);
    *scale16 = ck_f2h((hi - lo) / 15.0f);
    *minf = ck_h2f(*min16);
    float s = ck_h2f(*scale16);
    return s > 0 ? 1.0f / s : 0.0f;
}

static inline uint8_t i4_code(float x, float minf, float inv) {
    float c = nearbyintf((x - minf) * inv);
    return (uint8_t)(c > 15 ? 15 : c < 0 ? 0 : c);
}

void ck_kv_quantize_i4(const uint16_t *f16_page, void *page, int hd) {
    uint8_t *p = (uint8_t *)page, *kc = p, *vc = p + ck_i4_vc(hd);
    uint16_t *kmin = (uint16_t *)(p + ck_i4_kmin(hd)), *ksc = (uint16_t *)(p + ck_i4_kscale(hd));
    uint16_t *vmin = (uint16_t *)(p + ck_i4_vmin(hd)), *vsc = (uint16_t *)(p + ck_i4_vscale(hd));
    const uint16_t *kt = f16_page, *v = f16_page + 64 * hd;
    float x[64], minf;
    for (int d = 0; d < hd; d++) { // keys: one channel across each half page's 32 tokens
        float min1;
        for (int j = 0; j < 64; j++) x[j] = ck_h2f(kt[d * 64 + j]);
        float inv0 = i4_params(x, 32, &kmin[d], &ksc[d], &minf);
        float inv1 = i4_params(x + 32, 32, &kmin[hd + d], &ksc[hd + d], &min1);
        for (int b = 0; b < 32; b++)
            kc[d * 32 + b] = (uint8_t)(i4_code(x[b], minf, inv0) | i4_code(x[b + 32], min1, inv1) << 4);
    }
    for (int j = 0; j < 64; j++) { // values: one token, groups of 32 channels
        uint8_t *row = vc + (size_t)j * (hd / 2);
        for (int g = 0; g < hd / 32; g++) {
            for (int i = 0; i < 32; i++) x[i] = ck_h2f(v[j * hd + 32 * g + i]);
            float inv = i4_params(x, 32, &vmin[g * 64 + j], &vsc[g * 64 + j], &minf);
            uint8_t *bytes = row + 32 * (g / 2);
            for (int i = 0; i < 32; i++) {
                uint8_t c = i4_code(x[i], minf, inv);
                bytes[i] = g % 2 == 0 ? (uint8_t)((bytes[i] & 0xF0) | c) : (uint8_t)((bytes[i] & 0x0F) | c << 4);
            }
        }
    }
}

// ---- expansion ----

void ck_kv_dequantize_f16_portable(int kind, const void *page, int hd, uint16_t *f16_page) {
    const uint8_t *p = (const uint8_t *)page;
    for (int d = 0; d < hd; d++)
        for (int j = 0; j < 64; j++) f16_page[d * 64 + j] = ck_f2h(ck_kv_key_at(kind, p, hd, d, j));
    for (int j = 0; j < 64; j++)
        for (int d = 0; d < hd; d++) f16_page[64 * hd + j * hd + d] = ck_f2h(ck_kv_value_at(kind, p, hd, j, d));
}

void ck_kv_dequantize_f32(int kind, const void *page, int hd, int n, float *keys, float *values) {
    const uint8_t *p = (const uint8_t *)page;
    for (int j = 0; j < n; j++)
        for (int d = 0; d < hd; d++) {
            keys[j * hd + d] = ck_kv_key_at(kind, p, hd, d, j);
            values[j * hd + d] = ck_kv_value_at(kind, p, hd, j, d);
        }
}

// ---- portable decode (reference) ----

static void decode_portable(int kind, const float *q, int nq, int hd, const void *page, int n, float *m, float *l,
                            float *acc) {
    const uint8_t *p = (const uint8_t *)page;
    float s[CK_ATTN_MAX_KEYS];
    for (int i = 0; i < nq; i++) {
        const float *qi = q + (int64_t)i * hd;
        float *ai = acc + (int64_t)i * hd;
        for (int j = 0; j < n; j++) {
            float dot = 0;
            for (int d = 0; d < hd; d++) dot += qi[d] * ck_kv_key_at(kind, p, hd, d, j);
            s[j] = dot;
        }
        const float scale = ck_online_softmax_row(s, n, &m[i], &l[i]);
        if (scale < 0) continue;
        for (int d = 0; d < hd; d++) ai[d] *= scale;
        for (int j = 0; j < n; j++)
            for (int d = 0; d < hd; d++) ai[d] += s[j] * ck_kv_value_at(kind, p, hd, j, d);
    }
}

void ck_attn_decode_i8_portable(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    decode_portable(CK_KV_I8, q, nq, hd, page, n, m, l, acc);
}

void ck_attn_decode_i4_portable(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    decode_portable(CK_KV_I4, q, nq, hd, page, n, m, l, acc);
}

// ---- dispatch ----

void ck_attn_decode_i8(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    ck_kernels()->attn_decode_i8(q, nq, hd, page, n, m, l, acc);
}

void ck_attn_decode_i4(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    ck_kernels()->attn_decode_i4(q, nq, hd, page, n, m, l, acc);
}

void ck_kv_dequantize_f16(int kind, const void *page, int hd, uint16_t *f16_page) {
    ck_kernels()->kv_dequantize_f16(kind, page, hd, f16_page);
}

/// Offset (floats) past what ck_attn_tile_f16 uses of its scratch: the expanded f16 page goes there.
static int64_t tile_f16_scratch_floats(int hd) { return (int64_t)2 * CK_ATTN_MAX_KEYS * hd + 16 * CK_ATTN_MAX_KEYS + 64; }

void ck_attn_tile_kv(int kind, const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const void *page, int n,
                     int32_t kpos0, float *m, float *l, float *acc, float *scratch) {
    const uint16_t *kt = (const uint16_t *)page;
    if (kind != CK_KV_F16) {
        uint16_t *f16 = (uint16_t *)(scratch + tile_f16_scratch_floats(hd));
        ck_kv_dequantize_f16(kind, page, hd, f16);
        kt = f16;
    }
    ck_attn_tile_f16(q, ldq, nq, qpos, hd, kt, 64, kt + 64 * hd, hd, n, kpos0, m, l, acc, scratch);
}

// Per-ISA entry points of the KV page kernels (ck_kv.h), selected at run time in kv_pages.c, and
// the page offsets every implementation shares.
#ifndef CK_KV_INTERNAL_H
#define CK_KV_INTERNAL_H
#include "ck_internal.h"
#include "ck_kv.h"

// int8 page regions (bytes from the page start)
static inline size_t ck_i8_ks(int hd) { return (size_t)64 * hd; }
static inline size_t ck_i8_vc(int hd) { return (size_t)64 * hd + 128; }
static inline size_t ck_i8_vs(int hd) { return (size_t)128 * hd + 128; }
// int4 page regions (key minimums and scales: [2][hd] each, half-page major)
static inline size_t ck_i4_kmin(int hd) { return (size_t)32 * hd; }
static inline size_t ck_i4_kscale(int hd) { return (size_t)36 * hd; }
static inline size_t ck_i4_vc(int hd) { return (size_t)40 * hd; }
static inline size_t ck_i4_vmin(int hd) { return (size_t)72 * hd; }
static inline size_t ck_i4_vscale(int hd) { return (size_t)76 * hd; }
static inline size_t ck_i4_bytes(int hd) { return (size_t)80 * hd; }

/// key(d, j) and value(j, d) of a page of any kind, in fp32 (scalar reference accessors; int4 with
/// one fused multiply-add, as the SIMD paths compute it).
static inline float ck_kv_key_at(int kind, const uint8_t *p, int hd, int d, int j) {
    switch (kind) {
    case CK_KV_I8: return (float)((const int8_t *)p)[d * 64 + j] * ck_h2f(((const uint16_t *)(p + ck_i8_ks(hd)))[j]);
    case CK_KV_I4: {
        uint8_t byte = p[d * 32 + (j & 31)], code = j < 32 ? byte & 15 : byte >> 4;
        int at = (j / 32) * hd + d;
        return fmaf(ck_h2f(((const uint16_t *)(p + ck_i4_kscale(hd)))[at]), (float)code, ck_h2f(((const uint16_t *)(p + ck_i4_kmin(hd)))[at]));
    }
    default: return ck_h2f(((const uint16_t *)p)[d * 64 + j]);
    }
}

static inline float ck_kv_value_at(int kind, const uint8_t *p, int hd, int j, int d) {
    switch (kind) {
    case CK_KV_I8: return (float)((const int8_t *)(p + ck_i8_vc(hd)))[j * hd + d] * ck_h2f(((const uint16_t *)(p + ck_i8_vs(hd)))[j]);
    case CK_KV_I4: {
        int g = d / 32, c = d / 64, i = d % 32;
        uint8_t byte = p[ck_i4_vc(hd) + (size_t)j * (hd / 2) + 32 * c + i], code = g % 2 == 0 ? byte & 15 : byte >> 4;
        return fmaf(ck_h2f(((const uint16_t *)(p + ck_i4_vscale(hd)))[g * 64 + j]), (float)code, ck_h2f(((const uint16_t *)(p + ck_i4_vmin(hd)))[g * 64 + j]));
    }
    default: return ck_h2f(((const uint16_t *)p)[64 * hd + j * hd + d]);
    }
}

#define CK_DECLARE_KV_ISA(suffix) \
    void ck_attn_decode_i8_##suffix(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc); \
    void ck_attn_decode_i4_##suffix(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc);

void ck_kv_dequantize_f16_portable(int kind, const void *page, int hd, uint16_t *f16_page);
void ck_kv_dequantize_f16_avx2(int kind, const void *page, int hd, uint16_t *f16_page);
void ck_kv_dequantize_f16_avx512(int kind, const void *page, int hd, uint16_t *f16_page);

CK_DECLARE_KV_ISA(portable)
CK_DECLARE_KV_ISA(avx2)
CK_DECLARE_KV_ISA(avx512)

#endif

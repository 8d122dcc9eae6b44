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
// int4 page regions
static inline size_t ck_i4_kmin(int hd) { return (size_t)32 * hd; }
static inline size_t ck_i4_kscale(int hd) { return (size_t)34 * hd; }
static inline size_t ck_i4_vc(int hd) { return (size_t)36 * hd; }
static inline size_t ck_i4_vmin(int hd) { return (size_t)68 * hd; }
static inline size_t ck_i4_vscale(int hd) { return (size_t)72 * hd; }

#define CK_DECLARE_KV_ISA(suffix) \
    void ck_attn_decode_i8_##suffix(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc); \
    void ck_attn_decode_i4_##suffix(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc);

void ck_kv_dequantize_f16_portable(int kind, const void *page, int hd, uint16_t *f16_page);
void ck_kv_dequantize_f16_avx512(int kind, const void *page, int hd, uint16_t *f16_page);

CK_DECLARE_KV_ISA(portable)
CK_DECLARE_KV_ISA(avx2)
CK_DECLARE_KV_ISA(avx512)

#endif

// AVX2 decode attention over int8 and int4 KV pages: the fallback for CPUs without AVX-512. The
// AVX2 f16 kernel already widens each page to fp32 in a stack buffer (avx2.c), so here a quantized
// page is first expanded to an f16 page on the stack and handed to it: correct on every x86-64,
// not tuned (the AVX-512 path is the one measured; ck_kv.h).
#include "ck_kv_internal.h"

static void decode_via_f16(int kind, const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    uint16_t f16[2 * CK_ATTN_MAX_KEYS * 128];
    if (hd > 128) {
        if (kind == CK_KV_I8) ck_attn_decode_i8_portable(q, nq, hd, page, n, m, l, acc);
        else ck_attn_decode_i4_portable(q, nq, hd, page, n, m, l, acc);
        return;
    }
    ck_kv_dequantize_f16_portable(kind, page, hd, f16);
    ck_attn_decode_f16_avx2(q, nq, hd, f16, 64, f16 + 64 * hd, hd, n, m, l, acc);
}

void ck_attn_decode_i8_avx2(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    decode_via_f16(CK_KV_I8, q, nq, hd, page, n, m, l, acc);
}

void ck_attn_decode_i4_avx2(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc) {
    decode_via_f16(CK_KV_I4, q, nq, hd, page, n, m, l, acc);
}

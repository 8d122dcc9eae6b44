// Portable C kernels: the reference semantics of every entry point (ggml's dequantization
// formulas, fp32 accumulation) and the fallback on CPUs without AVX2. Written for clarity;
// -O3 auto-vectorises the simple loops.
#include "ck_internal.h"

void ck_dequantize_block_portable(int type, const void *blk, float *y) {
    switch (type) {
    case CK_F32: memcpy(y, blk, 4); break;
    case CK_F16: y[0] = ck_h2f(*(const uint16_t *)blk); break;
    case CK_BF16: y[0] = ck_bf2f(*(const uint16_t *)blk); break;
    case CK_Q4_0: {
        const ck_block_q4_0 *b = blk; float d = ck_h2f(b->d);
        for (int j = 0; j < 16; j++) { y[j] = ((b->qs[j] & 0xF) - 8) * d; y[j + 16] = ((b->qs[j] >> 4) - 8) * d; }
    } break;
    case CK_Q4_1: {
        const ck_block_q4_1 *b = blk; float d = ck_h2f(b->d), m = ck_h2f(b->m);
        for (int j = 0; j < 16; j++) { y[j] = (b->qs[j] & 0xF) * d + m; y[j + 16] = (b->qs[j] >> 4) * d + m; }
    } break;
    case CK_Q5_0: {
        const ck_block_q5_0 *b = blk; float d = ck_h2f(b->d); uint32_t qh; memcpy(&qh, b->qh, 4);
        for (int j = 0; j < 16; j++) {
            int x0 = (b->qs[j] & 0xF) | (((qh >> j) << 4) & 0x10), x1 = (b->qs[j] >> 4) | ((qh >> (j + 12)) & 0x10);
            y[j] = (x0 - 16) * d; y[j + 16] = (x1 - 16) * d;
        }
    } break;
    case CK_Q5_1: {
        const ck_block_q5_1 *b = blk; float d = ck_h2f(b->d), m = ck_h2f(b->m); uint32_t qh; memcpy(&qh, b->qh, 4);
        for (int j = 0; j < 16; j++) {
            int x0 = (b->qs[j] & 0xF) | (((qh >> j) << 4) & 0x10), x1 = (b->qs[j] >> 4) | ((qh >> (j + 12)) & 0x10);
            y[j] = x0 * d + m; y[j + 16] = x1 * d + m;
        }
    } break;
    case CK_Q8_0: {
        const ck_block_q8_0 *b = blk; float d = ck_h2f(b->d);
        for (int j = 0; j < 32; j++) y[j] = b->qs[j] * d;
    } break;
    case CK_Q4_K: {
        const ck_block_q4_K *b = blk; float d = ck_h2f(b->d), dmin = ck_h2f(b->dmin); const uint8_t *q = b->qs;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
            uint8_t sc, mn;
            ck_scale_min_k4(is, b->scales, &sc, &mn); float d1 = d * sc, m1 = dmin * mn;
            ck_scale_min_k4(is + 1, b->scales, &sc, &mn); float d2 = d * sc, m2 = dmin * mn;
            for (int l = 0; l < 32; l++) y[j + l] = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) y[j + 32 + l] = d2 * (q[l] >> 4) - m2;
        }
    } break;
    case CK_Q5_K: {
        const ck_block_q5_K *b = blk; float d = ck_h2f(b->d), dmin = ck_h2f(b->dmin);
        const uint8_t *ql = b->qs, *qh = b->qh; uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, mn;
            ck_scale_min_k4(is, b->scales, &sc, &mn); float d1 = d * sc, m1 = dmin * mn;
            ck_scale_min_k4(is + 1, b->scales, &sc, &mn); float d2 = d * sc, m2 = dmin * mn;
            for (int l = 0; l < 32; l++) y[j + l] = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) y[j + 32 + l] = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    } break;
    case CK_Q6_K: {
        const ck_block_q6_K *b = blk; float d = ck_h2f(b->d);
        const uint8_t *ql = b->ql, *qh = b->qh; const int8_t *sc = b->scales;
        for (int n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[n + l] = d * sc[is] * q1;
                y[n + l + 32] = d * sc[is + 2] * q2;
                y[n + l + 64] = d * sc[is + 4] * q3;
                y[n + l + 96] = d * sc[is + 6] * q4;
            }
        }
    } break;
    default: break;
    }
}

void ck_dequantize_row_portable(int type, const void *src, float *dst, int64_t n) {
    const int bs = ck_block_size(type), bb = ck_block_bytes(type);
    if (type == CK_F32) { memcpy(dst, src, (size_t)n * 4); return; }
    for (int64_t i = 0; i < n / bs; i++) ck_dequantize_block_portable(type, (const uint8_t *)src + i * bb, dst + i * bs);
}

float ck_dot_f32_portable(const float *a, const float *b, int64_t n) {
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

void ck_matvec_portable(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx,
                        int nb, float *y, int64_t ldy) {
    const int bs = ck_block_size(type), bb = ck_block_bytes(type);
    const int chunk = bs >= 256 ? bs : 256; // dequantize 256 elements at a time, dot with every vector
    float buf[256];
    for (int64_t r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * row_bytes;
        float acc[CK_MATVEC_MAX_BATCH] = {0};
        for (int64_t k0 = 0; k0 < k; k0 += chunk) {
            int64_t len = k - k0 < chunk ? k - k0 : chunk;
            ck_dequantize_row_portable(type, row + k0 / bs * bb, buf, len);
            for (int b = 0; b < nb; b++) acc[b] += ck_dot_f32_portable(buf, x + b * ldx + k0, len);
        }
        for (int b = 0; b < nb; b++) y[b * ldy + r] = acc[b];
    }
}

void ck_gemm_portable(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx,
                      int64_t nt, float *y, int64_t ldy, float *scratch) {
    // Dequantize one row at a time into scratch and dot it with every token row.
    for (int64_t r = 0; r < nrows; r++) {
        ck_dequantize_row_portable(type, (const uint8_t *)w + r * row_bytes, scratch, k);
        for (int64_t t = 0; t < nt; t++) y[t * ldy + r] = ck_dot_f32_portable(scratch, x + t * ldx, k);
    }
}

void ck_rmsnorm_portable(const float *x, const float *w, float *out, int64_t n, float eps) {
    float ss = ck_dot_f32_portable(x, x, n);
    float scale = 1.0f / sqrtf(ss / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

void ck_swiglu_portable(float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) a[i] = a[i] / (1.0f + expf(-a[i])) * b[i];
}

double ck_sumexp_portable(const float *x, int64_t n, float max) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += exp((double)x[i] - max);
    return s;
}

void ck_add_portable(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void ck_f16_to_f32_portable(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = ck_h2f(src[i]);
}

void ck_f32_to_f16_portable(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = ck_f2h(src[i]);
}

/// Merges scores s[0..<n] of one query row (-INFINITY = masked) into its online-softmax state
/// and accumulates the values of the keys it keeps.
static void ck_online_update(float *s, int n, const uint16_t *v, int64_t v_stride, int hd, float *m, float *l, float *acc) {
    const float scale = ck_online_softmax_row(s, n, m, l);
    if (scale < 0) return; // every key masked for this row
    for (int d = 0; d < hd; d++) acc[d] *= scale;
    for (int j = 0; j < n; j++) {
        if (s[j] == 0) continue;
        const uint16_t *vj = v + j * v_stride;
        for (int d = 0; d < hd; d++) acc[d] += s[j] * ck_h2f(vj[d]);
    }
}

/// Scores of one query row against the first n keys of a transposed page.
static void ck_scores_portable(const float *q, int hd, const uint16_t *kt, int64_t kt_stride, int n, float *s) {
    for (int j = 0; j < n; j++) s[j] = 0;
    for (int d = 0; d < hd; d++) {
        const uint16_t *row = kt + d * kt_stride;
        for (int j = 0; j < n; j++) s[j] += q[d] * ck_h2f(row[j]);
    }
}

void ck_attn_decode_f16_portable(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                                 const uint16_t *v, int64_t v_stride, int n, float *m, float *l, float *acc) {
    float s[CK_ATTN_MAX_KEYS];
    for (int i = 0; i < nq; i++) {
        ck_scores_portable(q + (int64_t)i * hd, hd, kt, kt_stride, n, s);
        ck_online_update(s, n, v, v_stride, hd, &m[i], &l[i], acc + (int64_t)i * hd);
    }
}

void ck_attn_tile_f16_portable(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const uint16_t *kt,
                               int64_t kt_stride, const uint16_t *v, int64_t v_stride, int n, int32_t kpos0, float *m,
                               float *l, float *acc, float *scratch) {
    float *s = scratch;
    for (int i = 0; i < nq; i++) {
        ck_scores_portable(q + i * ldq, hd, kt, kt_stride, n, s);
        for (int j = 0; j < n; j++) if (kpos0 + j > qpos[i]) s[j] = -INFINITY;
        ck_online_update(s, n, v, v_stride, hd, &m[i], &l[i], acc + (int64_t)i * hd);
    }
}

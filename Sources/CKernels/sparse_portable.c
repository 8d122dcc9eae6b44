// Portable C paths of the sparse-attention kernels (ck_sparse.h): the reference semantics the
// AVX-512 and AVX2 paths are tested against, and the fallback on other CPUs.
#include "ck_sparse_internal.h"

void ck_sketch_scores_portable(const uint8_t *blocks, int nblocks, int hd, const float *q, int nq, const int32_t *row_bias,
                               float inv_delta, int16_t *out) {
    int8_t qc[16 * 256];
    int32_t bias[CK_SPARSE_MAX_GROUP];
    const int shift = ck_sketch_shift(hd);
    for (int b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + (int64_t)b * ck_sketch_block_bytes(hd);
        ck_sketch_block_query(blk, hd, q, nq, row_bias, inv_delta, qc, bias);
        for (int i = 0; i < 64; i++) {
            int32_t best = INT32_MIN;
            for (int r = 0; r < nq; r++) {
                int32_t s = bias[r];
                for (int d = 0; d < hd; d++) {
                    const uint8_t byte = blk[(d / 8) * 256 + i * 4 + (d % 8 & 3)];
                    s += qc[r * hd + d] * (d % 8 < 4 ? byte & 15 : byte >> 4);
                }
                best = s > best ? s : best;
            }
            out[(int64_t)b * 64 + i] = ck_sketch_score16(best, shift);
        }
    }
}

int ck_bucket_topk_i16_portable(const int16_t *scores, int n, int buckets, int keep, int32_t *out) {
    int count = 0;
    for (int b = 0; b < buckets && b < n; b++) {
        int i1 = -1, i2 = -1;
        for (int i = b; i < n; i += buckets) {
            if (scores[i] == INT16_MIN) continue;
            if (i1 < 0 || scores[i] > scores[i1]) { i2 = i1; i1 = i; }
            else if (keep > 1 && (i2 < 0 || scores[i] > scores[i2])) i2 = i;
        }
        if (i1 >= 0) out[count++] = i1;
        if (keep > 1 && i2 >= 0) out[count++] = i2;
    }
    return count;
}

void ck_gather_dot_f16_portable(const float *q, int nq, int hd, const uint16_t *rows, int64_t row_stride, const int32_t *idx,
                                int n, float *out, int64_t out_stride) {
    for (int i = 0; i < n; i++) {
        const uint16_t *k = rows + (int64_t)idx[i] * row_stride;
        for (int r = 0; r < nq; r++) {
            float s = 0;
            for (int d = 0; d < hd; d++) s += q[r * hd + d] * ck_h2f(k[d]);
            out[r * out_stride + i] = s;
        }
    }
}

void ck_sparse_accumulate_portable(int kind, const float *scores, int64_t score_stride, int nq, int hd,
                                   const void *const *pages, const uint8_t *slots, int n, float *m, float *l, float *acc) {
    for (int r = 0; r < nq; r++) {
        const float *s = scores + r * score_stride;
        float tmax = -INFINITY;
        for (int i = 0; i < n; i++) tmax = s[i] > tmax ? s[i] : tmax;
        if (tmax == -INFINITY) continue;
        float mnew = m[r] > tmax ? m[r] : tmax, scale = expf(m[r] - mnew), sum = 0;
        float *a = acc + (int64_t)r * hd;
        for (int d = 0; d < hd; d++) a[d] *= scale;
        for (int i = 0; i < n; i++) {
            if (s[i] == -INFINITY) continue;
            float p = expf(s[i] - mnew);
            sum += p;
            float v[256];
            ck_sparse_value_f32(kind, pages[i], hd, slots[i], v);
            for (int d = 0; d < hd; d++) a[d] += p * v[d];
        }
        l[r] = l[r] * scale + sum;
        m[r] = mnew;
    }
}

void ck_simhash_portable(const float *keys, int n, int hd, const float *mean, const float *proj, int bits, int tables,
                         uint16_t *codes) {
    const int width = bits * tables;
    for (int t = 0; t < n; t++) {
        const float *k = keys + (int64_t)t * hd;
        for (int tb = 0; tb < tables; tb++) {
            unsigned code = 0;
            for (int b = 0; b < bits; b++) {
                const int j = tb * bits + b;
                float s = 0;
                for (int d = 0; d < hd; d++) s += (k[d] - (mean ? mean[d] : 0)) * proj[(int64_t)d * width + j];
                code |= (unsigned)(s > 0) << b;
            }
            codes[(int64_t)t * tables + tb] = (uint16_t)code;
        }
    }
}

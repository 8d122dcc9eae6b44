// q8 activations (ck_q8.h): the quantizer, the portable reference kernels, the run-time
// selection and HiRE's compressed output matrix. The AVX2 kernels are in q8_avx2.c; at the
// AVX-512 level a CPU with AVX512_VNNI runs the GEMM of q8_avx512.c (untested on the development
// machine, which has no VNNI), and the AVX2 matvec.
#include "ck_table.h"

int ck_q8_supported(int type) {
    return type == CK_Q4_0 || type == CK_Q4_1 || type == CK_Q5_0 || type == CK_Q5_1 || type == CK_Q8_0;
}

void ck_quantize_q8a(const float *x, int64_t k, ck_block_q8a *dst) {
    for (int64_t i = 0; i < k / 32; i++) {
        const float *p = x + i * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(p[j]); amax = a > amax ? a : amax; }
        float d = amax / 127, id = d > 0 ? 1 / d : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)lrintf(p[j] * id);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            dst[i].qs[j] = (int8_t)q;
            sum += q;
        }
        dst[i].d = d;
        dst[i].s = d * (float)sum;
    }
}

/// Σ over the blocks of one weight row times one activation row, in the reference order.
static float q8_row_dot(int type, const uint8_t *row, int64_t nblk, const ck_block_q8a *x) {
    const int bb = ck_block_bytes(type);
    float acc = 0;
    for (int64_t i = 0; i < nblk; i++) {
        int u[32]; float d, m;
        ck_q8_block_codes(type, row + i * bb, u, &d, &m);
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += u[j] * x[i].qs[j];
        acc += d * x[i].d * (float)isum + m * x[i].s;
    }
    return acc;
}

void ck_matvec_q8_portable(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                           const ck_block_q8a *x, int64_t ldx, int nb, float *y, int64_t ldy) {
    for (int64_t r = 0; r < nrows; r++)
        for (int b = 0; b < nb; b++)
            y[b * ldy + r] = q8_row_dot(type, (const uint8_t *)w + r * row_bytes, k / 32, x + b * ldx);
}

void ck_gemm_q8_portable(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                         const ck_block_q8a *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch) {
    (void)scratch;
    for (int64_t t = 0; t < nt; t++)
        for (int64_t r = 0; r < nrows; r++)
            y[t * ldy + r] = q8_row_dot(type, (const uint8_t *)w + r * row_bytes, k / 32, x + t * ldx);
}

// 16 rows of codes [k/4][16][4] bytes, then d and m [k/32][16] floats each, then one row of codes.
int64_t ck_gemm_q8_scratch_bytes(int64_t k) { return 16 * k + 2 * 16 * 4 * (k / 32) + 2 * k + 256; }

void ck_matvec_q8(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                  int64_t ldx, int nb, float *y, int64_t ldy) {
    ck_kernels()->matvec_q8(type, w, row_bytes, nrows, k, x, ldx, nb, y, ldy);
}

void ck_gemm_q8(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const ck_block_q8a *x,
                int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch) {
    ck_kernels()->gemm_q8(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch);
}

void ck_q8a_norms(const float *x, const ck_block_q8a *q, int64_t k, double *l2, double *l1, double *qerr, double *ql1) {
    double a = 0, b = 0, c = 0, e = 0;
    for (int64_t i = 0; i < k; i++) {
        double xt = (double)q[i / 32].d * q[i / 32].qs[i % 32], xv = x[i];
        a += xv * xv; b += fabs(xv); c += (xv - xt) * (xv - xt); e += fabs(xt);
    }
    *l2 = sqrt(a); *l1 = b; *qerr = sqrt(c); *ql1 = e;
}

/// One block of 32 floats to Q4_0, the scale with the least squared error among four candidates.
static void hire_q4_0(const float *p, ck_block_q4_0 *out) {
    float mx = 0, vmax = 0;
    for (int j = 0; j < 32; j++) if (fabsf(p[j]) > mx) { mx = fabsf(p[j]); vmax = p[j]; }
    // the value of largest magnitude maps to code −8 (ggml's choice), +7 or ±7.5
    const float divs[4] = {-8, 7, 7.5f, -7.5f};
    double best = INFINITY; uint16_t bestd = 0;
    for (int c = 0; c < 4; c++) {
        uint16_t dh = ck_f2h(vmax / divs[c]);
        float d = ck_h2f(dh), id = d != 0 ? 1 / d : 0;
        double se = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)lrintf(p[j] * id) + 8; q = q < 0 ? 0 : q > 15 ? 15 : q;
            double v = (double)(q - 8) * d - p[j]; se += v * v;
        }
        if (se < best) { best = se; bestd = dh; }
    }
    float d = ck_h2f(bestd), id = d != 0 ? 1 / d : 0;
    out->d = bestd;
    for (int j = 0; j < 16; j++) {
        int q0 = (int)lrintf(p[j] * id) + 8, q1 = (int)lrintf(p[j + 16] * id) + 8;
        q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0; q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
        out->qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
}

static void hire_q8_0(const float *p, ck_block_q8_0 *out) {
    float mx = 0;
    for (int j = 0; j < 32; j++) mx = fabsf(p[j]) > mx ? fabsf(p[j]) : mx;
    out->d = ck_f2h(mx / 127);
    float d = ck_h2f(out->d), id = d != 0 ? 1 / d : 0;
    for (int j = 0; j < 32; j++) { int q = (int)lrintf(p[j] * id); out->qs[j] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q); }
}

void ck_hire_compress(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, int dst_type, void *dst,
                      double *err, double *norm, double *amax, double *cmax) {
    float row[k > 0 ? k : 1];
    const int64_t nblk = k / 32, bb = ck_block_bytes(dst_type);
    for (int64_t r = 0; r < nrows; r++) {
        ck_dequantize_row(type, (const uint8_t *)w + r * row_bytes, row, k);
        double e2 = 0, n2 = 0, am = 0, cm = 0;
        for (int64_t i = 0; i < nblk; i++) {
            const float *p = row + i * 32;
            void *blk = (uint8_t *)dst + (r * nblk + i) * bb;
            double c;
            if (dst_type == CK_Q8_0) { hire_q8_0(p, blk); c = 128 * fabs((double)ck_h2f(((ck_block_q8_0 *)blk)->d)); }
            else { hire_q4_0(p, blk); c = 23 * fabs((double)ck_h2f(((ck_block_q4_0 *)blk)->d)); }
            float wt[32];
            ck_dequantize_block_portable(dst_type, blk, wt);
            for (int j = 0; j < 32; j++) {
                double v = (double)wt[j] - p[j];
                e2 += v * v; n2 += (double)wt[j] * wt[j];
                if (fabs(p[j]) > am) am = fabs(p[j]);
            }
            if (c > cm) cm = c;
        }
        err[r] = sqrt(e2); norm[r] = sqrt(n2); amax[r] = am; cmax[r] = cm;
    }
}

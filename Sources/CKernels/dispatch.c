// Run-time selection of the instruction-set path for every public kernel.
#include "ck_internal.h"

static int ck_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
        return CK_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("bmi2"))
        return CK_ISA_AVX2;
#endif
    return CK_ISA_PORTABLE;
}

static int ck_level = -1;                 // the detected level, shared
static _Thread_local int ck_forced = -1;  // a test's override, per thread

int ck_isa_supported(void) { return ck_detect(); }

int ck_isa(void) {
    if (ck_forced >= 0) return ck_forced;
    int l = __atomic_load_n(&ck_level, __ATOMIC_RELAXED);
    if (l < 0) { l = ck_detect(); __atomic_store_n(&ck_level, l, __ATOMIC_RELAXED); }
    return l;
}

int ck_set_isa(int level) {
    int best = ck_detect();
    if (level > best) level = best;
    if (level < 0) level = 0;
    ck_forced = level;
    return level;
}

void ck_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void ck_prefetch(const void *p, int64_t bytes) {
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o, 0, 3);
}

int ck_block_size(int type) {
    switch (type) {
    case CK_F32: case CK_F16: case CK_BF16: return 1;
    case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: case CK_Q8_0: return 32;
    case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: return 256;
    default: return 0;
    }
}

int ck_block_bytes(int type) {
    switch (type) {
    case CK_F32: return 4;
    case CK_F16: case CK_BF16: return 2;
    case CK_Q4_0: return 18;
    case CK_Q4_1: return 20;
    case CK_Q5_0: return 22;
    case CK_Q5_1: return 24;
    case CK_Q8_0: return 34;
    case CK_Q4_K: return 144;
    case CK_Q5_K: return 176;
    case CK_Q6_K: return 210;
    default: return 0;
    }
}

float ck_f16_to_f32_1(uint16_t h) { return ck_h2f(h); }
uint16_t ck_f32_to_f16_1(float f) { return ck_f2h(f); }

int64_t ck_gemm_scratch_floats(int64_t k) { return (int64_t)CK_PANEL_ROWS * (k + 256) + 64; }

// The f16 tile's fp32 copy of a page (ktf, vf), its probabilities (p[≤16 rows][64]) and alignment,
// then room for a quantized page expanded to f16 (ck_attn_tile_kv, kv_pages.c).
int64_t ck_attn_tile_scratch_floats(int hd) { return (int64_t)3 * CK_ATTN_MAX_KEYS * hd + 16 * CK_ATTN_MAX_KEYS + 64; }

#define CK_PICK(name) (ck_isa() == CK_ISA_AVX512 ? name##_avx512 : ck_isa() == CK_ISA_AVX2 ? name##_avx2 : name##_portable)

void ck_dequantize_row(int type, const void *src, float *dst, int64_t n) { CK_PICK(ck_dequantize_row)(type, src, dst, n); }

void ck_matvec(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx, int nb,
               float *y, int64_t ldy) {
    CK_PICK(ck_matvec)(type, w, row_bytes, nrows, k, x, ldx, nb, y, ldy);
}

void ck_gemm(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx, int64_t nt,
             float *y, int64_t ldy, float *scratch) {
    CK_PICK(ck_gemm)(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch);
}

void ck_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps) { CK_PICK(ck_rmsnorm)(x, w, out, n, eps); }
float ck_dot_f32(const float *a, const float *b, int64_t n) { return CK_PICK(ck_dot_f32)(a, b, n); }
void ck_swiglu(float *a, const float *b, int64_t n) { CK_PICK(ck_swiglu)(a, b, n); }
double ck_logsumexp(const float *x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) return -INFINITY;
    return (double)mx + log(CK_PICK(ck_sumexp)(x, n, mx));
}
void ck_add(float *y, const float *x, int64_t n) { CK_PICK(ck_add)(y, x, n); }
void ck_f16_to_f32(const uint16_t *src, float *dst, int64_t n) { CK_PICK(ck_f16_to_f32)(src, dst, n); }
void ck_f32_to_f16(const float *src, uint16_t *dst, int64_t n) { CK_PICK(ck_f32_to_f16)(src, dst, n); }

void ck_attn_decode_f16(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride, const uint16_t *v,
                        int64_t v_stride, int n, float *m, float *l, float *acc) {
    CK_PICK(ck_attn_decode_f16)(q, nq, hd, kt, kt_stride, v, v_stride, n, m, l, acc);
}

void ck_attn_tile_f16(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const uint16_t *kt,
                      int64_t kt_stride, const uint16_t *v, int64_t v_stride, int n, int32_t kpos0, float *m, float *l,
                      float *acc, float *scratch) {
    CK_PICK(ck_attn_tile_f16)(q, ldq, nq, qpos, hd, kt, kt_stride, v, v_stride, n, kpos0, m, l, acc, scratch);
}

void ck_attn_merge(float *m, float *l, float *acc, float m2, float l2, const float *acc2, int hd) {
    if (m2 == -INFINITY) return;
    if (*m == -INFINITY) { *m = m2; *l = l2; memcpy(acc, acc2, (size_t)hd * 4); return; }
    float mn = *m > m2 ? *m : m2, s1 = expf(*m - mn), s2 = expf(m2 - mn);
    for (int d = 0; d < hd; d++) acc[d] = acc[d] * s1 + acc2[d] * s2;
    *l = *l * s1 + l2 * s2;
    *m = mn;
}

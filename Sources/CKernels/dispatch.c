// Run-time selection of the instruction-set path: one kernel table per level (ck_table.h), the
// CPU's best chosen once, a lower one forced per thread by tests (ck_set_isa). The public entry
// points of the dense kernels are here; those of the KV, sparse and q8 kernels beside their
// portable code. All of them call through ck_kernels().
#include "ck_table.h"

enum { CK_TABLE_PORTABLE, CK_TABLE_AVX2, CK_TABLE_AVX512, CK_TABLE_AVX512_VNNI, CK_TABLE_COUNT };

#define CK_DENSE_ENTRIES(s)                                                                                      \
    .dequantize_row = ck_dequantize_row_##s, .matvec = ck_matvec_##s, .gemm = ck_gemm_##s,                       \
    .rmsnorm = ck_rmsnorm_##s, .dot_f32 = ck_dot_f32_##s, .swiglu = ck_swiglu_##s, .add = ck_add_##s,            \
    .sumexp = ck_sumexp_##s, .f16_to_f32 = ck_f16_to_f32_##s, .f32_to_f16 = ck_f32_to_f16_##s,                    \
    .attn_decode_f16 = ck_attn_decode_f16_##s, .attn_tile_f16 = ck_attn_tile_f16_##s,                            \
    .attn_decode_f16_rows = ck_attn_decode_f16_rows_##s,                                                         \
    .attn_decode_i8 = ck_attn_decode_i8_##s, .attn_decode_i4 = ck_attn_decode_i4_##s,                            \
    .bucket_topk_i16 = ck_bucket_topk_i16_##s, .gather_dot_f16 = ck_gather_dot_f16_##s,                          \
    .sparse_accumulate = ck_sparse_accumulate_##s, .simhash = ck_simhash_##s

// Paths without a shared-page version of the verification rows: each row decoded alone.
#define CK_ROWS_EACH(s)                                                                                                    \
    static void ck_attn_decode_f16_rows_##s(int rows, const float *const *q, int nq, int hd, const uint16_t *kt,          \
                                            int64_t kt_stride, const uint16_t *v, int64_t v_stride, const int32_t *n,     \
                                            float *const *m, float *const *l, float *const *acc) {                        \
        for (int r = 0; r < rows; r++) ck_attn_decode_f16_##s(q[r], nq, hd, kt, kt_stride, v, v_stride, n[r], m[r], l[r], acc[r]); \
    }
CK_ROWS_EACH(portable)
CK_ROWS_EACH(avx512)

// What has fewer variants than levels: the f16 expansion of quantized pages (AVX-512 or
// portable), the LSH counts (BMI2 from AVX2 on), the q8 kernels (AVX2 or portable; the GEMM
// and the sketch scores use VNNI's vpdpbusd where the CPU has it).
static const ck_kernel_table ck_tables[CK_TABLE_COUNT] = {
    [CK_TABLE_PORTABLE] = {.name = "portable", CK_DENSE_ENTRIES(portable), .kv_dequantize_f16 = ck_kv_dequantize_f16_portable,
                           .sketch_scores = ck_sketch_scores_portable, .lsh_count = ck_lsh_count_portable,
                           .matvec_q8 = ck_matvec_q8_portable, .gemm_q8 = ck_gemm_q8_portable},
    [CK_TABLE_AVX2] = {.name = "avx2", CK_DENSE_ENTRIES(avx2), .kv_dequantize_f16 = ck_kv_dequantize_f16_avx2,
                       .sketch_scores = ck_sketch_scores_avx2, .lsh_count = ck_lsh_count_bmi2,
                       .matvec_q8 = ck_matvec_q8_avx2, .gemm_q8 = ck_gemm_q8_avx2},
    [CK_TABLE_AVX512] = {.name = "avx512", CK_DENSE_ENTRIES(avx512), .kv_dequantize_f16 = ck_kv_dequantize_f16_avx512,
                         .sketch_scores = ck_sketch_scores_avx2, .lsh_count = ck_lsh_count_bmi2,
                         .matvec_q8 = ck_matvec_q8_avx2, .gemm_q8 = ck_gemm_q8_avx2},
    [CK_TABLE_AVX512_VNNI] = {.name = "avx512-vnni", CK_DENSE_ENTRIES(avx512), .kv_dequantize_f16 = ck_kv_dequantize_f16_avx512,
                              .sketch_scores = ck_sketch_scores_avx512, .lsh_count = ck_lsh_count_bmi2,
                              .matvec_q8 = ck_matvec_q8_avx2, .gemm_q8 = ck_gemm_q8_avx512vnni},
};

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

static int ck_has_vnni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/// The table for `level` on this CPU (AVX-512 with VNNI's entries where it has VNNI).
static const ck_kernel_table *ck_table_for(int level) {
    switch (level) {
    case CK_ISA_AVX512: return &ck_tables[ck_has_vnni() ? CK_TABLE_AVX512_VNNI : CK_TABLE_AVX512];
    case CK_ISA_AVX2: return &ck_tables[CK_TABLE_AVX2];
    default: return &ck_tables[CK_TABLE_PORTABLE];
    }
}

static int ck_level = -1;                                   // the detected level, shared
static const ck_kernel_table *ck_best;                      // its table
static _Thread_local int ck_forced = -1;                    // a test's override, per thread
static _Thread_local const ck_kernel_table *ck_forced_table;

int ck_isa_supported(void) { return ck_detect(); }

int ck_isa(void) {
    if (ck_forced >= 0) return ck_forced;
    int l = __atomic_load_n(&ck_level, __ATOMIC_ACQUIRE);
    if (l < 0) {
        l = ck_detect();
        __atomic_store_n(&ck_best, ck_table_for(l), __ATOMIC_RELAXED);
        __atomic_store_n(&ck_level, l, __ATOMIC_RELEASE);
    }
    return l;
}

const ck_kernel_table *ck_kernels(void) {
    if (ck_forced_table) return ck_forced_table;
    const ck_kernel_table *t = __atomic_load_n(&ck_best, __ATOMIC_ACQUIRE);
    if (__builtin_expect(t == 0, 0)) {
        (void)ck_isa();
        t = __atomic_load_n(&ck_best, __ATOMIC_ACQUIRE);
    }
    return t;
}

const char *ck_kernel_table_name(void) { return ck_kernels()->name; }

int ck_kernel_table_missing_entries(void) {
    int missing = 0;
    for (int t = 0; t < CK_TABLE_COUNT; t++) {
        const ck_kernel_table *table = &ck_tables[t];
        void *entries[sizeof(ck_kernel_table) / sizeof(void *)];
        _Static_assert(sizeof(ck_kernel_table) % sizeof(void *) == 0, "a table is a name and function pointers");
        memcpy(entries, table, sizeof entries);
        for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) missing += entries[i] == 0;
    }
    return missing;
}

int ck_set_isa(int level) {
    int best = ck_detect();
    if (level > best) level = best;
    if (level < 0) level = 0;
    ck_forced = level;
    ck_forced_table = ck_table_for(level);
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

void ck_dequantize_row(int type, const void *src, float *dst, int64_t n) { ck_kernels()->dequantize_row(type, src, dst, n); }

void ck_matvec(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx, int nb,
               float *y, int64_t ldy) {
    ck_kernels()->matvec(type, w, row_bytes, nrows, k, x, ldx, nb, y, ldy);
}

void ck_gemm(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, const float *x, int64_t ldx, int64_t nt,
             float *y, int64_t ldy, float *scratch) {
    ck_kernels()->gemm(type, w, row_bytes, nrows, k, x, ldx, nt, y, ldy, scratch);
}

void ck_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps) { ck_kernels()->rmsnorm(x, w, out, n, eps); }
float ck_dot_f32(const float *a, const float *b, int64_t n) { return ck_kernels()->dot_f32(a, b, n); }
void ck_swiglu(float *a, const float *b, int64_t n) { ck_kernels()->swiglu(a, b, n); }
double ck_logsumexp(const float *x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY) return -INFINITY;
    return (double)mx + log(ck_kernels()->sumexp(x, n, mx));
}
void ck_add(float *y, const float *x, int64_t n) { ck_kernels()->add(y, x, n); }
void ck_f16_to_f32(const uint16_t *src, float *dst, int64_t n) { ck_kernels()->f16_to_f32(src, dst, n); }
void ck_f32_to_f16(const float *src, uint16_t *dst, int64_t n) { ck_kernels()->f32_to_f16(src, dst, n); }

void ck_attn_decode_f16(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride, const uint16_t *v,
                        int64_t v_stride, int n, float *m, float *l, float *acc) {
    ck_kernels()->attn_decode_f16(q, nq, hd, kt, kt_stride, v, v_stride, n, m, l, acc);
}

void ck_attn_decode_f16_rows(int rows, const float *const *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                             const uint16_t *v, int64_t v_stride, const int32_t *n, float *const *m, float *const *l,
                             float *const *acc) {
    ck_kernels()->attn_decode_f16_rows(rows, q, nq, hd, kt, kt_stride, v, v_stride, n, m, l, acc);
}

int ck_matvec_exact_batch(void) {
    const ck_kernel_table *t = ck_kernels();
    // The AVX-512 matvec switches from four FMA chains per vector to two above 4 vectors; the
    // portable and AVX2 ones run every vector in the same order whatever the count.
    return t == &ck_tables[CK_TABLE_AVX512] || t == &ck_tables[CK_TABLE_AVX512_VNNI] ? 4 : CK_MATVEC_MAX_BATCH;
}

void ck_attn_tile_f16(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const uint16_t *kt,
                      int64_t kt_stride, const uint16_t *v, int64_t v_stride, int n, int32_t kpos0, float *m, float *l,
                      float *acc, float *scratch) {
    ck_kernels()->attn_tile_f16(q, ldq, nq, qpos, hd, kt, kt_stride, v, v_stride, n, kpos0, m, l, acc, scratch);
}

void ck_attn_merge(float *m, float *l, float *acc, float m2, float l2, const float *acc2, int hd) {
    if (m2 == -INFINITY) return;
    if (*m == -INFINITY) { *m = m2; *l = l2; memcpy(acc, acc2, (size_t)hd * 4); return; }
    float mn = *m > m2 ? *m : m2, s1 = expf(*m - mn), s2 = expf(m2 - mn);
    for (int d = 0; d < hd; d++) acc[d] = acc[d] * s1 + acc2[d] * s2;
    *l = *l * s1 + l2 * s2;
    *m = mn;
}

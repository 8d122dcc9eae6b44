// Internal declarations shared by the ISA-specific kernel files: ggml's block layouts, scalar
// fp16 helpers and the per-ISA entry points that dispatch.c selects between.
#ifndef CK_INTERNAL_H
#define CK_INTERNAL_H
#include "CKernels.h"
#include <math.h>
#include <string.h>

#define CK_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c,avx2,bmi2")))
#define CK_AVX2_TARGET __attribute__((target("avx2,fma,f16c,bmi2")))
#define CK_ALIGN64 __attribute__((aligned(64)))

// ---- ggml block layouts (QK = 32 for the legacy formats, QK_K = 256 for k-quants) ----
typedef struct { uint16_t d; uint8_t qs[16]; } ck_block_q4_0;                   // (q - 8) * d
typedef struct { uint16_t d, m; uint8_t qs[16]; } ck_block_q4_1;                // q * d + m
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } ck_block_q5_0;    // (q - 16) * d
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } ck_block_q5_1; // q * d + m
typedef struct { uint16_t d; int8_t qs[32]; } ck_block_q8_0;                    // q * d
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } ck_block_q4_K;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } ck_block_q5_K;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } ck_block_q6_K;

_Static_assert(sizeof(ck_block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(ck_block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(ck_block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(ck_block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(ck_block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(ck_block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(ck_block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(ck_block_q6_K) == 210, "q6_K");

// ---- scalar fp16 / bf16 (exact, round-to-nearest-even) ----
static inline float ck_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else { // subnormal: normalise
            int e = -1;
            do { mant <<= 1; e++; } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000 | (mant << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    float f; memcpy(&f, &bits, 4); return f;
}

static inline uint16_t ck_f2h(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, m = x & 0x7fffff;
    if (e == 0xff) return (uint16_t)(sign | 0x7c00 | (m ? 0x200 : 0));
    int32_t exp = (int32_t)e - 127 + 15;
    if (exp >= 31) return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) { // subnormal or zero in half
        if (exp < -10) return (uint16_t)sign;
        m |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp), half = m >> shift, rem = m & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)exp << 10) | (m >> 13), rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; // may carry into the exponent: correct
    return (uint16_t)(sign | half);
}

static inline float ck_bf2f(uint16_t b) { uint32_t bits = (uint32_t)b << 16; float f; memcpy(&f, &bits, 4); return f; }

/// Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes.
static inline void ck_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn) {
    if (j < 4) { *sc = q[j] & 63; *mn = q[j + 4] & 63; }
    else { *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4); *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
}

/// The online-softmax step of one query row, shared by the portable attention paths (dense f16,
/// quantized pages, sparse): scores s[0..<n] (-INFINITY = masked) become weights exp(s - m')
/// in place, the row's running maximum m and sum l move to include them, and the factor by
/// which the row's accumulator must be scaled is returned. Returns -1 and changes nothing when
/// every score is masked. The vector paths keep their own, fused with their value loops.
static inline float ck_online_softmax_row(float *s, int n, float *m, float *l) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    if (mx == -INFINITY) return -1;
    float mnew = *m > mx ? *m : mx, scale = expf(*m - mnew), sum = 0;
    for (int j = 0; j < n; j++) { s[j] = expf(s[j] - mnew); sum += s[j]; }
    *l = *l * scale + sum;
    *m = mnew;
    return scale;
}

// ---- per-ISA entry points ----
#define CK_DECLARE_ISA(suffix) \
    void ck_dequantize_row_##suffix(int type, const void *src, float *dst, int64_t n); \
    void ck_matvec_##suffix(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, \
                            const float *x, int64_t ldx, int nb, float *y, int64_t ldy); \
    void ck_gemm_##suffix(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, \
                          const float *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, float *scratch); \
    void ck_rmsnorm_##suffix(const float *x, const float *w, float *out, int64_t n, float eps); \
    float ck_dot_f32_##suffix(const float *a, const float *b, int64_t n); \
    void ck_swiglu_##suffix(float *a, const float *b, int64_t n); \
    void ck_add_##suffix(float *y, const float *x, int64_t n); \
    double ck_sumexp_##suffix(const float *x, int64_t n, float max); \
    void ck_f16_to_f32_##suffix(const uint16_t *src, float *dst, int64_t n); \
    void ck_f32_to_f16_##suffix(const float *src, uint16_t *dst, int64_t n); \
    void ck_attn_decode_f16_##suffix(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride, \
                                     const uint16_t *v, int64_t v_stride, int n, float *m, float *l, float *acc); \
    void ck_attn_tile_f16_##suffix(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, \
                                   const uint16_t *kt, int64_t kt_stride, const uint16_t *v, int64_t v_stride, \
                                   int n, int32_t kpos0, float *m, float *l, float *acc, float *scratch);

CK_DECLARE_ISA(portable)
CK_DECLARE_ISA(avx2)
CK_DECLARE_ISA(avx512)
void ck_attn_decode_f16_rows_avx2(int rows, const float *const *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                                  const uint16_t *v, int64_t v_stride, const int32_t *n, float *const *m, float *const *l,
                                  float *const *acc);

/// Dequantizes one block of `type` (portable reference; used by every ISA for the rarer types).
void ck_dequantize_block_portable(int type, const void *blk, float *out);

#endif

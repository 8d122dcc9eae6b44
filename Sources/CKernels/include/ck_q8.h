// 8-bit activations (an explicitly named fast option; exact mode never uses it, DESIGN.md):
// each activation row is quantized per block of 32 elements, symmetric, to int8 codes with one
// fp32 scale per block (llama.cpp's q8_1 idea, our own layout), and multiplied with the weights'
// integer codes by integer dot products (AVX2 vpmaddubsw/vpmaddwd; AVX-512 VNNI vpdpbusd for the
// GEMM; portable C). The per-block
// scales and the Q4_1/Q5_1 minimums are folded in exactly:
//
//   weight block  w_j = d·u_j + m   (u_j the stored unsigned code; Q4_0 m = −8d, Q5_0 m = −16d)
//   act block     x̃_j = dx·q_j      (q_j ∈ −127..127)
//   Σ_j w_j x̃_j  = (d·dx)·Σ_j u_j q_j + m·(dx·Σ_j q_j)         (s = dx·Σq stored with the block)
//
// Q8_0 weights are signed codes (m = 0). Types without a 32-element integer block (k-quants,
// f16, bf16, f32) are not covered: ck_q8_supported says so and callers use the fp32 kernels.
//
// HiRE's certified LM head (Samaga et al. 2024, applied to the output layer only) uses these
// kernels on a Q4_0 copy of the output matrix; ck_hire_compress builds it with the per-row
// constants its error certificate needs (see LMHead in the Model target).
#ifndef CK_Q8_H
#define CK_Q8_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One block of 32 quantized activations: x̃_j = d·q_j; s = d·Σ_j q_j.
typedef struct { float d; float s; int8_t qs[32]; } ck_block_q8a;

/// 1 when `type` has an integer-code kernel for q8 activations, 0 when callers must use fp32.
int ck_q8_supported(int type);

/// Quantizes one row of `k` (a multiple of 32) floats into k/32 blocks (round to nearest even;
/// identical on every instruction-set level).
void ck_quantize_q8a(const float *x, int64_t k, ck_block_q8a *dst);

/// y[b * ldy + r] = Σ over blocks of row r of W times activation row b (rows ldx blocks apart),
/// for nb ≤ CK_MATVEC_MAX_BATCH rows; `type` must be ck_q8_supported.
void ck_matvec_q8(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                  const ck_block_q8a *x, int64_t ldx, int nb, float *y, int64_t ldy);

/// The same for many activation rows: weight codes are unpacked once per panel of 16 rows
/// into `scratch` (at least ck_gemm_q8_scratch_bytes(k) bytes, 64-byte aligned) and reused
/// across all `nt` rows.
int64_t ck_gemm_q8_scratch_bytes(int64_t k);
void ck_gemm_q8(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
                const ck_block_q8a *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, void *scratch);

/// HiRE's compressed output matrix: row r of W (`type`, k elements) is dequantized to fp32 and
/// requantized to `dst_type` — CK_Q4_0 (for each block the scale among a few candidates with the
/// least squared error) or CK_Q8_0 (amax/127) — into dst (k/32 blocks per row). Per row, in
/// double precision:
///   err[r]  = ‖w − w̃‖₂        (w the fp32 weights the full layer multiplies, w̃ the copy)
///   norm[r] = ‖w̃‖₂
///   amax[r] = max_j |w_j|
///   cmax[r] = max over blocks of max_j |d·u_j| + |m| of the copy (Q4_0: 23|d|, Q8_0: 128|d|)
void ck_hire_compress(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k, int dst_type, void *dst,
                      double *err, double *norm, double *amax, double *cmax);

/// Norms of one activation row and its q8 copy, in double: l2 = ‖x‖₂, l1 = ‖x‖₁,
/// qerr = ‖x − x̃‖₂, ql1 = ‖x̃‖₁.
void ck_q8a_norms(const float *x, const ck_block_q8a *q, int64_t k, double *l2, double *l1, double *qerr, double *ql1);

#ifdef __cplusplus
}
#endif
#endif

// CKernels: the innermost loops of the engine and nothing else (docs/architecture.md). Each entry point is
// single-threaded; Swift splits work across threads and calls these on slices.
//
// Every kernel has an AVX-512 path, an AVX2 path and a portable C path, selected at run time
// (`ck_isa`); `ck_set_isa` forces a lower path on the calling thread so tests can check all of them
// on one machine.
// Weights stay in their GGUF block formats and are dequantized in registers; activations are
// fp32 here; the explicitly named q8 option (ck_q8.h) quantizes them to 8 bits.
#ifndef CKERNELS_H
#define CKERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Tensor types, numbered as ggml's `enum ggml_type`.
enum {
    CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8,
    CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_BF16 = 30,
};

// Instruction-set levels.
enum { CK_ISA_PORTABLE = 0, CK_ISA_AVX2 = 1, CK_ISA_AVX512 = 2 };

/// The best level this CPU supports.
int ck_isa_supported(void);
/// The level in use on the calling thread (defaults to the best supported).
int ck_isa(void);
/// Forces a level on the calling thread only (clamped to what the CPU supports), so a kernel test
/// stepping through the levels does not change the paths of work running on other threads;
/// returns the level now in use there.
int ck_set_isa(int level);
/// The name of the kernel table in use on the calling thread: "portable", "avx2", "avx512" or
/// "avx512-vnni" (AVX-512 with VNNI's int8 dot products).
const char *ck_kernel_table_name(void);
/// Entries left empty in any of the tables (0: every kernel has a path at every level).
int ck_kernel_table_missing_entries(void);

/// A spin-wait hint (x86 `pause`), for the thread pool's short waits.
void ck_cpu_relax(void);

/// Asks the cache to start loading `bytes` bytes at `p` (one prefetch per 64-byte line).
void ck_prefetch(const void *p, int64_t bytes);

/// Elements per block and bytes per block of a type; 0 for unknown types.
int ck_block_size(int type);
int ck_block_bytes(int type);

// ---- fp16 / bf16 conversion ----
void ck_f16_to_f32(const uint16_t *src, float *dst, int64_t n);
void ck_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
float ck_f16_to_f32_1(uint16_t h);
uint16_t ck_f32_to_f16_1(float f);

// ---- weights ----

/// Dequantizes `n` elements (a multiple of the block size) of one row.
void ck_dequantize_row(int type, const void *src, float *dst, int64_t n);

/// y[b * ldy + r] = dot(row r of W, x[b * ldx ...]) for r in [0, nrows), b in [0, nb).
/// W: `nrows` rows of `k` elements (k a multiple of the block size), rows `row_bytes` apart.
/// Reads each weight block once for all `nb` vectors; nb ≤ CK_MATVEC_MAX_BATCH.
#define CK_MATVEC_MAX_BATCH 8
/// Vectors per ck_matvec call whose results are bit-identical, vector by vector, to calls with one
/// vector (every ISA path; the portable and AVX2 paths are for any count).
#define CK_MATVEC_EXACT_BATCH 4
/// The same count for the calling thread's path: CK_MATVEC_EXACT_BATCH on AVX-512,
/// CK_MATVEC_MAX_BATCH on the portable and AVX2 paths.
int ck_matvec_exact_batch(void);
void ck_matvec(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
               const float *x, int64_t ldx, int nb, float *y, int64_t ldy);

/// Y[t * ldy + r] = dot(row r of W, X[t * ldx ...]) for t in [0, nt), r in [0, nrows).
/// Matrix–matrix form for prefill: W is dequantized one panel of CK_PANEL_ROWS rows at a time
/// into `scratch` (at least ck_gemm_scratch_floats(k) floats, 64-byte aligned) and reused across
/// all `nt` rows of X.
#define CK_PANEL_ROWS 32
int64_t ck_gemm_scratch_floats(int64_t k);
void ck_gemm(int type, const void *w, size_t row_bytes, int64_t nrows, int64_t k,
             const float *x, int64_t ldx, int64_t nt, float *y, int64_t ldy, float *scratch);

// ---- small vector ops used between the matmuls ----

/// out[i] = x[i] / sqrt(mean(x²) + eps) * w[i]
void ck_rmsnorm(const float *x, const float *w, float *out, int64_t n, float eps);
/// dot product of two fp32 vectors
float ck_dot_f32(const float *a, const float *b, int64_t n);
/// a[i] = silu(a[i]) * b[i]
void ck_swiglu(float *a, const float *b, int64_t n);
/// log Σ exp(x[i]), computed with the maximum subtracted (accurate for any range)
double ck_logsumexp(const float *x, int64_t n);
/// y[i] += x[i]
void ck_add(float *y, const float *x, int64_t n);

// ---- attention (fp32 queries, f16 keys/values, one KV head) ----
//
// Layout of one KV page of up to CK_ATTN_MAX_KEYS tokens: keys transposed, kt[d * kt_stride + j]
// for dimension d of token j (every row readable for all CK_ATTN_MAX_KEYS columns, whatever n:
// unused columns are masked, never used); values row-major,
// v[j * v_stride + d]. Queries are fp32 rows pre-scaled by 1/sqrt(hd); hd is a multiple of 16.
//
// Online-softmax state of one query row: running max m, running sum l and the unnormalised
// output acc[hd]. Start with m = -INFINITY, l = 0, acc = 0; the result is acc / l. Partial
// states over disjoint key sets merge exactly through log-sum-exp.
#define CK_ATTN_MAX_KEYS 64

/// Decode: updates the states of `nq` query rows (q: nq × hd contiguous, the GQA group of one KV
/// head) with the first `n` tokens of a page (n ≤ CK_ATTN_MAX_KEYS; nq ≤ 16).
void ck_attn_decode_f16(const float *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                        const uint16_t *v, int64_t v_stride, int n, float *m, float *l, float *acc);

/// Decode of `rows` consecutive positions of one sequence against one f16 page (speculative
/// verification): row r's GQA group (nq × hd contiguous at q[r]) sees the page's first n[r] tokens
/// and updates the states m[r][nq], l[r][nq], acc[r][nq × hd]. Every row ends bit-identical to
/// ck_attn_decode_f16 over that row alone; where the instruction-set path allows, the page is
/// converted once for all rows instead of once per row.
void ck_attn_decode_f16_rows(int rows, const float *const *q, int nq, int hd, const uint16_t *kt, int64_t kt_stride,
                             const uint16_t *v, int64_t v_stride, const int32_t *n, float *const *m, float *const *l,
                             float *const *acc);

/// Prefill: causal flash-attention tile. Query rows q (nq × hd, row stride ldq) at positions
/// qpos[i] attend to the page's tokens at positions kpos0 ..< kpos0 + n, skipping keys after the
/// query. States: m[nq], l[nq], acc[nq × hd]. `scratch`: ck_attn_tile_scratch_floats(hd) floats.
int64_t ck_attn_tile_scratch_floats(int hd);
void ck_attn_tile_f16(const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd,
                      const uint16_t *kt, int64_t kt_stride, const uint16_t *v, int64_t v_stride, int n,
                      int32_t kpos0, float *m, float *l, float *acc, float *scratch);

/// Merges partial state (m2, l2, acc2) into (m, l, acc) for one row.
void ck_attn_merge(float *m, float *l, float *acc, float m2, float l2, const float *acc2, int hd);

#ifdef __cplusplus
}
#endif

// KV-cache page formats and their kernels.
#include "ck_kv.h"
// Sparse decode-attention kernels.
#include "ck_sparse.h"
// 8-bit activations and the certified LM head's compressed matrix.
#include "ck_q8.h"
#endif

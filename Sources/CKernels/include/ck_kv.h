// KV-cache page formats, their attention kernels and the page codec helpers (KVCache target).
//
// A page holds 64 consecutive tokens of one (layer, KV head). Page formats, hd = head dimension:
//
//   CK_KV_F16  kt f16 [hd][64] | v f16 [64][hd]                                  256·hd bytes
//   CK_KV_I8   symmetric int8, one scale per token (absmax / 127) for keys and for values:
//              kc i8 [hd][64] | ks f16 [64] | vc i8 [64][hd] | vs f16 [64]          128·hd + 256 bytes
//              key(d, j) = kc[d][j]·ks[j]          value(j, d) = vc[j][d]·vs[j]
//   CK_KV_I4   KIVI (Liu et al., ICML 2024): asymmetric 4-bit, keys per channel in groups of 32
//              tokens (KIVI's group size: the two halves of the page), values per token in groups of
//              32 channels (hd a multiple of 64):
//              kc u8 [hd][32]     row d: byte b holds token b (low nibble) and token b+32 (high)
//              kmin f16 [2][hd] | kscale f16 [2][hd]   (half h: tokens 32h..32h+31, the low/high nibbles)
//              vc u8 [64][hd/2]   row j: byte 32c+i holds channel 64c+i (low) and 64c+32+i (high)
//              vmin f16 [hd/32][64] | vscale f16 [hd/32][64]   (group-major: contiguous over tokens)
//              key(d, j) = kmin[j/32][d] + kscale[j/32][d]·code
//              value(j, d) = vmin[d/32][j] + vscale[d/32][j]·code                   80·hd bytes
// Keys are transposed in every format, so scoring a query against a page is an outer product over
// d (no horizontal sums), and KIVI's per-channel key parameters fold into the query, once per half:
// q·k_j = Σ_d (q_d·kscale[h]_d)·code_dj + Σ_d q_d·kmin[h]_d, h = j / 32.
#ifndef CK_KV_H
#define CK_KV_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { CK_KV_F16 = 1, CK_KV_I8 = 2, CK_KV_I4 = 3 };
#define CK_KV_PAGE_TOKENS 64

/// Bytes of one page of `kind` for head dimension `hd`; 0 when the kind cannot hold that hd
/// (int4 needs hd % 64 == 0, the others hd % 16 == 0; hd ≤ 256).
size_t ck_kv_page_bytes(int kind, int hd);
/// Where a page of `kind` keeps its key parameters (int8: per-token scales; int4: per-channel
/// minimums and scales; f16: none, an empty region at the values): they lie in
/// [ck_kv_key_params_offset, ck_kv_values_offset), and the values region follows to the page end.
size_t ck_kv_key_params_offset(int kind, int hd);
size_t ck_kv_values_offset(int kind, int hd);

/// Quantizes one token's keys and values (`hd` fp32 each) into token `slot` of an int8 page.
void ck_kv_store_i8(void *page, int hd, int slot, const float *k, const float *v);
/// Quantizes a full f16 page (64 tokens) into an int4 page.
void ck_kv_quantize_i4(const uint16_t *f16_page, void *page, int hd);
/// Expands a page of `kind` into the f16 page layout (exact for int8/int4 codes up to f16 rounding
/// of code·scale + min).
void ck_kv_dequantize_f16(int kind, const void *page, int hd, uint16_t *f16_page);
/// Expands the first `n` tokens of a page into token-major fp32 keys[n][hd] and values[n][hd]
/// (tests and tools; attention never does this).
void ck_kv_dequantize_f32(int kind, const void *page, int hd, int n, float *keys, float *values);

/// Decode attention over one quantized page, as ck_attn_decode_f16 (CKernels.h): updates the
/// online-softmax states of the `nq` query rows of one KV head's GQA group (q: nq × hd, scaled by
/// 1/sqrt(hd); nq ≤ 16) with the first n ≤ 64 tokens. Codes are dequantized in registers.
void ck_attn_decode_i8(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc);
void ck_attn_decode_i4(const float *q, int nq, int hd, const void *page, int n, float *m, float *l, float *acc);

/// Prefill tile over one page of any kind, as ck_attn_tile_f16: a quantized page is expanded once
/// into f16 in `scratch` (ck_attn_tile_scratch_floats(hd) floats) and reused by all nq rows.
void ck_attn_tile_kv(int kind, const float *q, int64_t ldq, int nq, const int32_t *qpos, int hd, const void *page,
                     int n, int32_t kpos0, float *m, float *l, float *acc, float *scratch);

// ---- page codec helpers (spill files and snapshots) ----

/// XXH64 (Yann Collet's xxHash, 64-bit variant, as specified in xxhash's doc/xxhash_spec.md).
uint64_t ck_xxh64(const void *data, size_t n, uint64_t seed);
/// Byte shuffle: groups byte k of every `width`-byte element together (n a multiple of width).
void ck_byte_shuffle(const uint8_t *src, uint8_t *dst, size_t n, int width);
void ck_byte_unshuffle(const uint8_t *src, uint8_t *dst, size_t n, int width);
/// Bit-plane shuffle of bytes (the HDF5 "bitshuffle" idea) after a zigzag map of signed codes
/// (0, -1, 1, -2 … → 0, 1, 2, 3 …) so small magnitudes have zero high planes: plane b holds bit b
/// of every byte. n a multiple of 8.
void ck_bit_shuffle(const uint8_t *src, uint8_t *dst, size_t n);
void ck_bit_unshuffle(const uint8_t *src, uint8_t *dst, size_t n);

#ifdef __cplusplus
}
#endif
#endif
